// The scenario format. A scenario declares a topology, the backend that captures which pods, and the
// steps to drive; each step says what it expects. Everything is validated here, before anything is
// created, so a mistake names the bad field (`steps[2].probe.to`) and what would be allowed.
import { z } from 'zod';
import { backendNames } from '../backends/index.ts';
import type { Check } from '../judge/check.ts';
import type { ScenarioContext } from './context.ts';
import { hostVethName, IFNAMSIZ_MAX, inLabRange, MAX_NODES, MAX_PODS_PER_NODE } from '../topology/addressing.ts';

const objectName = z
  .string()
  .regex(/^[a-z][a-z0-9-]*$/, 'use lower-case letters, digits and dashes, starting with a letter')
  .refine((name) => hostVethName(name).length <= IFNAMSIZ_MAX, {
    message: `too long: its node-side interface name would exceed ${IFNAMSIZ_MAX} characters (IFNAMSIZ); use at most ${IFNAMSIZ_MAX - hostVethName('').length} characters`,
  });

const port = z.number().int().min(1).max(65535);

/** A traffic target: a pod of the scenario (by name), 127.0.0.1, or an address inside the lab range. */
const target = z.string().refine((t) => /^[a-z][a-z0-9-]*$/.test(t) || t === '127.0.0.1' || inLabRange(t), {
  message: 'a pod name, 127.0.0.1, or an address in 198.18.0.0/15 (the lab never sends traffic elsewhere)',
});

const verifyStep = z.strictObject({
  verify: z.strictObject({
    client: z.string(),
    server: z.string(),
    iperfSeconds: z.number().positive().max(30).default(2),
    /** Checks that must pass: every check of the backend, or the named ones. */
    expectPassing: z.union([z.literal('all'), z.array(z.string()).min(1)]).default('all'),
  }),
});

const probeStep = z.strictObject({
  probe: z.strictObject({
    from: z.string(),
    to: target,
    port,
    /** Run the probe as this UID (1337 is the proxy's). */
    uid: z.number().int().min(0).optional(),
    /** echo: the payload comes back intact; fail: no connection or no echo (a negative test). */
    expect: z.enum(['echo', 'fail']).default('echo'),
  }),
});

const iperfStep = z.strictObject({
  iperf3: z.strictObject({
    from: z.string(),
    to: target,
    port: port.default(5201),
    seconds: z.number().positive().max(60).default(2),
    length: z.string().regex(/^\d+[KM]?$/).default('64K'),
    /** Fail the step below this rate (sanity, not a benchmark target). */
    minGbps: z.number().nonnegative().default(0),
  }),
});

const stopProxyStep = z.strictObject({
  stopProxy: z.strictObject({ pod: z.string() }),
});

/** A TypeScript step for experiments the declarative steps cannot express; returns its own checks. */
const customStep = z.strictObject({
  custom: z.strictObject({
    name: z.string().min(1),
    run: z.custom<(context: ScenarioContext) => Promise<Check[]>>((v) => typeof v === 'function', {
      message: 'a function (context) => Promise<Check[]>',
    }),
  }),
});

export const stepSchema = z.union([verifyStep, probeStep, iperfStep, stopProxyStep, customStep]);

export const scenarioSchema = z
  .strictObject({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
    description: z.string().min(1),
    topology: z.strictObject({
      nodes: z
        .array(z.strictObject({ name: objectName, pods: z.array(objectName).max(MAX_PODS_PER_NODE) }))
        .min(1)
        .max(MAX_NODES, `the lab joins at most ${MAX_NODES} nodes`),
    }),
    backend: z.strictObject({
      name: z.enum(backendNames() as [string, ...string[]]),
      /** Pods the backend captures; all pods when omitted. */
      capture: z.array(z.string()).optional(),
    }),
    steps: z.array(stepSchema).min(1),
  })
  .superRefine((scenario, ctx) => {
    const names = scenario.topology.nodes.flatMap((n, i) => [
      { name: n.name, path: ['topology', 'nodes', i, 'name'] },
      ...n.pods.map((p, j) => ({ name: p, path: ['topology', 'nodes', i, 'pods', j] })),
    ]);
    const seen = new Set<string>();
    for (const { name, path } of names) {
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path, message: `"${name}" is used twice: node and pod names must be unique` });
      seen.add(name);
    }
    const pods = new Set(scenario.topology.nodes.flatMap((n) => n.pods));
    const needPod = (value: string, path: Array<string | number>) => {
      if (!pods.has(value)) ctx.addIssue({ code: 'custom', path, message: `no pod named "${value}" (pods: ${[...pods].join(', ')})` });
    };
    scenario.backend.capture?.forEach((p, i) => needPod(p, ['backend', 'capture', i]));
    scenario.steps.forEach((step, i) => {
      const at = (...rest: string[]) => ['steps', i, ...rest];
      if ('verify' in step) {
        needPod(step.verify.client, at('verify', 'client'));
        needPod(step.verify.server, at('verify', 'server'));
      } else if ('probe' in step) {
        needPod(step.probe.from, at('probe', 'from'));
        if (/^[a-z]/.test(step.probe.to)) needPod(step.probe.to, at('probe', 'to'));
      } else if ('iperf3' in step) {
        needPod(step.iperf3.from, at('iperf3', 'from'));
        if (/^[a-z]/.test(step.iperf3.to)) needPod(step.iperf3.to, at('iperf3', 'to'));
      } else if ('stopProxy' in step) {
        needPod(step.stopProxy.pod, at('stopProxy', 'pod'));
      }
    });
  });

/** What a scenario file's default export must satisfy (input side: defaults may be omitted). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type Step = Scenario['steps'][number];

/** Identity helper that gives scenario files type checking and completion. */
export function defineScenario(scenario: ScenarioInput): ScenarioInput {
  return scenario;
}
