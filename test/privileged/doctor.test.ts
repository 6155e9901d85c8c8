// `lab doctor` and the kernel feature probe on this machine, for real: the probe builds a scratch pod,
// loads and attaches its BPF programs there, and removes everything; doctor's JSON gives each backend a
// status; a saved probe replays to exactly the live results; and the privileged-test gate names the
// features the probe found absent, and only those.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { deriveFeatures } from '../../lab/features/derive.ts';
import { KERNEL_FEATURES, type FeatureResult } from '../../lab/features/names.ts';
import { probeKernelFeatures, readSavedProbe, SAVED_BPFTOOL_FILE, SAVED_LAB_FILE } from '../../lab/features/probe.ts';
import { labDebris } from '../support/host-state.ts';
import { labSync } from '../support/lab-cli.ts';
import { describePrivileged, kernelBlocker } from '../support/privileged.ts';

interface DoctorJson {
  ok: boolean;
  kernelRelease: string;
  features: Array<FeatureResult & { neededBy: string[] }>;
  backends: Array<{ backend: string; status: string; reason: string; missingFeatures: FeatureResult[]; missingTools: string[] }>;
}

describePrivileged('lab doctor and the kernel feature probe', { tools: ['bpftool', 'clang', 'tc', 'iptables-restore'], features: ['netns-veth', 'bpffs'] }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'lab-doctor-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('gives every backend a status with its reason, and a saved probe replays to the same features', () => {
    const result = labSync(['doctor', '--json', '--save-probe', dir], { env: { ...process.env, LAB_DEBUG: '1' } });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as DoctorJson;
    expect(report.ok).toBe(true);
    expect(report.features.map((f) => f.feature)).toEqual([...KERNEL_FEATURES]);
    expect(report.backends.length).toBeGreaterThan(0);
    for (const b of report.backends) {
      if (b.status === 'supported') expect(b.reason).toBe('supported');
      else if (b.status === 'unsupported') expect(b.reason.startsWith(`unsupported on this kernel: ${b.missingFeatures[0]?.feature} (`)).toBe(true);
      else expect(b).toMatchObject({ status: 'missing-tools', reason: expect.stringContaining(b.missingTools.join(', ')) });
    }
    const replayed = deriveFeatures(readSavedProbe(join(dir, SAVED_LAB_FILE), join(dir, SAVED_BPFTOOL_FILE)));
    expect(replayed).toEqual(report.features.map(({ feature, present, detail }) => ({ feature, present, detail })));

    // The scratch lab the probe built (its pod's netns name carries the run id) left nothing behind.
    const runId = /\/run\/netns\/lab-(\w+)-probe /.exec(result.stderr)?.[1];
    expect(runId, 'the probe announced no scratch namespace in its LAB_DEBUG output').toBeDefined();
    expect(labDebris(runId)).toEqual([]);
  });

  it('the gate names the absent features the probe found, and none that are present', async () => {
    const { results } = await probeKernelFeatures();
    const present = results.filter((r) => r.present).map((r) => r.feature);
    expect(present).toContain('netns-veth');
    expect(await kernelBlocker(present)).toBeUndefined();
    for (const absent of results.filter((r) => !r.present)) {
      expect(await kernelBlocker([...present, absent.feature])).toBe(`kernel feature absent: ${absent.feature} (${absent.detail})`);
    }
  });
});
