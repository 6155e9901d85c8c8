// Sustained bulk load through sockmap, reduced to the seed example's shape: one pod, sockops + sk_msg
// only (no proxy, no connect rewrite), iperf3 client and server on 127.0.0.1. The same two sockets
// without any program come first, as plain TCP.
//
// By default the receiver (the iperf3 server) is stopped for 4 s while a paced sender (100 Mbit/s)
// writes. Expectations: plain TCP holds the sender back (nothing sent while the receiver's window is
// full); with sk_msg's ingress redirect the sender goes on, and the receiver's queue grows far past
// its receive buffer. That is the kernel behaviour behind the ENOMEM of sustained runs.
// LAB_SOCKMAP_PRESSURE=sustained runs the bulk load itself instead: 30 s unpaced at -l 64K and -l 1K,
// each either completing or failing with ENOMEM when the host's TCP memory could not take the queue.
import { PRESSURE_POD, pressurePlan, pressurePlanFromEnv, pressureStep } from '../lab/experiments/sockmap-pressure.ts';
import { defineScenario } from '../lab/scenario/schema.ts';

const plan = pressurePlanFromEnv();
const shapes = plan === 'sustained' ? (['seed'] as const) : (['tcp', 'seed'] as const);

export default defineScenario({
  name: 'sockmap-pressure-seed',
  description: 'sk_msg ingress redirect between two sockets on 127.0.0.1 in one pod: does a slow reader hold the sender back?',
  topology: { nodes: [{ name: 'node-a', pods: [PRESSURE_POD] }] },
  // The study loads its own programs (sockops + sk_msg only); no mesh backend is installed.
  backend: { name: 'none' },
  steps: shapes.flatMap((shape) =>
    pressurePlan(plan, shape).map((options) => ({
      custom: { name: `${shape}, -l ${options.length}, ${options.seconds} s`, run: async ({ lab }) => pressureStep(lab, options) },
    })),
  ),
});
