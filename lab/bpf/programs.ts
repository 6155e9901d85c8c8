// What the kernel reports about a loaded program: its id (to match attachments listed by tc or
// bpftool) and how often it ran (counted while statistics are on: see stats.ts).
import { programInfo } from '../host/bpftool.ts';

export interface ProgramStats {
  id: number;
  name: string;
  type: string;
  /** Times the program ran; counted only while statistics are on (see enableBpfStats). */
  runCount: number;
  runTimeNs: number;
}

export async function pinnedProgramStats(pinned: string): Promise<ProgramStats> {
  const prog = await programInfo(pinned);
  return { id: prog.id, name: prog.name ?? '', type: prog.type, runCount: prog.run_cnt ?? 0, runTimeNs: prog.run_time_ns ?? 0 };
}
