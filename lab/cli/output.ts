// How the CLI prints: JSON for machines (--json), a compact check list for people.
import type { Check } from '../judge/check.ts';

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

const useColor = process.stdout.isTTY && process.env.NO_COLOR === undefined;
const paint = (code: number, text: string) => (useColor ? `\x1b[${code}m${text}\x1b[0m` : text);
export const pass = (text: string) => paint(32, text);
export const fail = (text: string) => paint(31, text);
export const dim = (text: string) => paint(2, text);

export function printChecks(checks: readonly Check[], indent = '  '): void {
  const width = Math.max(...checks.map((c) => c.name.length), 10);
  for (const check of checks) {
    const mark = check.ok ? pass('PASS') : fail('FAIL');
    process.stdout.write(`${indent}${mark} ${check.name.padEnd(width)}  ${dim(check.detail)}\n`);
  }
}
