// Program run statistics for the run's lifetime. Rather than writing the machine-wide sysctl
// kernel.bpf_stats_enabled (which a concurrent run would switch off under us, and a crash would
// leave on), a helper (bpf/tools/hold-bpf-stats.c) holds a BPF_ENABLE_STATS descriptor: the kernel
// counts runs while any such descriptor is open. The helper exits when the lab closes its stdin, or dies.
import { spawnLineProcess } from '../host/exec.ts';
import type { Lab } from '../topology/lab.ts';
import { builtTool } from './objects.ts';

const holders = new WeakMap<Lab, Promise<void>>();

/** Turns on program run counts until the lab tears down; once per lab, however often it is called. */
export function enableBpfStats(lab: Lab): Promise<void> {
  let held = holders.get(lab);
  if (!held) {
    held = (async () => {
      const holder = spawnLineProcess(await builtTool('hold-bpf-stats'), [], { maxLifetimeMs: 4 * 60 * 60_000 });
      lab.record({ kind: 'process', pid: holder.pid, command: holder.command });
      lab.own({ stop: () => holder.stop() });
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`hold-bpf-stats did not start: ${holder.stderr()}`)), 10_000);
        holder.onLine((line) => line === 'enabled' && (clearTimeout(timer), resolve()));
        void holder.exited.then(() => (clearTimeout(timer), reject(new Error(`hold-bpf-stats exited: ${holder.stderr().trim()}`))));
      });
    })();
    holders.set(lab, held);
  }
  return held;
}
