// `lab bench --scale N`: how long N pods take to come up (netns, veth pair, addresses, routes,
// cgroup each) and to go away again. The topology is one node (two past MAX_PODS_PER_NODE pods).
import { MAX_NODES, MAX_PODS_PER_NODE } from '../topology/addressing.ts';
import { Lab, type TopologySpec } from '../topology/lab.ts';
import { collectEnvironment } from '../report/environment.ts';
import type { ScaleRecord } from '../report/results.ts';
import { BenchRecorder } from './recorder.ts';
import { prepareReportDir } from './report-dir.ts';
import { resolveConfiguration, type BenchOutcome } from './run.ts';

export const MAX_SCALE_PODS = MAX_NODES * MAX_PODS_PER_NODE;

/** Pods p0..pN-1, filling node-a first. */
export function scaleTopology(pods: number): TopologySpec {
  if (pods < 1 || pods > MAX_SCALE_PODS) throw new Error(`--scale takes 1 to ${MAX_SCALE_PODS} pods`);
  const names = Array.from({ length: pods }, (_, i) => `p${i}`);
  const nodes = [{ name: 'node-a', pods: names.slice(0, MAX_PODS_PER_NODE) }];
  if (pods > MAX_PODS_PER_NODE) nodes.push({ name: 'node-b', pods: names.slice(MAX_PODS_PER_NODE) });
  return { nodes };
}

/** Builds N pods, proves one is reachable from the node, tears down; times both halves. */
export async function measureScale(pods: number): Promise<ScaleRecord> {
  const spec = scaleTopology(pods);
  const t0 = performance.now();
  const lab = await Lab.create(spec);
  const t1 = performance.now();
  let reachable: Error | undefined;
  try {
    // A topology that is only half there would make a fast number meaningless: check the last pod.
    const last = lab.pod(`p${pods - 1}`);
    await lab.exec(last.node, 'ping', ['-c1', '-W2', last.ip]);
  } catch (e) {
    reachable = e as Error;
  }
  const t2 = performance.now();
  const report = await lab.teardown();
  const teardownSeconds = (performance.now() - t2) / 1000;
  if (reachable) throw new Error(`the last of ${pods} pods was not reachable: ${reachable.message}`);
  if (report.failed.length > 0) throw new Error(`teardown left ${report.failed.length} object(s): ${report.failed.slice(0, 3).join('; ')}`);
  const createSeconds = (t1 - t0) / 1000;
  return { pods, createSeconds, teardownSeconds, secondsPerPod: (createSeconds + teardownSeconds) / pods };
}

/** Runs the scale measurement `repeats` times and writes a report of it. */
export async function runScaleBench(options: { pods: number; repeats?: number; outDir?: string; name?: string; progress?: (line: string) => void }): Promise<BenchOutcome> {
  const progress = options.progress ?? ((line: string) => process.stderr.write(line + '\n'));
  const repeats = options.repeats ?? 3;
  const configuration = resolveConfiguration({ name: options.name ?? `scale-${options.pods}`, backends: [], placements: [], metrics: [], rounds: repeats }, undefined);
  const dir = prepareReportDir(options.outDir, configuration.name);
  const recorder = new BenchRecorder(dir, await collectEnvironment(), configuration);
  let status: BenchOutcome['status'] = 'complete';
  try {
    for (let repeat = 1; repeat <= repeats; repeat++) {
      const record = await measureScale(options.pods);
      recorder.addScale(record);
      progress(`[${repeat}/${repeats}] ${options.pods} pods: up ${record.createSeconds.toFixed(2)} s, down ${record.teardownSeconds.toFixed(2)} s, ${(record.secondsPerPod * 1000).toFixed(1)} ms per pod`);
    }
  } catch (e) {
    status = 'failed';
    throw e;
  } finally {
    recorder.close(status);
  }
  return { dir, results: recorder.results, status };
}
