import type { Snippet } from '../core/snippets/snippets';
import { LivePublisher } from './livePublisher';
import { drawPlots, metricPlots, type SnippetOutput } from './outputs';
import type { PlotSpec } from './protocol';
import type { RunResult } from './processRun';
import type { StartedRun } from './runSnippet';

/** What the runner needs from the extension: the output store, the plotter, a log. */
export interface RunnerCoreHost {
  readonly outputs: {
    get(note: string): Promise<ReadonlyMap<string, SnippetOutput>>;
    set(note: string, output: SnippetOutput): Promise<void>;
    clear(note: string, key: string): Promise<void>;
  };
  plot(spec: PlotSpec): Promise<string>;
  readonly log: { error(message: string, e?: unknown): void };
  /** A run started or ended. */
  onDidChangeRuns(): void;
  /** Live output updates while a run goes (ms). */
  readonly liveUpdateMs: number;
}

export interface ActiveRun {
  readonly note: string;
  readonly snippet: Snippet;
  readonly started: StartedRun;
  readonly startedAt: number;
}

/**
 * The runs going on and their lifecycle, apart from VS Code (RunnerService adds the UI): a run
 * is registered, its output published live (one publish in flight, charts from downsampled
 * series) and once more at the end, then unregistered. Stop waits for the processes to end;
 * `killAll` ends every run synchronously, for deactivation.
 */
export class RunnerCore {
  private readonly runs = new Map<string, ActiveRun>();
  /** Metric points already charted per output: live updates redraw only when new ones arrived. */
  private readonly chartedPoints = new WeakMap<SnippetOutput, number>();

  constructor(private readonly host: RunnerCoreHost) {}

  isRunning(note: string, key: string): boolean {
    return this.runs.has(runKey(note, key));
  }

  active(): ActiveRun[] {
    return [...this.runs.values()];
  }

  runningIn(note: string): Snippet[] {
    return this.active().filter((r) => r.note === note).map((r) => r.snippet);
  }

  /**
   * Runs one snippet: `start` starts its process. Resolves when it has ended and its final
   * output is stored; 'alreadyRunning' when this block is running now.
   */
  async run(
    note: string,
    snippet: Snippet,
    all: readonly Snippet[],
    start: () => StartedRun,
    onStarted?: (run: ActiveRun) => void,
  ): Promise<{ result: RunResult; output: SnippetOutput } | 'alreadyRunning'> {
    const key = runKey(note, snippet.key);
    if (this.runs.has(key)) return 'alreadyRunning';
    const started = start();
    const active: ActiveRun = { note, snippet, started, startedAt: Date.now() };
    this.runs.set(key, active);
    this.host.onDidChangeRuns();
    const live = new LivePublisher(() => this.publish(note, started.collector.output), this.host.liveUpdateMs, (e) => this.host.log.error('live output update failed', e));
    try {
      onStarted?.(active);
      await this.dropReplacedOutputs(note, snippet, all);
      await this.host.outputs.set(note, started.collector.output);
      live.start();
      const done = await started.done;
      await live.finish();
      return done;
    } finally {
      live.dispose();
      this.runs.delete(key);
      this.host.onDidChangeRuns();
    }
  }

  /** Stops a snippet (or every snippet of the note) and waits until its processes are gone. */
  async stop(note: string, key?: string): Promise<void> {
    const targets = this.active().filter((r) => r.note === note && (key === undefined || r.snippet.key === key));
    await Promise.all(targets.map((r) => r.started.process?.cancel()));
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.active().map((r) => r.started.process?.cancel()));
  }

  /** Deactivation: nothing may outlive the host and there is no time to wait, so every run is killed now. */
  killAll(): void {
    for (const r of this.runs.values()) r.started.process?.killNow();
  }

  /**
   * An edited block has a new key; the output of its previous code (shown as stale until now)
   * is replaced by this run, so it is dropped instead of piling up in the outputs file.
   */
  private async dropReplacedOutputs(note: string, snippet: Snippet, all: readonly Snippet[]): Promise<void> {
    const current = new Set(all.map((s) => s.key));
    for (const [key, o] of await this.host.outputs.get(note)) {
      if (!current.has(key) && o.index === snippet.index) await this.host.outputs.clear(note, key);
    }
  }

  private async publish(note: string, output: SnippetOutput): Promise<void> {
    await drawPlots(output, (s) => this.host.plot(s));
    const points = Object.values(output.metrics).reduce((n, s) => n + s.length, 0);
    if (points !== (this.chartedPoints.get(output) ?? 0)) {
      this.chartedPoints.set(output, points);
      // Drawn from downsampled series (metricPlots), so a 100k-step run costs what a 1k-step one does.
      output.metricSvgs = await Promise.all(metricPlots(output).map((s) => this.host.plot(s).catch(() => '')));
    }
    await this.host.outputs.set(note, output);
  }
}

function runKey(note: string, key: string): string {
  return note + '\u0000' + key;
}
