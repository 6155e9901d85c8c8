// The kernel feature probe: run once per process, on first use, and shared by everything that asks
// (doctor, `lab verify`'s preflight, the privileged-test gate). Saved probes replay it: `lab doctor
// --save-probe DIR` writes what was seen, and readSavedProbe() turns it back into the same results.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { bpftoolFeatureProbeKernel } from '../host/feature-probe.ts';
import { onPath } from '../host/tools.ts';
import { deriveFeatures } from './derive.ts';
import { observeFiles } from './files.ts';
import type { FeatureResult } from './names.ts';
import type { BpftoolFeatureProbe, FeatureObservations } from './observations.ts';
import { observeScratch } from './scratch.ts';

export interface KernelFeatureReport {
  kernelRelease: string;
  results: FeatureResult[];
  observations: FeatureObservations;
  /** bpftool's output exactly as printed, for saving (undefined when bpftool failed). */
  bpftoolRaw: string | undefined;
}

async function observeBpftool(): Promise<{ observation: FeatureObservations['bpftool']; raw: string | undefined }> {
  if (!onPath('bpftool')) return { observation: { ok: false, error: 'bpftool is not installed (run scripts/setup.sh)' }, raw: undefined };
  try {
    const raw = await bpftoolFeatureProbeKernel();
    return { observation: { ok: true, probe: JSON.parse(raw) as BpftoolFeatureProbe }, raw };
  } catch (e) {
    return { observation: { ok: false, error: (e as Error).message.split('\n')[0] ?? String(e) }, raw: undefined };
  }
}

async function probe(): Promise<KernelFeatureReport> {
  const bpftool = await observeBpftool();
  const observations: FeatureObservations = {
    kernelRelease: release(),
    root: process.getuid?.() === 0,
    bpftool: bpftool.observation,
    files: await observeFiles(),
    scratch: await observeScratch(),
  };
  return { kernelRelease: observations.kernelRelease, results: deriveFeatures(observations), observations, bpftoolRaw: bpftool.raw };
}

let cached: Promise<KernelFeatureReport> | undefined;

/** The running kernel's features. The first call probes; later calls in this process share it. */
export function probeKernelFeatures(): Promise<KernelFeatureReport> {
  cached ??= probe();
  return cached;
}

export const SAVED_BPFTOOL_FILE = 'bpftool-feature-probe.json';
export const SAVED_LAB_FILE = 'lab-probes.json';

/**
 * Writes a probe as two files: bpftool's output verbatim, and the lab's own observations (files and
 * scratch probes). Test fixtures are made this way (test/fixtures/features/).
 */
export function saveProbe(report: KernelFeatureReport, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const { bpftool, ...lab } = report.observations;
  const written: string[] = [];
  if (report.bpftoolRaw !== undefined) {
    writeFileSync(join(dir, SAVED_BPFTOOL_FILE), report.bpftoolRaw);
    written.push(join(dir, SAVED_BPFTOOL_FILE));
  }
  const labFile = { ...lab, ...(bpftool.ok ? {} : { bpftoolError: bpftool.error }) };
  writeFileSync(join(dir, SAVED_LAB_FILE), `${JSON.stringify(labFile, null, 2)}\n`);
  written.push(join(dir, SAVED_LAB_FILE));
  return written;
}

/** Reads a probe saved by saveProbe; `bpftoolFile` replaces bpftool's file (e.g. an altered copy). */
export function readSavedProbe(labFile: string, bpftoolFile: string): FeatureObservations {
  const lab = JSON.parse(readFileSync(labFile, 'utf8')) as Omit<FeatureObservations, 'bpftool'> & { bpftoolError?: string };
  const { bpftoolError, ...rest } = lab;
  const bpftool: FeatureObservations['bpftool'] =
    bpftoolError !== undefined ? { ok: false, error: bpftoolError } : { ok: true, probe: JSON.parse(readFileSync(bpftoolFile, 'utf8')) as BpftoolFeatureProbe };
  return { ...rest, bpftool };
}
