// Evidence the tc backend reads from the kernel: its per-CPU event counters, and the filters tc
// reports on each device, matched to the pinned programs by program id (tc shows the kernel's
// name, truncated to 15 characters: "ztunnel_host_in"), with each program's run count.
import type { LoadedObject } from '../../bpf/objects.ts';
import { nameCounters, pinnedProgramStats, readPerCpuCounters, type ProgramStats } from '../../evidence/bpf.ts';
import { listBpfFilters, type TcBpfFilter } from '../../host/tc.ts';
import { pinnedProgram, type Attachment } from './attach.ts';
import { COUNTER_NAMES, MAP_NAMES, type CounterName } from './maps.ts';
import { mapPath } from './node-proxy.ts';

export type Counters = Record<CounterName, number>;

export async function readCounters(object: LoadedObject): Promise<Counters> {
  return nameCounters(await readPerCpuCounters(mapPath(object, MAP_NAMES.counters)), COUNTER_NAMES);
}

export interface FilterFinding {
  expected: Attachment;
  program: ProgramStats;
  /** The filter found for it (same program id, direct-action), if any. */
  found?: TcBpfFilter;
}

/** For each expected attachment, the filter tc lists on that device and direction running that program. */
export async function findFilters(object: LoadedObject, expected: readonly Attachment[]): Promise<FilterFinding[]> {
  const programs = new Map<string, ProgramStats>();
  for (const name of new Set(expected.map((a) => a.program))) programs.set(name, await pinnedProgramStats(pinnedProgram(object, name)));
  return Promise.all(
    expected.map(async (a) => {
      const program = programs.get(a.program)!;
      const found = (await listBpfFilters(a.netns, a.device, a.direction)).find((f) => f.programId === program.id && f.directAction);
      return found ? { expected: a, program, found } : { expected: a, program };
    }),
  );
}
