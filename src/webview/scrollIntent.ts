/**
 * Tells the reader's scrolls from the page's own.
 *
 * The preview scrolls itself (following the editor, a virtual page filling placeholders, the
 * browser's scroll anchoring when a chunk above changes height), and only the reader's scrolls
 * may move the editor. A time window after each programmatic `scrollTo` is not enough: in
 * code-server the webview shares the workbench's renderer, and on a long note its scroll event
 * can come a second late — then the page "reported" its own scroll and dragged the editor back
 * (Ctrl+End in the editor, a moment later the editor jumped to the line the preview was at).
 * So a scroll counts as the reader's only when the reader just did something that scrolls:
 * a wheel or touch gesture, a key, or a pointer held down (the scrollbar, a text selection).
 */
export class ScrollIntent {
  /** performance.now() of the reader's last scrolling input. */
  private lastInput = -Infinity;
  private pointersDown = 0;

  /**
   * @param target the page's window (listeners are passive and capture, so the page's own
   *   handlers cannot hide an input from it)
   * @param graceMs how long after an input its scroll events still count as the reader's
   *   (a wheel's smooth scroll and a held key's repeats run on after the event)
   */
  constructor(
    target: Pick<Window, 'addEventListener'>,
    private readonly now: () => number = () => performance.now(),
    private readonly graceMs = 1000,
  ) {
    const input = (): void => {
      this.lastInput = this.now();
    };
    const opts = { capture: true, passive: true };
    for (const type of ['wheel', 'touchstart', 'touchmove', 'keydown']) target.addEventListener(type, input, opts);
    target.addEventListener(
      'pointerdown',
      () => {
        this.pointersDown++;
        input();
      },
      opts,
    );
    const up = (): void => {
      if (this.pointersDown > 0) this.pointersDown--;
      input();
    };
    target.addEventListener('pointerup', up, opts);
    target.addEventListener('pointercancel', up, opts);
    // A pointer released outside the page (the panel lost it) must not count as held forever.
    target.addEventListener(
      'blur',
      () => {
        this.pointersDown = 0;
      },
      opts,
    );
  }

  /** Whether a scroll event seen now was the reader's doing. */
  byReader(): boolean {
    return this.pointersDown > 0 || this.now() - this.lastInput <= this.graceMs;
  }
}
