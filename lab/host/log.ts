// Debug logging for every command the lab runs: LAB_DEBUG=1 prints them on stderr.
const enabled = process.env.LAB_DEBUG === '1';

export function debug(message: string): void {
  if (enabled) process.stderr.write(`[lab] ${message}\n`);
}
