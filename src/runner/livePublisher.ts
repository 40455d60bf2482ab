/**
 * Publishes a running snippet's output every `intervalMs`, with at most one publish in flight:
 * a tick that finds the previous publish still drawing charts is skipped instead of queueing
 * behind it (a long run's charts must not pile up work on the extension host). `finish()`
 * stops the ticks and publishes the final state once, after the one in flight.
 */
export class LivePublisher {
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private finished = false;
  /** Ticks skipped because a publish was still running (for tests and the log). */
  skipped = 0;

  constructor(
    private readonly publish: () => Promise<void>,
    private readonly intervalMs: number,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {}

  start(): void {
    if (this.timer || this.finished) return;
    this.timer = setInterval(() => this.tick(), this.intervalMs);
  }

  /** One publish now, unless one is running. */
  tick(): void {
    if (this.finished) return;
    if (this.inFlight) {
      this.skipped++;
      return;
    }
    this.inFlight = this.run().finally(() => (this.inFlight = undefined));
  }

  async finish(): Promise<void> {
    this.finished = true;
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
    await this.run();
  }

  /** Stops without a final publish (the service is going away). */
  dispose(): void {
    this.finished = true;
    clearInterval(this.timer);
  }

  private async run(): Promise<void> {
    try {
      await this.publish();
    } catch (e) {
      this.onError(e);
    }
  }
}
