// Loading a scenario file: import it (tsx compiles TypeScript on the fly), take its default export,
// and validate it. Every problem is reported with the path of the bad field before anything runs.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import { UsageError } from '../errors.ts';
import { scenarioSchema, type Scenario } from './schema.ts';

export function formatIssuePath(path: ReadonlyArray<PropertyKey>): string {
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '') || '(scenario)';
}

type Issue = z.core.$ZodIssue;

/**
 * A step that matches no step kind yields one vague "invalid union" issue; the useful issues are in
 * the branch for the kind the author meant, which is the branch whose issues reach deepest.
 */
function specificIssues(issue: Issue, prefix: ReadonlyArray<PropertyKey> = []): Array<{ path: PropertyKey[]; message: string }> {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    const depth = (branch: Issue[]) => Math.min(...branch.map((i) => (i.code === 'unrecognized_keys' && i.path.length === 0 ? -1 : i.path.length)));
    const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0]!;
    if (depth(best) > 0) return best.flatMap((i) => specificIssues(i, path));
  }
  return [{ path, message: issue.message }];
}

export function describeIssues(error: z.ZodError): string {
  return error.issues
    .flatMap((issue) => specificIssues(issue))
    .map(({ path, message }) => `  ${formatIssuePath(path)}: ${message}`)
    .join('\n');
}

/** Validates a scenario object; throws a UsageError listing every bad field. */
export function parseScenario(input: unknown, source = 'scenario'): Scenario {
  const result = scenarioSchema.safeParse(input);
  if (!result.success) throw new UsageError(`${source} is not a valid scenario:\n${describeIssues(result.error)}`);
  return result.data;
}

export async function loadScenarioFile(file: string): Promise<Scenario> {
  const path = resolve(file);
  if (!existsSync(path)) throw new UsageError(`no scenario file at ${path}`);
  let module: { default?: unknown };
  try {
    module = (await import(pathToFileURL(path).href)) as { default?: unknown };
  } catch (e) {
    throw new UsageError(`${file} could not be loaded: ${(e as Error).message}`);
  }
  if (module.default === undefined) throw new UsageError(`${file} has no default export: export default defineScenario({...})`);
  return parseScenario(module.default, file);
}
