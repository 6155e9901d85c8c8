// `lab path --backend <name> [--placement same-node|cross-node] [--json] [--all]`: builds the pair,
// installs the backend, sends one probe connection, and prints the kernel's trail of its first
// request, from the client app's connect to the server app's first read, with the namespace of each
// step; then the `kernel-path` verdict on the same trace.
import { Option, type Command } from 'commander';
import { backendByName, backendNames } from '../backends/index.ts';
import { PLACEMENTS, VERIFY_PORTS, type Placement } from '../judge/plan.ts';
import { nodeProxyName } from '../proxy/node-proxy.ts';
import { newRunId } from '../topology/ledger.ts';
import type { Place } from '../topology/lab.ts';
import type { ProbeResult } from '../traffic/agent-protocol.ts';
import {
  expectationFunctions,
  firstRequestTrail,
  formatTrail,
  isKeyStep,
  judgeKernelPath,
  KERNEL_PATH_EXPECTATIONS,
  pathNamespaces,
  startKernelPathTrace,
  type KernelPathCheck,
  type KernelPathEvidence,
} from '../tracer/index.ts';
import { withCapturedPair } from '../verify/setup.ts';
import { dim, fail, pass, printChecks, printJson } from './output.ts';
import { requireRoot, requireTools } from './preflight.ts';

/** The app port the probe dials: the standard plan's app-to-app question. */
const PROBE_PORT = VERIFY_PORTS.app;
/** One probe's whole life (handshakes, request, echo, close on every leg) stays well below this. */
const TRAIL_LIMIT = 4096;

interface PathRun {
  runId: string;
  probe: ProbeResult;
  evidence: KernelPathEvidence;
  check: KernelPathCheck;
}

async function tracePath(backend: string, placement: Placement, runId: string): Promise<PathRun> {
  return withCapturedPair(
    backend,
    placement,
    async (pair) => {
      const { lab, client, server } = pair;
      await pair.agents.listen(server, server.ip, PROBE_PORT);
      // tc's node proxies live in namespaces of their own, one per node.
      const proxyOf = (pod: typeof client) => lab.pods.get(nodeProxyName(pod.node));
      const clientProxy = proxyOf(client);
      const serverProxy = proxyOf(server);
      const named = new Set<Place>([client, server, client.node, server.node, ...(clientProxy ? [clientProxy] : []), ...(serverProxy ? [serverProxy] : [])]);
      const others = [...lab.pods.values(), ...lab.nodes.values()].filter((p) => !named.has(p));
      const expectation = KERNEL_PATH_EXPECTATIONS[backend];
      if (!expectation) throw new Error(`no kernel-path expectation for the ${backend} backend`);
      const trace = await startKernelPathTrace(lab, {
        netns: pathNamespaces({ client, server, ...(clientProxy ? { clientProxy } : {}), ...(serverProxy ? { serverProxy } : {}), others }),
        functions: expectationFunctions(expectation),
        trail: TRAIL_LIMIT,
      });
      // A probe that fails still returns (ok: false): its trail shows where the request stopped. If
      // the probe throws, the lab's teardown stops the trace.
      const probe = await pair.clientAgent.probe(server.ip, PROBE_PORT);
      const evidence = await trace.stop();
      return { runId: lab.runId, probe, evidence, check: judgeKernelPath(evidence, expectation) };
    },
    { runId },
  );
}

export function registerPathCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('path')
    .description("install a backend, send one probe connection, and print the kernel's trail of its first request from client to server")
    .addOption(new Option('-b, --backend <name>', 'backend to trace').choices(backendNames()).makeOptionMandatory())
    .addOption(new Option('-p, --placement <placement>', 'where the pods run').choices(PLACEMENTS).default('same-node'))
    .option('--all', 'print every traced step, not only the ones that tell the paths apart')
    .option('--json', 'print the trail as JSON')
    .action(async (options: { backend: string; placement: Placement; all?: boolean; json?: boolean }) => {
      const { backend, placement } = options;
      requireRoot('path');
      requireTools(backendByName(backend));
      const runId = newRunId();
      process.stderr.write(`lab path: ${backend}, ${placement} (run ${runId})...\n`);
      const run = await tracePath(backend, placement, runId);
      const request = firstRequestTrail(run.evidence, PROBE_PORT);
      const steps = request.events.filter(isKeyStep);
      const unavailable = run.evidence.points.filter((p) => !p.available);
      const ok = run.probe.ok && request.reachedServer && run.check.ok;
      if (options.json) {
        printJson({
          backend,
          placement,
          runId: run.runId,
          kernel: run.evidence.kernel,
          probe: run.probe,
          reachedServer: request.reachedServer,
          steps,
          check: run.check,
          // The whole trace (every event, counts, points), to judge or cut again without a kernel.
          evidence: run.evidence,
        });
      } else {
        const shown = options.all ? request.events : steps;
        process.stdout.write(
          `${backend} / ${placement} (run ${run.runId}, kernel ${run.evidence.kernel}): first request of ${run.probe.local ?? '?'} -> ${run.probe.target}, ` +
            `${shown.length} of ${request.events.length} steps${options.all ? '' : ' (--all shows every step)'}\n`,
        );
        for (const line of formatTrail(shown)) process.stdout.write(`${line}\n`);
        if (!run.probe.ok) process.stdout.write(`${fail('probe failed')}: ${run.probe.error ?? 'no echo'}\n`);
        if (!request.reachedServer) process.stdout.write(`${fail('the trail never reached the server app')}: it ends with the trace${run.evidence.trailFull ? ` (its bound of ${TRAIL_LIMIT} events was reached)` : ''}\n`);
        printChecks([run.check]);
        if (unavailable.length > 0) process.stdout.write(dim(`not traceable here: ${unavailable.map((p) => p.point).join(', ')} (reasons in --json)\n`));
        process.stdout.write(`${ok ? pass('OK') : fail('FAILED')}\n`);
      }
      setExit(ok ? 0 : 1);
    });
}
