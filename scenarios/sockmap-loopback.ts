// The classic sockmap loopback acceleration, the seed of every sockmap demo: in one pod, sockops +
// sk_msg only (no proxy), iperf3 client to server on 127.0.0.1 with -l 64k, measured without and
// with the programs. Run twice: with the server bound to 127.0.0.1, and with iperf3's default
// dual-stack [::] listener (whose accepted sockets are IPv4-mapped IPv6, which the programs fold
// into IPv4 keys). Expectations: four ESTABLISHED events traced (two connections, both sides),
// redirect counter > 0, iperf3 completes; the two throughputs are reported side by side.
import { loopbackChecks, LOOPBACK_POD, measureLoopback } from '../lab/experiments/sockmap-loopback.ts';
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'sockmap-loopback',
  description: 'sockops + sk_msg loopback acceleration in one pod, iperf3 on 127.0.0.1 with and without the programs',
  topology: { nodes: [{ name: 'node-a', pods: [LOOPBACK_POD] }] },
  // The experiment loads its own programs (sockops + sk_msg only); no mesh backend is installed.
  backend: { name: 'none' },
  steps: [
    {
      custom: {
        name: 'loopback acceleration, 127.0.0.1 and dual-stack listeners',
        run: async ({ lab }) => loopbackChecks(await measureLoopback(lab, lab.pod(LOOPBACK_POD), { seconds: 3, length: '64K', listeners: ['ipv4', 'dual-stack'] })),
      },
    },
  ],
});
