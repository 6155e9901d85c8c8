// `lab doctor [--json]`
import type { Command } from 'commander';
import { runDoctor } from '../doctor/doctor.ts';
import { dim, fail, pass, printJson } from './output.ts';

export function registerDoctorCommand(program: Command, setExit: (code: number) => void): void {
  program
    .command('doctor')
    .description('check kernel features and tools the lab needs, with the fix for each missing one')
    .option('--json', 'print the findings as JSON')
    .action(async (options: { json?: boolean }) => {
      const { ok, items } = await runDoctor();
      if (options.json) printJson({ ok, items });
      else {
        const width = Math.max(...items.map((i) => i.name.length));
        for (const i of items) {
          const mark = i.ok ? pass('ok  ') : i.required ? fail('MISSING') : dim('absent (optional)');
          process.stdout.write(`${mark} ${i.name.padEnd(width)}  ${dim(i.detail)}${i.fix && !i.ok ? `\n       fix: ${i.fix}` : ''}\n`);
        }
        process.stdout.write(ok ? `${pass('ready')}: everything the lab requires is here\n` : `${fail('not ready')}: fix the MISSING items above\n`);
      }
      setExit(ok ? 0 : 1);
    });
}
