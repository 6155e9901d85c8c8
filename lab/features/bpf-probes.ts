// The lab's BPF feature probes: small programs (probes/*.bpf.c) that do what a backend does, built
// with clang, loaded with bpftool into the scratch lab's bpffs directory, and attached where the
// attach itself is part of the feature (a pod cgroup, a SOCKHASH, a tc hook on the pod's host veth).
// The scratch lab's ledger records every pin and attachment, so teardown removes them.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attachCgroupProgram, attachMapProgram } from '../host/bpftool.ts';
import { compileBpfProbe, loadAllPinned } from '../host/feature-probe.ts';
import { attachBpfFilter } from '../host/tc.ts';
import { onPath } from '../host/tools.ts';
import { BPFFS_ROOT } from '../topology/clean.ts';
import type { Lab, Pod } from '../topology/lab.ts';
import { BPF_PROBES, type BpfProbeName, type ProbeOutcome } from './observations.ts';

const PROBE_SOURCES = fileURLToPath(new URL('./probes/', import.meta.url));

/** How each probe is attached once loaded; `load` means loading is the whole probe. */
type Attach = { kind: 'cgroup'; attachType: string } | { kind: 'sk-msg' } | { kind: 'tc' } | { kind: 'load' };

const ATTACH: Record<BpfProbeName, Attach> = {
  'cgroup-connect4': { kind: 'cgroup', attachType: 'connect4' },
  sockops: { kind: 'cgroup', attachType: 'sock_ops' },
  'cgroup-getsockopt': { kind: 'cgroup', attachType: 'getsockopt' },
  'sk-msg': { kind: 'sk-msg' },
  'tc-sk-assign': { kind: 'tc' },
  fentry: { kind: 'load' },
  kprobe: { kind: 'load' },
};

/** The kernel's reason in a failed load's log: the verifier's last word and libbpf's errno text. */
export function refusalReason(log: string): string {
  const lines = log.split('\n');
  const errno = lines.map((l) => /BPF program load failed: (.*)$/.exec(l)?.[1]).find(Boolean);
  const verifier = lines.filter((l) => !l.startsWith('libbpf:') && !l.startsWith('Error:') && !/^processed \d+ insns|^-- (BEGIN|END) PROG LOAD LOG/.test(l)).at(-1);
  const parts = [verifier, errno].filter((p): p is string => Boolean(p));
  return parts.length > 0 ? parts.join(': ') : (lines.at(-1) ?? 'no reason given');
}

const errorText = (e: unknown) => (e as Error).message.split('\n').filter(Boolean).slice(-1)[0] ?? String(e);

interface ProbeContext {
  lab: Lab;
  pod: Pod;
  buildDir: string;
  pinRoot: string;
  /** Whether the tc probe has a clsact qdisc on the pod's host veth to attach to. */
  clsactReady: boolean;
}

async function runProbe(name: BpfProbeName, ctx: ProbeContext): Promise<ProbeOutcome> {
  const object = join(ctx.buildDir, `${name}.bpf.o`);
  try {
    await compileBpfProbe(join(PROBE_SOURCES, `${name}.bpf.c`), object);
  } catch (e) {
    return { skipped: `the probe program did not build: ${errorText(e)}` };
  }
  const programDir = join(ctx.pinRoot, name, 'progs');
  const mapDir = join(ctx.pinRoot, name, 'maps');
  mkdirSync(programDir, { recursive: true });
  mkdirSync(mapDir, { recursive: true });
  const load = await loadAllPinned(object, programDir, mapDir);
  if (!load.ok) return { ok: false, detail: `the kernel refused to load probes/${name}.bpf.c: ${refusalReason(load.log)}` };
  const program = join(programDir, `probe_${name.replace(/-/g, '_')}`);
  const attach = ATTACH[name];
  try {
    switch (attach.kind) {
      case 'load':
        return { ok: true, detail: `loaded probes/${name}.bpf.c` };
      case 'cgroup':
        ctx.lab.record({ kind: 'cgroup-bpf', cgroupDir: ctx.pod.cgroupDir, attachType: attach.attachType, program });
        await attachCgroupProgram(ctx.pod.cgroupDir, attach.attachType, program);
        return { ok: true, detail: `loaded probes/${name}.bpf.c and attached it (${attach.attachType}) to a lab pod's cgroup` };
      case 'sk-msg':
        await attachMapProgram(program, 'sk_msg_verdict', join(mapDir, 'probe_msg_hash'));
        return { ok: true, detail: `loaded probes/${name}.bpf.c and attached it (sk_msg_verdict) to its SOCKHASH` };
      case 'tc': {
        if (!ctx.clsactReady) return { ok: true, detail: `loaded probes/${name}.bpf.c (not attached: no clsact qdisc)` };
        const { node } = ctx.pod;
        ctx.lab.record({ kind: 'tc-filter', netns: node.netns, device: ctx.pod.hostVeth, direction: 'ingress' });
        await attachBpfFilter(node.netns, ctx.pod.hostVeth, 'ingress', program);
        return { ok: true, detail: `loaded probes/${name}.bpf.c and attached it as a direct-action filter on a lab pod's host veth` };
      }
    }
  } catch (e) {
    return { ok: false, detail: `probes/${name}.bpf.c loaded, but attaching it failed: ${errorText(e)}` };
  }
}

/** Runs every BPF probe in the scratch lab; what cannot be tried (no clang, no bpffs) says why. */
export async function observeBpfProbes(lab: Lab, pod: Pod, options: { clsactReady: boolean }): Promise<Record<BpfProbeName, ProbeOutcome>> {
  const missing = ['clang', 'bpftool'].filter((tool) => !onPath(tool));
  const skipAll = (why: string) => Object.fromEntries(BPF_PROBES.map((name) => [name, { skipped: why }])) as Record<BpfProbeName, ProbeOutcome>;
  if (missing.length > 0) return skipAll(`${missing.join(' and ')} not installed (run scripts/setup.sh)`);
  const pinRoot = join(BPFFS_ROOT, `lab-${lab.runId}`, 'features');
  try {
    lab.record({ kind: 'bpf-pin', path: join(BPFFS_ROOT, `lab-${lab.runId}`) });
    mkdirSync(pinRoot, { recursive: true });
  } catch (e) {
    return skipAll(`no bpffs directory for the probes: ${errorText(e)}`);
  }
  const buildDir = mkdtempSync(join(tmpdir(), 'lab-features-'));
  try {
    const outcomes = {} as Record<BpfProbeName, ProbeOutcome>;
    for (const name of BPF_PROBES) outcomes[name] = await runProbe(name, { lab, pod, buildDir, pinRoot, clsactReady: options.clsactReady });
    return outcomes;
  } finally {
    rmSync(buildDir, { recursive: true, force: true });
  }
}
