// Commands of the kernel feature probe (lab/features): bpftool's own feature probe, building and
// loading the lab's small probe programs, and which iptables variant is installed. A failed load is an answer here ("the kernel refused"),
// so these return the verifier's words instead of throwing.
import { arch } from 'node:os';
import { output, run } from './exec.ts';

/** `bpftool feature probe kernel -j`, verbatim (the caller parses it and may save it as is). */
export async function bpftoolFeatureProbeKernel(): Promise<string> {
  return output('bpftool', ['feature', 'probe', 'kernel', '-j'], { timeoutMs: 60_000 });
}

/** Debian's multiarch directory of the kernel UAPI headers (asm/types.h) for this machine. */
function multiarchInclude(): string {
  const triplet = arch() === 'arm64' ? 'aarch64-linux-gnu' : arch() === 'x64' ? 'x86_64-linux-gnu' : `${arch()}-linux-gnu`;
  return `/usr/include/${triplet}`;
}

/** Compiles one BPF C file with clang (with BTF, -g, as libbpf's loader wants for maps). */
export async function compileBpfProbe(source: string, object: string): Promise<void> {
  await run('clang', ['-O2', '-g', '-Wall', '-Werror', '-target', 'bpf', '-I', multiarchInclude(), '-c', source, '-o', object], { timeoutMs: 60_000 });
}

export interface LoadAttempt {
  ok: boolean;
  /** On failure, the last lines of libbpf's and the verifier's output. */
  log: string;
}

/** `bpftool prog loadall OBJ PROG_DIR pinmaps MAP_DIR`: every program and map of the object, pinned. */
export async function loadAllPinned(object: string, programDir: string, mapDir: string): Promise<LoadAttempt> {
  const result = await run('bpftool', ['prog', 'loadall', object, programDir, 'pinmaps', mapDir], { allowFailure: true, timeoutMs: 60_000 });
  const lines = (result.stderr || result.stdout)
    .split('\n')
    .map((l) => l.trim())
    // bpftool's advice about its strict mode follows every failure and says nothing about the kernel.
    .filter((l) => l && !/^Warning: bpftool is now running in libbpf strict mode|^If it used to work for this object file/.test(l));
  return { ok: result.exitCode === 0, log: lines.slice(-12).join('\n') };
}

/** `iptables -V` (e.g. "iptables v1.8.9 (nf_tables)"), or undefined when iptables is not installed. */
export async function iptablesVersion(): Promise<string | undefined> {
  try {
    const result = await run('iptables', ['-V'], { allowFailure: true, timeoutMs: 5000 });
    return (result.stdout + result.stderr).trim();
  } catch {
    return undefined;
  }
}
