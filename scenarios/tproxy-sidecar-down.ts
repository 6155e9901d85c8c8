// A fault: the server's sidecar dies. TPROXY still takes every new inbound connection, finds no
// transparent listener on 15006 and drops the SYN, so connections fail instead of reaching the app
// around the proxy. Excluded ports never went through the sidecar, so they still work.
import { packetsTo, readIptables } from '../lab/evidence/iptables.ts';
import { defineScenario } from '../lab/scenario/schema.ts';
import type { ScenarioContext } from '../lab/scenario/context.ts';

const APP_PORT = 8080;

/** The app never saw the client's own address on the captured port, and TPROXY did take the SYNs. */
async function appNotReachedAroundProxy({ lab, agents }: ScenarioContext) {
  const client = lab.pod('client');
  const server = lab.pod('server');
  const accepts = (await (await agents.agent(server)).accepts()).filter((a) => a.port === APP_PORT);
  const direct = accepts.filter((a) => a.peer === client.ip);
  // One SYN is the probe that echoed before the stop; the dropped probe's SYN and its retransmits follow.
  const tproxied = packetsTo(await readIptables(server.netns), 'ISTIO_TPROXY', 'TPROXY');
  return [
    {
      name: 'app-not-reached-around-proxy',
      ok: direct.length === 0 && accepts.length === 1 && tproxied >= 2,
      detail: `app accepted ${accepts.length} connections on :${APP_PORT} (peers ${accepts.map((a) => a.peer).join(', ') || 'none'}), ${direct.length} straight from ${client.ip}; ISTIO_TPROXY matched ${tproxied} packets`,
    },
  ];
}

export default defineScenario({
  name: 'tproxy-sidecar-down',
  description: 'TPROXY mode: with the server sidecar stopped, inbound connections fail rather than bypass it',
  topology: { nodes: [{ name: 'node-a', pods: ['client', 'server'] }] },
  backend: { name: 'tproxy' },
  steps: [
    { probe: { from: 'client', to: 'server', port: APP_PORT, expect: 'echo' } },
    { stopProxy: { pod: 'server' } },
    { probe: { from: 'client', to: 'server', port: APP_PORT, expect: 'fail' } },
    { custom: { name: 'app not reached around the proxy', run: appNotReachedAroundProxy } },
    { probe: { from: 'client', to: 'server', port: 15021, expect: 'echo' } },
  ],
});
