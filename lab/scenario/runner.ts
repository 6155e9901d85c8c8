// Running a scenario: build its topology, install its backend on the captured pods, drive each step
// and turn what it saw into checks, then tear everything down (also on failure or Ctrl-C).
import { backendByName } from '../backends/index.ts';
import type { Check } from '../judge/check.ts';
import { AgentPool } from '../traffic/agent-pool.ts';
import { runIperf3 } from '../traffic/iperf3.ts';
import { withLab, type Lab, type Pod } from '../topology/lab.ts';
import { bystandersFor, preparePair } from '../verify/setup.ts';
import type { ScenarioContext } from './context.ts';
import type { Scenario, Step } from './schema.ts';

export type { ScenarioContext } from './context.ts';

export interface StepReport {
  step: string;
  ok: boolean;
  checks: Check[];
}

export interface ScenarioReport {
  scenario: string;
  description: string;
  backend: string;
  ok: boolean;
  runId: string;
  seconds: number;
  steps: StepReport[];
}

export function describeStep(step: Step): string {
  if ('verify' in step) return `verify ${step.verify.client} -> ${step.verify.server}`;
  if ('probe' in step) return `probe ${step.probe.from} -> ${step.probe.to}:${step.probe.port}${step.probe.uid === undefined ? '' : ` as uid ${step.probe.uid}`} (expect ${step.probe.expect})`;
  if ('iperf3' in step) return `iperf3 ${step.iperf3.from} -> ${step.iperf3.to} for ${step.iperf3.seconds} s`;
  if ('stopProxy' in step) return `stop the proxy serving ${step.stopProxy.pod}`;
  return `custom: ${step.custom.name}`;
}

/** Where traffic to `to` goes: a pod's IP, or an address as given (and the pod that owns it, if any). */
function resolveTarget(lab: Lab, from: Pod, to: string): { host: string; owner: Pod | undefined } {
  if (lab.pods.has(to)) {
    const pod = lab.pod(to);
    return { host: pod.ip, owner: pod };
  }
  if (to === '127.0.0.1') return { host: to, owner: from };
  return { host: to, owner: lab.podByIp(to) };
}

async function runStep(step: Step, context: ScenarioContext): Promise<Check[]> {
  const { lab, agents, installation } = context;
  if ('verify' in step) {
    const [client, server] = [lab.pod(step.verify.client), lab.pod(step.verify.server)];
    const bystanders = context.backend.plan.bystanders ? await bystandersFor(lab, client, server) : undefined;
    const pair = await preparePair(lab, context.backend, installation, client, server, { agents, ...(bystanders ? { bystanders } : {}) });
    const { checks } = await pair.verify({ iperfSeconds: step.verify.iperfSeconds });
    if (step.verify.expectPassing === 'all') return checks;
    return step.verify.expectPassing.map((name) => checks.find((c) => c.name === name) ?? { name, ok: false, detail: `the backend has no check named ${name} (it has: ${checks.map((c) => c.name).join(', ')})` });
  }
  if ('probe' in step) {
    const from = lab.pod(step.probe.from);
    const { host, owner } = resolveTarget(lab, from, step.probe.to);
    if (owner) await agents.listen(owner, host, step.probe.port);
    const agent = await agents.agent(from, step.probe.uid === undefined ? {} : { uid: step.probe.uid });
    const result = await agent.probe(host, step.probe.port);
    const wanted = step.probe.expect === 'echo';
    const seen = result.ok ? `echoed in ${result.millis} ms` : `failed: ${result.error ?? 'no echo'}`;
    return [{ name: wanted ? 'probe-echoed' : 'probe-failed-as-expected', ok: result.ok === wanted, detail: `${result.target} ${seen}` }];
  }
  if ('iperf3' in step) {
    const from = lab.pod(step.iperf3.from);
    const { host, owner } = resolveTarget(lab, from, step.iperf3.to);
    if (!owner) throw new Error(`iperf3 needs a server in a lab pod, and no pod owns ${host}`);
    const result = await runIperf3(lab, { client: from, server: owner, address: host, port: step.iperf3.port, seconds: step.iperf3.seconds, length: step.iperf3.length });
    const gbps = result.bitsPerSecond / 1e9;
    return [{ name: 'iperf3-completed', ok: result.bytesReceived > 0 && gbps >= step.iperf3.minGbps, detail: `${gbps.toFixed(2)} Gbit/s, ${result.bytesReceived} B received (minimum ${step.iperf3.minGbps} Gbit/s)` }];
  }
  if ('stopProxy' in step) {
    if (!installation.stopProxy) return [{ name: 'proxy-stopped', ok: false, detail: `backend ${context.backend.name} runs no proxy to stop` }];
    await installation.stopProxy(lab.pod(step.stopProxy.pod));
    return [{ name: 'proxy-stopped', ok: true, detail: `proxy serving ${step.stopProxy.pod} stopped` }];
  }
  return step.custom.run(context);
}

export async function runScenario(scenario: Scenario, onStep?: (report: StepReport) => void): Promise<ScenarioReport> {
  const started = performance.now();
  const backend = backendByName(scenario.backend.name);
  const topology = { nodes: scenario.topology.nodes.map((n) => ({ name: n.name, pods: n.pods })) };
  return withLab(topology, async (lab) => {
    const captured = (scenario.backend.capture ?? [...lab.pods.keys()]).map((name) => lab.pod(name));
    const installation = await backend.install({ lab, captured });
    const context: ScenarioContext = { lab, backend, installation, agents: new AgentPool(lab) };
    const steps: StepReport[] = [];
    for (const step of scenario.steps) {
      let checks: Check[];
      try {
        checks = await runStep(step, context);
      } catch (e) {
        checks = [{ name: 'step-ran', ok: false, detail: (e as Error).message }];
      }
      const report = { step: describeStep(step), ok: checks.length > 0 && checks.every((c) => c.ok), checks };
      steps.push(report);
      onStep?.(report);
    }
    return {
      scenario: scenario.name,
      description: scenario.description,
      backend: backend.name,
      ok: steps.every((s) => s.ok),
      runId: lab.runId,
      seconds: Math.round((performance.now() - started) / 100) / 10,
      steps,
    };
  });
}
