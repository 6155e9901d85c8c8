// Which commands are on PATH, looked up the way execve would find them, without running anything:
// the CLI checks a command's tools before it creates a single object, so a missing tool fails
// with the fix instead of halfway through a topology.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export function onPath(tool: string, path = process.env.PATH ?? ''): boolean {
  return path
    .split(delimiter)
    .filter(Boolean)
    .some((dir) => {
      const file = join(dir, tool);
      try {
        accessSync(file, constants.X_OK);
        return statSync(file).isFile();
      } catch {
        return false;
      }
    });
}

export function missingTools(tools: readonly string[]): string[] {
  return [...new Set(tools)].filter((tool) => !onPath(tool));
}
