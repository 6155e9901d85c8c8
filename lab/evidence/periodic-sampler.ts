// Takes a reading at a fixed interval while traffic flows, one reading at a time (never two in
// flight), bounded in count and stopped by stop(); `lab.own(sampler)` makes a run's teardown stop it.
// Failed readings are kept with their error, not dropped: a reader can tell "the map was empty" from
// "the map could not be read".

export interface PeriodicSamplerOptions<T> {
  intervalMs: number;
  /** The most readings, failed ones included. */
  maxSamples: number;
  read: () => Promise<T>;
  /** Take the first reading at once rather than after one interval. */
  readAtStart?: boolean;
}

export class PeriodicSampler<T> {
  private readonly taken: T[] = [];
  private readonly failures: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(private readonly options: PeriodicSamplerOptions<T>) {}

  static start<T>(options: PeriodicSamplerOptions<T>): PeriodicSampler<T> {
    const sampler = new PeriodicSampler(options);
    if (options.readAtStart) void sampler.queueReading().then(() => sampler.schedule());
    else sampler.schedule();
    return sampler;
  }

  private get full(): boolean {
    return this.taken.length + this.failures.length >= this.options.maxSamples;
  }

  private schedule(): void {
    if (this.stopped || this.full) return;
    this.timer = setTimeout(() => void this.queueReading().then(() => this.schedule()), this.options.intervalMs);
  }

  /** Every reading, on the timer or on demand, waits for the one before it: never two at a time. */
  private queueReading(): Promise<void> {
    this.inFlight = this.inFlight.then(() => this.takeOne());
    return this.inFlight;
  }

  private async takeOne(): Promise<void> {
    if (this.stopped || this.full) return;
    try {
      this.taken.push(await this.options.read());
    } catch (e) {
      this.failures.push(e instanceof Error ? e.message : String(e));
    }
  }

  /** One reading now, between the scheduled ones (after the one in flight, if any); none once stopped. */
  sampleNow(): Promise<void> {
    return this.queueReading();
  }

  /** Every reading taken, oldest first. */
  get samples(): readonly T[] {
    return this.taken;
  }

  /** How many readings failed, and the first failure's message. */
  get failedReads(): { count: number; first?: string } {
    return this.failures.length === 0 ? { count: 0 } : { count: this.failures.length, first: this.failures[0]! };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.inFlight;
  }
}
