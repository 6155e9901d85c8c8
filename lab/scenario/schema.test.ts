// Scenario validation: every bad input is rejected with the path of the bad field and what is
// allowed, before anything is created (these tests need no root because nothing ever is).
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../errors.ts';
import { loadScenarioFile, parseScenario } from './load.ts';

const valid = {
  name: 'ok',
  description: 'a valid scenario',
  topology: { nodes: [{ name: 'node-a', pods: ['client', 'server'] }] },
  backend: { name: 'redirect' },
  steps: [{ verify: { client: 'client', server: 'server' } }],
};

function rejection(input: unknown): string {
  try {
    parseScenario(input, 'test.ts');
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('the scenario was accepted');
}

describe('scenario validation', () => {
  it('accepts a valid scenario and fills defaults', () => {
    const scenario = parseScenario(valid);
    const step = scenario.steps[0]!;
    expect('verify' in step && step.verify.iperfSeconds).toBe(2);
  });

  it('rejects an unknown backend, listing the valid ones', () => {
    const message = rejection({ ...valid, backend: { name: 'nope' } });
    expect(message).toContain('backend.name');
    expect(message).toMatch(/none.*redirect.*tproxy.*sockmap.*tc/);
  });

  it('rejects traffic to an address outside the lab range', () => {
    const message = rejection({ ...valid, steps: [{ probe: { from: 'client', to: '10.0.0.1', port: 80 } }] });
    expect(message).toContain('steps[0].probe.to');
    expect(message).toContain('198.18.0.0/15');
  });

  it('rejects duplicate pod names', () => {
    const message = rejection({ ...valid, topology: { nodes: [{ name: 'node-a', pods: ['client', 'client'] }] } });
    expect(message).toContain('topology.nodes[0].pods[1]');
    expect(message).toContain('used twice');
  });

  it('rejects a pod name whose interface name would exceed 15 characters', () => {
    const message = rejection({ ...valid, topology: { nodes: [{ name: 'node-a', pods: ['client', 'a-very-long-pod'] }] } });
    expect(message).toContain('topology.nodes[0].pods[1]');
    expect(message).toContain('IFNAMSIZ');
  });

  it('rejects wrong types and unknown fields', () => {
    expect(rejection({ ...valid, steps: [{ probe: { from: 'client', to: 'server', port: '80' } }] })).toContain('steps[0].probe.port');
    expect(rejection({ ...valid, colour: 'blue' })).toContain('colour');
    expect(rejection({ ...valid, steps: [] })).toContain('steps');
  });

  it('rejects steps naming pods that do not exist', () => {
    const message = rejection({ ...valid, steps: [{ verify: { client: 'client', server: 'ghost' } }] });
    expect(message).toContain('steps[0].verify.server');
    expect(message).toContain('no pod named "ghost"');
  });

  it('rejects more than two nodes', () => {
    const nodes = ['a', 'b', 'c'].map((n) => ({ name: `node-${n}`, pods: [`pod-${n}`] }));
    expect(rejection({ ...valid, topology: { nodes }, steps: [{ probe: { from: 'pod-a', to: 'pod-b', port: 80 } }] })).toContain('at most 2 nodes');
  });

  it('reports a missing file and a file without a default export as usage errors', async () => {
    await expect(loadScenarioFile('scenarios/does-not-exist.ts')).rejects.toThrow(/no scenario file/);
    await expect(loadScenarioFile('lab/errors.ts')).rejects.toThrow(/no default export/);
  });
});

describe('scenarios/', () => {
  const files = readdirSync(new URL('../../scenarios/', import.meta.url)).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

  it.each(files)('%s is a valid scenario', async (file) => {
    const scenario = await loadScenarioFile(`scenarios/${file}`);
    expect(`${scenario.name}.ts`).toBe(file);
  });
});
