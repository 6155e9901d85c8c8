// The seed example's sustained-load study with a sidecar: one pod, the mesh programs (connect4,
// getsockopt, sockops, sk_msg) and its HAProxy sidecar. The app's iperf3 client dials the pod's own
// IP; connect4 sends it to the sidecar, whose socket receives the app's messages through sk_msg's
// ingress redirect; the sidecar forwards them over plain TCP to the iperf3 server in the same pod.
//
// By default the sidecar is stopped for 4 s while a paced sender (100 Mbit/s) writes: the sender is
// not held back and the sidecar's queue grows far past its receive buffer. LAB_SOCKMAP_PRESSURE=
// sustained runs 30 s unpaced at -l 64K and -l 1K instead (see sockmap-pressure-seed.ts).
import { PRESSURE_POD, pressurePlan, pressurePlanFromEnv, pressureStep } from '../lab/experiments/sockmap-pressure.ts';
import { defineScenario } from '../lab/scenario/schema.ts';

export default defineScenario({
  name: 'sockmap-pressure-sidecar',
  description: "sk_msg ingress redirect from an app into its sidecar: does a slow sidecar hold the app's writes back?",
  topology: { nodes: [{ name: 'node-a', pods: [PRESSURE_POD] }] },
  // The study installs the sockmap mesh programs and the sidecar itself, on this one pod.
  backend: { name: 'none' },
  steps: pressurePlan(pressurePlanFromEnv(), 'sidecar').map((options) => ({
    custom: { name: `sidecar, -l ${options.length}, ${options.seconds} s`, run: async ({ lab }) => pressureStep(lab, options) },
  })),
});
