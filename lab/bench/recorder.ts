// Keeps a bench's results.json current on disk: after every setup and every slice, so a bench stopped
// by Ctrl-C or a crash leaves the rounds it finished. Writes are synchronous on purpose: the
// interrupt handler must be able to write before the process exits.
import { join } from 'node:path';
import { writeReport } from '../report/render.ts';
import { RESULTS_FILE, RESULTS_FORMAT, RESULTS_SCHEMA, writeResults, type BenchConfiguration, type EnvironmentInfo, type ResultsFile, type ScaleRecord, type SetupRecord, type SliceRecord } from '../report/results.ts';

export class BenchRecorder {
  readonly results: ResultsFile;
  private readonly started = performance.now();
  private closed = false;

  constructor(
    readonly dir: string,
    environment: EnvironmentInfo,
    configuration: BenchConfiguration,
  ) {
    this.results = {
      format: RESULTS_FORMAT,
      schema: RESULTS_SCHEMA,
      startedAt: new Date().toISOString(),
      status: 'running',
      durationSeconds: 0,
      environment,
      configuration,
      setups: [],
      slices: [],
      roundsCompleted: 0,
    };
    this.flush();
  }

  get path(): string {
    return join(this.dir, RESULTS_FILE);
  }

  /** True once the bench finished or was interrupted: later results (a slice killed by teardown) are dropped. */
  get isClosed(): boolean {
    return this.closed;
  }

  addSetup(setup: SetupRecord): void {
    if (this.closed) return;
    this.results.setups.push(setup);
    this.flush();
  }

  updateSetup(id: number, patch: Partial<SetupRecord>): void {
    if (this.closed) return;
    const setup = this.results.setups.find((s) => s.id === id);
    if (setup) Object.assign(setup, patch);
    this.flush();
  }

  addSlice(slice: SliceRecord): void {
    if (this.closed) return;
    this.results.slices.push(slice);
    this.flush();
  }

  completeRound(round: number): void {
    if (this.closed) return;
    this.results.roundsCompleted = round;
    this.flush();
  }

  addScale(record: ScaleRecord): void {
    if (this.closed) return;
    (this.results.scale ??= []).push(record);
    this.flush();
  }

  setPhases(phases: NonNullable<ResultsFile['phases']>): void {
    if (this.closed) return;
    this.results.phases = phases;
    this.flush();
  }

  setVethOffloads(offloads: Record<string, string>): void {
    this.results.environment.vethOffloads = offloads;
  }

  /** Final write with the outcome; renders report.md and the charts. */
  close(status: ResultsFile['status']): void {
    if (this.closed) return;
    this.results.status = status;
    this.results.finishedAt = new Date().toISOString();
    this.flush();
    writeReport(this.dir, this.results);
    this.closed = true;
  }

  private flush(): void {
    this.results.durationSeconds = (performance.now() - this.started) / 1000;
    writeResults(this.path, this.results);
  }
}
