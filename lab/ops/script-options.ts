// What the operator scripts (scripts/*.mjs) share about their command lines: one table of options per
// script, from which come the parser's settings (zx's minimist), the --help text, and the refusal of
// anything the table does not name. Values are checked here, in TypeScript, so that a bad one exits 2
// with a message that says what to type instead.
import { UsageError } from '../errors.ts';

export interface ScriptOption {
  name: string;
  /** Placeholder of the option's value ("<n>"); absent for a flag. */
  value?: string;
  help: string;
}

export interface ScriptSpec {
  /** The script's path as a user types it (scripts/iperf3.mjs). */
  command: string;
  summary: string;
  options: readonly ScriptOption[];
  /** Lines after the options: examples, exit codes. */
  notes: readonly string[];
}

/** The settings zx's minimist takes: which options carry a string, which are flags. */
export interface MinimistSettings {
  string: string[];
  boolean: string[];
  alias: Record<string, string>;
  unknown: (arg: string) => boolean;
}

/** Parsed arguments, as minimist returns them. */
export type ParsedArgs = Record<string, unknown> & { _: Array<string | number> };

const HELP_OPTION: ScriptOption = { name: 'help', help: 'print this help and exit (also -h)' };

/**
 * minimist settings for a spec. Anything the spec does not name (an unknown option, a positional
 * argument) lands in `rejected`, which `checkArgs` turns into a usage error.
 */
export function minimistSettings(spec: ScriptSpec, rejected: string[]): MinimistSettings {
  const options = [...spec.options, HELP_OPTION];
  return {
    string: options.filter((o) => o.value !== undefined).map((o) => o.name),
    boolean: options.filter((o) => o.value === undefined).map((o) => o.name),
    alias: { help: 'h' },
    unknown: (arg) => {
      rejected.push(arg);
      return false;
    },
  };
}

export function helpText(spec: ScriptSpec): string {
  const options = [...spec.options, HELP_OPTION];
  const left = options.map((o) => `--${o.name}${o.value ? ` ${o.value}` : ''}`);
  const width = Math.max(...left.map((l) => l.length));
  return [
    `usage: sudo ${spec.command} [options]`,
    '',
    spec.summary,
    '',
    'options:',
    ...options.map((o, i) => `  ${left[i]!.padEnd(width)}  ${o.help}`),
    '',
    ...spec.notes,
  ].join('\n');
}

/** Throws a usage error for anything minimist was not told about, or for a value option given no value. */
export function checkArgs(spec: ScriptSpec, args: ParsedArgs, rejected: readonly string[]): void {
  if (rejected.length > 0) {
    const known = spec.options.map((o) => `--${o.name}`).join(', ');
    throw new UsageError(`${spec.command} does not take ${rejected.map((r) => `"${r}"`).join(', ')}: its options are ${known} (see --help)`);
  }
  for (const option of spec.options) {
    const value = args[option.name];
    // minimist gives a string option that was present without a value the empty string, and one
    // given twice an array.
    if (Array.isArray(value)) throw new UsageError(`--${option.name} was given more than once: give it once`);
    if (option.value !== undefined && value === '') throw new UsageError(`--${option.name} needs a value: --${option.name} ${option.value}`);
  }
}

/** The value of a string option, or undefined when it was not given. */
export function stringOption(args: ParsedArgs, name: string): string | undefined {
  const value = args[name];
  return typeof value === 'string' ? value : undefined;
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args[name] === true;
}

/** A whole number within bounds, or a usage error that names the bounds. */
export function integerOption(args: ParsedArgs, name: string, bounds: { min: number; max: number; fallback: number }): number {
  const text = stringOption(args, name);
  if (text === undefined) return bounds.fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < bounds.min || value > bounds.max) {
    throw new UsageError(`--${name} takes a whole number from ${bounds.min} to ${bounds.max}, not "${text}"`);
  }
  return value;
}

/** One of a fixed set of words, or a usage error that lists them. */
export function choiceOption<T extends string>(args: ParsedArgs, name: string, choices: readonly T[], fallback?: T): T | undefined {
  const text = stringOption(args, name);
  if (text === undefined) return fallback;
  if (!(choices as readonly string[]).includes(text)) throw new UsageError(`--${name} takes one of ${choices.join(', ')}, not "${text}"`);
  return text as T;
}

/** Exit codes shared with `lab`: 2 for bad input, 1 for everything else that went wrong. */
export function exitCodeFor(error: unknown): number {
  return error instanceof UsageError ? 2 : 1;
}

/** The scripts create namespaces, cgroups and BPF objects: root, or an error that says how. */
export function requireRoot(spec: ScriptSpec): void {
  const uid = process.getuid?.();
  if (uid !== 0) throw new Error(`${spec.command} creates network namespaces, cgroups and BPF objects, which needs root: run it with sudo (sudo ${spec.command} ...); you are uid ${uid}`);
}
