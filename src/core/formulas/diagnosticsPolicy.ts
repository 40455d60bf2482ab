import type { MathDiagnostic } from '../markdown/documentRenderer';
import { mathRegionCovering, type MathRegion, type TextPosition } from './mathRegions';

/**
 * When formula errors reach the Problems panel. A formula is broken most of the time it is being
 * typed (`$x+\fr$` on the way to `\frac`), so reporting every render would flash a squiggle
 * under the completion list on every keystroke.
 *
 * - On open and save a note is checked at once and everything is reported.
 * - After an edit, the check waits until the user paused for `pauseMs` (the debounce).
 * - Renders that arrive while the user is still typing (the preview renders after ~60 ms) only
 *   keep errors that were already reported, never add new ones, and never report the formula
 *   under a cursor: that is where an open completion list would sit.
 */

/** The clock and timers the policy runs on; VS Code's host passes Node's, tests a fake. */
export interface PolicyTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const DEFAULT_PAUSE_MS = 1000;

export class DiagnosticsPolicy {
  private readonly lastEdit = new Map<string, number>();
  private readonly timers = new Map<string, unknown>();
  /** Per document, the identities of the errors currently shown. */
  private readonly reported = new Map<string, Set<string>>();

  /**
   * @param check asks for the document `key` to be rendered; its errors come back through
   *   `select`, whoever triggered the render.
   */
  constructor(
    private readonly clock: PolicyTimers,
    private readonly check: (key: string) => void,
    private readonly pauseMs = DEFAULT_PAUSE_MS,
  ) {}

  /** A note was opened (or must be checked anew, e.g. after a settings change): check now. */
  opened(key: string): void {
    this.cancel(key);
    this.check(key);
  }

  /** Saving says the user is done for now: check at once and report everything. */
  saved(key: string): void {
    this.cancel(key);
    this.lastEdit.delete(key);
    this.check(key);
  }

  /** Every edit restarts the pause. */
  edited(key: string): void {
    this.cancel(key);
    this.lastEdit.set(key, this.clock.now());
    this.timers.set(
      key,
      this.clock.setTimeout(() => {
        this.timers.delete(key);
        // The pause is over by definition here; timers may fire a millisecond early.
        this.lastEdit.delete(key);
        this.check(key);
      }, this.pauseMs),
    );
  }

  closed(key: string): void {
    this.cancel(key);
    this.lastEdit.delete(key);
    this.reported.delete(key);
  }

  dispose(): void {
    for (const key of [...this.timers.keys()]) this.cancel(key);
  }

  /** Whether the user edited `key` within the pause. */
  isTyping(key: string): boolean {
    const t = this.lastEdit.get(key);
    return t !== undefined && this.clock.now() - t < this.pauseMs;
  }

  /**
   * Of a render's errors, those to show now. `underCursor` says whether an error is in the
   * formula under one of the user's cursors (see `errorsUnderCursors`).
   */
  select<E extends MathDiagnostic>(key: string, errors: readonly E[], underCursor: (error: E) => boolean): E[] {
    const before = this.reported.get(key) ?? new Set<string>();
    const shown = this.isTyping(key) ? errors.filter((e) => before.has(identity(e)) && !underCursor(e)) : [...errors];
    this.reported.set(key, new Set(shown.map(identity)));
    return shown;
  }

  private cancel(key: string): void {
    const t = this.timers.get(key);
    if (t !== undefined) this.clock.clearTimeout(t);
    this.timers.delete(key);
  }
}

/** An error is "the same" across renders while its formula and message are (lines move). */
function identity(e: MathDiagnostic): string {
  return `${e.source}\u0000${e.message}`;
}

/**
 * A predicate for `select`: whether an error belongs to a formula that one of `cursors` is in
 * (delimiters included, so a cursor right before the closing `$` counts).
 */
export function errorsUnderCursors(text: string, cursors: readonly TextPosition[]): (error: MathDiagnostic) => boolean {
  // Parsed on first use: `select` asks only while the user is typing.
  let regions: MathRegion[] | undefined;
  // An error carries the line its formula starts on.
  return (error) => (regions ??= cursors.flatMap((c) => mathRegionCovering(text, c) ?? [])).some((r) => r.tex === error.source && error.line >= r.outerStart.line && error.line <= r.outerEnd.line);
}
