// `lab run <scenario file> [--json]`
import type { Command } from 'commander';
import { loadScenarioFile } from '../scenario/load.ts';
import { runScenario } from '../scenario/runner.ts';
import { backendByName } from '../backends/index.ts';
import { fail, pass, printChecks, printJson } from './output.ts';
import { requireRoot, requireTools } from './preflight.ts';

export function registerRunCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('run')
    .description('run one TypeScript scenario (topology + backend + steps) and print its verdicts')
    .argument('<scenario>', 'path to a scenario file, e.g. scenarios/redirect-cross-node.ts')
    .option('--json', 'print the report as JSON')
    .action(async (file: string, options: { json?: boolean }) => {
      // Validation happens here, before anything is created: a bad field exits 2 with its path.
      const scenario = await loadScenarioFile(file);
      requireRoot('run');
      requireTools(backendByName(scenario.backend.name), scenario.steps.some((s) => 'iperf3' in s || 'verify' in s) ? ['iperf3'] : []);
      if (!options.json) process.stdout.write(`${scenario.name} (${scenario.backend.name}): ${scenario.description}\n`);
      const report = await runScenario(scenario, (step) => {
        if (options.json) return;
        process.stdout.write(`${step.ok ? pass('PASS') : fail('FAIL')} ${step.step}\n`);
        printChecks(step.checks, '    ');
      });
      if (options.json) printJson(report);
      else process.stdout.write(`${report.ok ? pass('OK') : fail('FAILED')}: ${report.steps.filter((s) => s.ok).length} of ${report.steps.length} steps passed (run ${report.runId}, ${report.seconds} s)\n`);
      setExit(report.ok ? 0 : 1);
    });
}
