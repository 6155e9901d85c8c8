// Two runs at once share the machine. Two labs of one process must not take each other for
// leftovers (Lab.create reaps stale runs, and a run of this very process is not stale).
import { expect, it } from 'vitest';
import { Lab } from '../../lab/topology/lab.ts';
import { labDebris } from '../support/host-state.ts';
import { describePrivileged } from '../support/privileged.ts';

describePrivileged('state shared between concurrent runs', [], () => {
  it('two live labs in one process keep each other, and each tears down only itself', async () => {
    const first = await Lab.create({ nodes: [{ name: 'node-a', pods: ['app'] }] });
    let second: Lab | undefined;
    try {
      // The second lab's creation reaps stale runs: the first one is live and must survive it.
      second = await Lab.create({ nodes: [{ name: 'node-a', pods: ['app'] }] });
      expect(labDebris(first.runId).length).toBeGreaterThan(0);

      const firstReport = await first.teardown();
      expect(firstReport.failed).toEqual([]);
      expect(labDebris(first.runId)).toEqual([]);
      expect(labDebris(second.runId).length).toBeGreaterThan(0);

      const secondReport = await second.teardown();
      expect(secondReport.failed).toEqual([]);
      expect(labDebris(second.runId)).toEqual([]);
    } finally {
      await first.teardown();
      await second?.teardown();
    }
  });
});
