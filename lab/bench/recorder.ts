// Keeps a bench's results.json (and the report rendered from it) current on disk: after every setup
// and every run, so a bench stopped by Ctrl-C or a crash leaves the cells it finished. Writes are
// synchronous on purpose: the interrupt handler must be able to write before the process exits.
import { join } from 'node:path';
import { writeReport } from '../report/render.ts';
import { RESULTS_FILE, RESULTS_SCHEMA, writeResults, type BenchConfiguration, type EnvironmentInfo, type ResultsFile, type RunRecord, type ScaleRecord, type SetupRecord } from '../report/results.ts';
import { summarizeResults } from '../report/summarize.ts';

export class BenchRecorder {
  readonly results: ResultsFile;
  private readonly started = performance.now();
  private closed = false;

  constructor(
    readonly dir: string,
    environment: EnvironmentInfo,
    configuration: BenchConfiguration,
  ) {
    this.results = { schema: RESULTS_SCHEMA, startedAt: new Date().toISOString(), status: 'running', durationSeconds: 0, environment, configuration, setups: [], runs: [], summaries: [] };
    this.flush();
  }

  get path(): string {
    return join(this.dir, RESULTS_FILE);
  }

  /** True once the bench finished or was interrupted: later results (a run killed by teardown) are dropped. */
  get isClosed(): boolean {
    return this.closed;
  }

  addSetup(setup: SetupRecord): void {
    if (this.closed) return;
    this.results.setups.push(setup);
    this.flush();
  }

  /** Updates a setup already recorded (its evidence arrives after it started). */
  updateSetup(id: number, patch: Partial<SetupRecord>): void {
    if (this.closed) return;
    const setup = this.results.setups.find((s) => s.id === id);
    if (setup) Object.assign(setup, patch);
    this.flush();
  }

  addRun(run: RunRecord): void {
    if (this.closed) return;
    this.results.runs.push(run);
    this.flush();
  }

  addScale(record: ScaleRecord): void {
    if (this.closed) return;
    (this.results.scale ??= []).push(record);
    this.flush();
  }

  setVethOffloads(offloads: Record<string, string>): void {
    this.results.environment.vethOffloads = offloads;
  }

  /** Final write with the outcome; renders report.md and the charts. */
  close(status: ResultsFile['status']): void {
    if (this.closed) return;
    this.results.status = status;
    if (status === 'interrupted') for (const setup of this.results.setups) if (setup.seconds === 0 && setup.error === undefined) setup.interrupted = true;
    this.results.finishedAt = new Date().toISOString();
    this.flush();
    writeReport(this.dir, this.results);
    this.closed = true;
  }

  private flush(): void {
    this.results.durationSeconds = (performance.now() - this.started) / 1000;
    this.results.summaries = summarizeResults(this.results);
    writeResults(this.path, this.results);
  }
}
