// `lab doctor [--json] [--save-probe DIR]`
import type { Command } from 'commander';
import { runDoctor, type DoctorReport } from '../doctor/doctor.ts';
import { probeKernelFeatures, saveProbe } from '../features/probe.ts';
import { dim, fail, pass, printJson } from './output.ts';

function printReport(report: DoctorReport): void {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const width = Math.max(...report.items.map((i) => i.name.length), ...report.features.map((f) => f.feature.length), ...report.backends.map((b) => b.backend.length));
  out(`kernel ${report.kernelRelease}`);
  out('\ntools');
  for (const i of report.items) {
    const mark = i.ok ? pass('ok     ') : i.required ? fail('MISSING') : dim('absent ');
    out(`${mark} ${i.name.padEnd(width)}  ${dim(i.detail)}${i.fix && !i.ok ? `\n        fix: ${i.fix}` : ''}`);
  }
  out('\nkernel features');
  for (const f of report.features) {
    const needed = f.neededBy.length > 0;
    const mark = f.present ? pass('ok     ') : f.neededBy.includes('every run') ? fail('MISSING') : needed ? fail('absent ') : dim('absent ');
    const who = f.present || !needed ? '' : ` (needed by ${f.neededBy.join(', ')})`;
    out(`${mark} ${f.feature.padEnd(width)}  ${dim(f.detail)}${who}${f.fix ? `\n        fix: ${f.fix}` : ''}`);
  }
  out('\nbackends');
  for (const b of report.backends) {
    const mark = b.status === 'supported' ? pass('ok     ') : b.status === 'unsupported' ? dim('no     ') : fail('MISSING');
    out(`${mark} ${b.backend.padEnd(width)}  ${b.reason}`);
  }
  const supported = report.backends.filter((b) => b.status === 'supported').length;
  out(
    report.ok
      ? `${pass('ready')}: everything the lab requires is here; ${supported} of ${report.backends.length} backends run on this kernel`
      : `${fail('not ready')}: fix the MISSING items above`,
  );
}

export function registerDoctorCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('doctor')
    .description('check kernel features and tools the lab needs, with the fix for each missing one, and which backends run on this kernel')
    .option('--json', 'print the findings as JSON')
    .option('--save-probe <dir>', "write the kernel feature probe's raw observations to <dir> (bpftool-feature-probe.json, lab-probes.json)")
    .action(async (options: { json?: boolean; saveProbe?: string }) => {
      if (options.saveProbe !== undefined) {
        const written = saveProbe(await probeKernelFeatures(), options.saveProbe);
        process.stderr.write(`lab doctor: probe written to ${written.join(', ')}\n`);
      }
      const report = await runDoctor();
      if (options.json) printJson(report);
      else printReport(report);
      setExit(report.ok ? 0 : 1);
    });
}
