// Two runs at once share the machine's global state. Two labs of one process must not take each
// other for leftovers (Lab.create reaps stale runs), and a global sysctl both runs set
// (kernel.bpf_stats_enabled, which the eBPF backends' run counts need) must stay set until the
// last of them finishes, and only then return to the value it had before either started.
import { expect, it } from 'vitest';
import { readGlobalSysctl } from '../../lab/host/sysctl.ts';
import { Lab } from '../../lab/topology/lab.ts';
import { listLedgers } from '../../lab/topology/ledger.ts';
import { labDebris } from '../support/host-state.ts';
import { describePrivileged } from '../support/privileged.ts';

const STATS = 'kernel.bpf_stats_enabled';

/** The value the sysctl returns to once every live run is done (other developers' runs included). */
function restingValue(current: string): string {
  for (const ledger of listLedgers()) {
    if (!ledger.ownerAlive) continue;
    for (const e of ledger.entries) if (e.kind === 'global-sysctl' && e.name === STATS) return e.previous;
  }
  return current;
}

describePrivileged('state shared between concurrent runs', [], () => {
  it('two live labs in one process keep each other; a shared global sysctl is restored by the last one out', async () => {
    const original = restingValue((await readGlobalSysctl(STATS)) ?? '');
    expect(['0', '1']).toContain(original);
    const first = await Lab.create({ nodes: [{ name: 'node-a', pods: ['app'] }] });
    let second: Lab | undefined;
    try {
      await first.setGlobalSysctl(STATS, '1');
      // The second lab's creation reaps stale runs: the first one is live and must survive it.
      second = await Lab.create({ nodes: [{ name: 'node-a', pods: ['app'] }] });
      expect(labDebris(first.runId).length).toBeGreaterThan(0);
      await second.setGlobalSysctl(STATS, '1');

      // The first run finishes: the second still relies on the setting.
      const firstReport = await first.teardown();
      expect(firstReport.failed).toEqual([]);
      expect(labDebris(first.runId)).toEqual([]);
      expect(await readGlobalSysctl(STATS)).toBe('1');

      // The last one out restores what was there before either run.
      const secondReport = await second.teardown();
      expect(secondReport.failed).toEqual([]);
      expect(labDebris(second.runId)).toEqual([]);
      expect(restingValue((await readGlobalSysctl(STATS)) ?? '')).toBe(original);
    } finally {
      await first.teardown();
      await second?.teardown();
    }
  });
});
