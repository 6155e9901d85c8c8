import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isPidRunning, isRunning, processIdentity, readProcStat } from './process-identity.ts';

const children: Array<{ kill: (s: NodeJS.Signals) => void }> = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

async function firstLine(child: ReturnType<typeof spawn>): Promise<string> {
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no output within 5 s')), 5000);
    child.stdout?.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(text.split('\n')[0]!);
      }
    });
  });
}

describe('process identity', () => {
  it('names this process by pid and start time', () => {
    const own = processIdentity();
    expect(own?.pid).toBe(process.pid);
    expect(own && isRunning(own)).toBe(true);
    // Same pid, another start time: a process that got this pid later, not this one.
    expect(isRunning({ pid: process.pid, startTime: own!.startTime + 1 })).toBe(false);
    expect(isRunning({ pid: 0, startTime: 0 })).toBe(false);
  });

  it('counts an unreaped zombie as not running, although kill(pid, 0) succeeds on it', async () => {
    // `sleep 0` exits at once; its parent then execs `sleep 30`, which never reaps it.
    const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    children.push(parent);
    const zombie = Number(await firstLine(parent));
    const deadline = Date.now() + 5000;
    while (readProcStat(zombie)?.state !== 'Z' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(readProcStat(zombie)?.state).toBe('Z');
    expect(() => process.kill(zombie, 0)).not.toThrow();
    expect(isPidRunning(zombie)).toBe(false);
    expect(processIdentity(zombie)).toBeUndefined();
    expect(isPidRunning(parent.pid!)).toBe(true);
  });

  it('reads the start time after a command name holding spaces and parentheses', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lab-identity-'));
    try {
      const odd = join(dir, 'a) (b c');
      copyFileSync('/bin/sleep', odd);
      const child = spawn(odd, ['30'], { stdio: 'ignore' });
      children.push(child);
      const deadline = Date.now() + 5000;
      while (!readProcStat(child.pid!)?.state.match(/^[RS]$/) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      const self = readProcStat(process.pid)!;
      const stat = readProcStat(child.pid!)!;
      expect(stat.state).toMatch(/^[RS]$/);
      // Started after this process, in clock ticks since boot.
      expect(stat.startTime).toBeGreaterThanOrEqual(self.startTime);
      expect(isRunning({ pid: child.pid!, startTime: stat.startTime })).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
