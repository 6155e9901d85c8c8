// Doctor and the kernel feature probe, replayed from a recorded probe (test/fixtures/features/): this
// machine's real kernel, which lacks kprobe and fentry, and an altered copy standing for a kernel
// without sockmap. The README beside the fixtures says how each file was made.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allBackends } from '../../lab/backends/index.ts';
import { assembleDoctorReport, type DoctorItem } from '../../lab/doctor/report.ts';
import { backendSupport, type BackendRequirements } from '../../lab/doctor/support.ts';
import { refusalReason } from '../../lab/features/bpf-probes.ts';
import { deriveFeatures, featureResult } from '../../lab/features/derive.ts';
import { KERNEL_FEATURES, type FeatureResult } from '../../lab/features/names.ts';
import type { FeatureObservations } from '../../lab/features/observations.ts';
import { readSavedProbe } from '../../lab/features/probe.ts';

const DIR = join(import.meta.dirname, '../fixtures/features/debian12-6.18.44');
const recorded = () => readSavedProbe(join(DIR, 'lab-probes.json'), join(DIR, 'bpftool-feature-probe.json'));
const withoutSockmap = () => readSavedProbe(join(DIR, 'lab-probes.json'), join(DIR, 'bpftool-feature-probe.ALTERED-no-sockmap.json'));

const absent = (results: FeatureResult[]) => results.filter((r) => !r.present).map((r) => r.feature);

// Requirements shaped like the backends' descriptors (names are the lab's KernelFeature names).
const SOCKMAP_LIKE: BackendRequirements = { name: 'sockmap', requires: { tools: ['bpftool', 'clang', 'haproxy'], features: ['bpf-syscall', 'bpffs', 'cgroup-connect4', 'sockops', 'sk-msg', 'cgroup-getsockopt'] } };
const REDIRECT_LIKE: BackendRequirements = { name: 'redirect', requires: { tools: ['iptables-restore', 'haproxy'], features: ['iptables-redirect'] } };
const TRACER_LIKE: BackendRequirements = { name: 'tracer', requires: { tools: [], features: ['kprobe'] } };
const BACKENDS = [REDIRECT_LIKE, SOCKMAP_LIKE, TRACER_LIKE];

const toolItems = (missing: string[] = []): DoctorItem[] => [
  { name: 'root', ok: true, required: true, detail: 'running as root' },
  ...['ip', 'haproxy', 'bpftool', 'clang', 'iptables-restore'].map((name) =>
    missing.includes(name) ? { name, ok: false, required: true, detail: 'not installed', fix: 'run scripts/setup.sh as root' } : { name, ok: true, required: true, detail: 'v1' },
  ),
];

describe('kernel features from the recorded probe of this machine (Linux 6.18.44)', () => {
  const results = deriveFeatures(recorded());

  it('has one result per known feature', () => {
    expect(results.map((r) => r.feature)).toEqual([...KERNEL_FEATURES]);
  });

  it('finds exactly kprobe and fentry absent, each with the reason the kernel gave', () => {
    expect(absent(results)).toEqual(['fentry', 'kprobe']);
    expect(featureResult(results, 'kprobe').detail).toContain('CONFIG_KPROBE_EVENTS unset');
    expect(featureResult(results, 'fentry').detail).toBe('bpftool feature probe: no tracing program type');
  });

  it('proves the BPF features with both bpftool and the lab probe that loaded and attached a program', () => {
    expect(featureResult(results, 'sk-msg')).toEqual({
      feature: 'sk-msg',
      present: true,
      detail: 'bpftool: sk_msg program type; bpftool: sockhash map type; loaded probes/sk-msg.bpf.c and attached it (sk_msg_verdict) to its SOCKHASH',
    });
    expect(featureResult(results, 'bpf-sk-assign').detail).toContain("attached it as a direct-action filter on a lab pod's host veth");
  });
});

describe('a kernel missing a feature (the recording with sockmap taken out: ALTERED-no-sockmap)', () => {
  const results = deriveFeatures(withoutSockmap());

  it('finds sockops and sk-msg absent because bpftool reports no SOCKHASH map type', () => {
    expect(absent(results)).toEqual(['sockops', 'sk-msg', 'fentry', 'kprobe']);
    expect(featureResult(results, 'sk-msg').detail).toBe('bpftool feature probe: no sockhash map type');
  });

  it("reports a backend needing them as unsupported on this kernel, naming the feature, and doctor stays ready", () => {
    const report = assembleDoctorReport({ kernelRelease: '6.18.44-fc-v782', results, items: toolItems(), backends: BACKENDS });
    expect(report.ok).toBe(true);
    expect(report.backends.map((b) => [b.backend, b.status])).toEqual([
      ['redirect', 'supported'],
      ['sockmap', 'unsupported'],
      ['tracer', 'unsupported'],
    ]);
    const sockmap = report.backends.find((b) => b.backend === 'sockmap');
    expect(sockmap?.reason).toBe('unsupported on this kernel: sockops (bpftool feature probe: no sockhash map type); also absent: sk-msg');
    expect(sockmap?.missingFeatures.map((f) => f.feature)).toEqual(['sockops', 'sk-msg']);
    expect(report.features.find((f) => f.feature === 'sk-msg')).toMatchObject({ present: false, neededBy: ['sockmap'], fix: expect.stringContaining('CONFIG_BPF_STREAM_PARSER') });
  });

  it('on the unaltered recording the same backend is supported', () => {
    const report = assembleDoctorReport({ kernelRelease: '6.18.44-fc-v782', results: deriveFeatures(recorded()), items: toolItems(), backends: BACKENDS });
    expect(report.backends.find((b) => b.backend === 'sockmap')).toMatchObject({ status: 'supported', reason: 'supported', missingFeatures: [] });
  });
});

describe("the registry's backends on the recorded kernels", () => {
  const everyTool = (backends: ReturnType<typeof allBackends>): DoctorItem[] => [...new Set(backends.flatMap((b) => b.requires.tools))].map((name) => ({ name, ok: true, required: true, detail: 'v1' }));

  it('all run on this machine; without sockmap in the kernel only the sockmap backend is unsupported', () => {
    const backends = allBackends();
    const here = assembleDoctorReport({ kernelRelease: 'x', results: deriveFeatures(recorded()), items: everyTool(backends), backends });
    expect(here.backends.filter((b) => b.status !== 'supported')).toEqual([]);
    const altered = assembleDoctorReport({ kernelRelease: 'x', results: deriveFeatures(withoutSockmap()), items: everyTool(backends), backends });
    expect(altered.backends.filter((b) => b.status !== 'supported').map((b) => b.backend)).toEqual(['sockmap']);
    expect(altered.backends.find((b) => b.backend === 'sockmap')?.reason).toMatch(/^unsupported on this kernel: (sockops|sk-msg) \(bpftool feature probe: no sockhash map type\)/);
  });
});

describe('doctor verdicts', () => {
  it('is not ready when a topology feature is absent (netns-veth failed in the scratch pod: the recording altered in this test)', () => {
    const observations: FeatureObservations = { ...recorded() };
    observations.scratch = { ...observations.scratch, netnsVeth: { ok: false, detail: 'building a scratch node and pod failed: RTNETLINK answers: Operation not supported' } };
    const report = assembleDoctorReport({ kernelRelease: 'x', results: deriveFeatures(observations), items: toolItems(), backends: BACKENDS });
    expect(report.ok).toBe(false);
    expect(report.features.find((f) => f.feature === 'netns-veth')).toMatchObject({ present: false, neededBy: ['every run'] });
    expect(report.backends.every((b) => b.status === 'unsupported')).toBe(true);
  });

  it('is not ready when a required tool is missing, and names the backends waiting for it', () => {
    const report = assembleDoctorReport({ kernelRelease: 'x', results: deriveFeatures(recorded()), items: toolItems(['haproxy']), backends: BACKENDS });
    expect(report.ok).toBe(false);
    expect(report.backends.find((b) => b.backend === 'redirect')).toMatchObject({ status: 'missing-tools', reason: 'missing tools: haproxy (run scripts/setup.sh as root)' });
  });

  it('needs one feature of each group of alternatives: tc runs with bpf_sk_assign or TPROXY, not without both', () => {
    const tc = allBackends().find((b) => b.name === 'tc')!;
    const results = deriveFeatures(recorded());
    const without = (...gone: string[]) => results.map((r) => (gone.includes(r.feature) ? { ...r, present: false, detail: `${r.feature} taken out (altered in this test)` } : r));
    const everyTool = () => false;
    expect(backendSupport(tc, without('bpf-sk-assign'), everyTool).status).toBe('supported');
    expect(backendSupport(tc, without('iptables-tproxy'), everyTool).status).toBe('supported');
    const neither = backendSupport(tc, without('bpf-sk-assign', 'iptables-tproxy'), everyTool);
    expect(neither.status).toBe('unsupported');
    expect(neither.reason).toBe(
      'unsupported on this kernel: bpf-sk-assign (bpf-sk-assign taken out (altered in this test); its alternative iptables-tproxy (iptables-tproxy taken out (altered in this test)) is absent too)',
    );
  });

  it('refuses a backend that names a feature the probe does not know', () => {
    expect(() => backendSupport({ name: 'typo', requires: { tools: [], features: ['sk_msg'] } }, [], () => false)).toThrow('backend typo requires unknown kernel features: sk_msg');
  });

  it('without root nothing in the scratch pod is probed, and such features say so', () => {
    const observations: FeatureObservations = { ...recorded(), root: false, scratch: { ...recorded().scratch, netnsVeth: { skipped: 'needs root' } } };
    expect(featureResult(deriveFeatures(observations), 'netns-veth')).toEqual({ feature: 'netns-veth', present: false, detail: 'not probed: needs root' });
  });
});

describe("a BPF probe's refusal", () => {
  it('is told in the verifier\'s words (log of a kprobe program calling bpf_sk_assign on Linux 6.18.44, bpftool v7.1.0)', () => {
    const log = [
      "libbpf: prog 'probe2': BPF program load failed: Invalid argument",
      "libbpf: prog 'probe2': -- BEGIN PROG LOAD LOG --",
      '0: R1=ctx() R10=fp0',
      '0: (b7) r2 = 0                        ; R2=0',
      '1: (b7) r3 = 0                        ; R3=0',
      '2: (85) call bpf_sk_assign#124',
      'program of this type cannot use helper bpf_sk_assign#124',
      'processed 3 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0',
      '-- END PROG LOAD LOG --',
      "libbpf: prog 'probe2': failed to load: -22",
    ].join('\n');
    expect(refusalReason(log)).toBe('program of this type cannot use helper bpf_sk_assign#124: Invalid argument');
  });

  it('falls back to the errno text when the verifier printed no log (fentry on this machine)', () => {
    const log = [
      "libbpf: prog 'probe_fentry': BPF program load failed: Operation not permitted",
      "libbpf: permission error while running as root; try raising 'ulimit -l'? current value: 8.0 MiB",
      "libbpf: prog 'probe_fentry': failed to load: -1",
      "libbpf: failed to load object 'fentry.bpf.o'",
      'Error: failed to load object file',
    ].join('\n');
    expect(refusalReason(log)).toBe('Operation not permitted');
  });
});
