// The `lab` command. Each subcommand lives in its own module; this file wires them and maps errors
// to exit codes: 0 ok, 1 a check failed or the lab failed, 2 bad input (usage).
import { Command, CommanderError } from 'commander';
import { UsageError } from '../errors.ts';
import { registerBenchCommand } from './bench.ts';
import { registerCleanCommand } from './clean.ts';
import { registerDoctorCommand } from './doctor.ts';
import { registerPathCommand } from './path.ts';
import { registerReportCommand } from './report.ts';
import { registerRunCommand } from './run.ts';
import { registerVerifyCommand } from './verify.ts';

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const setExit = (code: number) => (exitCode = code);
  const program = new Command('lab')
    .description('Interception lab: service-mesh traffic interception backends in network namespaces, proven from kernel evidence')
    .exitOverride()
    .showHelpAfterError('(run `lab --help` for usage)');
  registerDoctorCommand(program, setExit);
  registerVerifyCommand(program, setExit);
  registerPathCommand(program, setExit);
  registerRunCommand(program, setExit);
  registerBenchCommand(program, setExit);
  registerReportCommand(program, setExit);
  registerCleanCommand(program, setExit);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (e) {
    if (e instanceof CommanderError) return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? 0 : 2;
    if (e instanceof UsageError) {
      process.stderr.write(`lab: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`lab: ${(e as Error).message}\n`);
    return 1;
  }
}
