// What the bench does to a proven setup before measuring it (Installation.quiet): the verify-only
// instruments stop (the run's tracefs instances go, the SOCKHASH sampler reads no more), while the
// path counters the bench judges every slice on keep counting the traffic that follows.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { SockmapInstallation } from '../../lab/backends/sockmap/sockmap.ts';
import { TRACEFS_ROOT } from '../../lab/evidence/trace-pipe.ts';
import { VERIFY_PORTS } from '../../lab/judge/plan.ts';
import { withCapturedPair, type CapturedPair } from '../../lab/verify/setup.ts';
import { describePrivileged } from '../support/privileged.ts';

const traceInstancesOf = (runId: string) => readdirSync(join(TRACEFS_ROOT, 'instances')).filter((n) => n.startsWith(`lab-${runId}-`));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Five echoed probes through the captured pair, after which the path counters must have moved. */
async function countersMoveWithTraffic(pair: CapturedPair, counter: string): Promise<void> {
  const before = await pair.installation.pathCounters!();
  for (let i = 0; i < 5; i++) expect((await pair.clientAgent.probe(pair.server.ip, VERIFY_PORTS.app)).ok).toBe(true);
  const after = await pair.installation.pathCounters!();
  expect(after[counter]! - before[counter]!, counter).toBeGreaterThanOrEqual(5);
}

describePrivileged('a proven setup made quiet for measuring', ['bpftool', 'clang', 'haproxy', 'iperf3'], () => {
  it('sockmap: the trace reader and the SOCKHASH sampler stop, connect4 still counts every connection', async () => {
    await withCapturedPair('sockmap', 'same-node', async (pair) => {
      expect((await pair.verify({ iperfSeconds: 1 })).ok).toBe(true);
      const sampler = (pair.installation as SockmapInstallation).sampler;
      expect(traceInstancesOf(pair.lab.runId)).not.toEqual([]);

      await pair.installation.quiet!();
      expect(traceInstancesOf(pair.lab.runId)).toEqual([]);
      const readings = sampler.sampleCount + sampler.failedReads.count;
      await countersMoveWithTraffic(pair, 'rewriteOutbound');
      await sleep(1000);
      expect(sampler.sampleCount + sampler.failedReads.count).toBe(readings);
    });
  });

  it('tc: the trace reader stops, the node proxy still counts every connection', async () => {
    await withCapturedPair('tc', 'same-node', async (pair) => {
      expect((await pair.verify({ iperfSeconds: 1 })).ok).toBe(true);
      expect(traceInstancesOf(pair.lab.runId)).not.toEqual([]);
      await pair.installation.quiet!();
      expect(traceInstancesOf(pair.lab.runId)).toEqual([]);
      await countersMoveWithTraffic(pair, 'proxy_connections');
    });
  });
});
