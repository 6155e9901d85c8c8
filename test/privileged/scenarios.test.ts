// Every scenario in scenarios/, run for real: real namespaces, real proxies, real bytes.
import { readdirSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadScenarioFile } from '../../lab/scenario/load.ts';
import { runScenario, type ScenarioReport } from '../../lab/scenario/runner.ts';
import { describePrivileged } from '../support/privileged.ts';
import { labDebris } from '../support/host-state.ts';

const files = readdirSync(new URL('../../scenarios/', import.meta.url)).filter((f) => f.endsWith('.ts'));

function failures(report: ScenarioReport): string {
  return report.steps
    .flatMap((s) => s.checks.filter((c) => !c.ok).map((c) => `${s.step} / ${c.name}: ${c.detail}`))
    .join('\n');
}

describePrivileged('scenarios', ['haproxy', 'iperf3', 'iptables-restore', 'conntrack', 'bpftool', 'clang'], () => {
  it.each(files)('%s passes on evidence', async (file) => {
    const scenario = await loadScenarioFile(`scenarios/${file}`);
    const report = await runScenario(scenario);
    expect(failures(report)).toBe('');
    expect(report.ok).toBe(true);
    expect(report.steps.flatMap((s) => s.checks).length).toBeGreaterThan(0);
    expect(labDebris(report.runId)).toEqual([]);
  });
});
