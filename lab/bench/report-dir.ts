// Where a bench writes its report: reports/<date>-<name>/ in the repository, never over an old one.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** reports/<YYYY-MM-DD>-<name>, with -2, -3... when that directory already exists. */
export function defaultReportDir(name: string, now = new Date(), root = join(REPO_ROOT, 'reports')): string {
  const base = join(root, `${now.toISOString().slice(0, 10)}-${name}`);
  let dir = base;
  for (let n = 2; existsSync(dir); n++) dir = `${base}-${n}`;
  return dir;
}

/** Makes a report directory and returns it. */
export function prepareReportDir(outDir: string | undefined, name: string): string {
  const dir = outDir ?? defaultReportDir(name);
  mkdirSync(dir, { recursive: true });
  return dir;
}
