import type { KernelMessage } from '@jupyterlab/services';
import { codeWithSetup, type Snippet } from '../../core/snippets/snippets';
import { OutputCollector, type OutputItem } from '../outputs';
import type { RunResult } from '../processRun';
import { EVENT_MARKER, type KernelEvent } from '../protocol';
import { pickMime, stripAnsi } from '../richOutputs';
import { lineMapper, type StartedRun } from '../runSnippet';
import { parseKernelEvent } from '../schema';
import type { KernelSession } from './session';

/** Which way a Python block runs: in the note's kernel, or in a process of its own. */
export type PythonMode = 'jupyter' | 'process';

/**
 * `torchrun` blocks are several processes by nature, and `{run fresh}` asks for a clean one;
 * everything else follows the setting, when the interpreter has ipykernel.
 */
export function pythonModeFor(snippet: Snippet, setting: PythonMode, hasIpykernel: boolean): { mode: PythonMode; why?: 'torchrun' | 'fresh' | 'setting' | 'noIpykernel' } {
  if (snippet.attrs['torchrun'] !== undefined || snippet.attrs['nproc'] !== undefined) return { mode: 'process', why: 'torchrun' };
  if (snippet.attrs['fresh'] !== undefined && snippet.attrs['fresh'] !== 'false') return { mode: 'process', why: 'fresh' };
  if (setting !== 'jupyter') return { mode: 'process', why: 'setting' };
  if (!hasIpykernel) return { mode: 'process', why: 'noIpykernel' };
  return { mode: 'jupyter' };
}

/** The command that installs ipykernel for an interpreter (shown when it is missing). */
export function ipykernelInstallHint(interpreter: string): string {
  return `${interpreter} -m pip install ipykernel  (Debian/Ubuntu: sudo apt-get install python3-ipykernel)`;
}

export interface KernelRunOptions {
  readonly snippet: Snippet;
  readonly all: readonly Snippet[];
  readonly kernel: KernelSession;
  /** Shown as the output's device (interpreter, device). */
  readonly label: string;
  readonly onLog?: (stream: 'stdout' | 'stderr', text: string) => void;
  readonly onEvent?: (event: KernelEvent) => void;
  readonly onInvalidEvent?: (reason: string) => void;
  /** A display (display_data, execute_result) arrived or was updated. */
  readonly onDisplay?: (item: OutputItem) => void;
  /** The run's time limit (0: none): the block is interrupted then, the kernel stays. */
  readonly timeoutMs?: number;
}

/**
 * Runs one block in the note's kernel. Its output is folded into the same SnippetOutput a
 * process run makes: stream text (`mlnotes.metric` event lines in it are taken out and
 * validated, as on a process's stdout), MIME bundles as display items, the traceback with the
 * block's lines as note lines. Stopping interrupts the block; the kernel and its state stay.
 */
export function startInKernel(opts: KernelRunOptions): StartedRun {
  const { snippet, kernel } = opts;
  const meta = { key: snippet.key, domKey: snippet.domKey, lang: snippet.lang, index: snippet.index };
  const combined = codeWithSetup(snippet, opts.all);
  if ('error' in combined) {
    const collector = new OutputCollector(meta, () => undefined);
    collector.onEvent({ type: 'error', message: combined.error });
    const result: RunResult = { status: 'failed', exitCode: null, signal: null, durationMs: 0 };
    return { process: undefined, collector, done: Promise.resolve({ result, output: collector.finish(result) }) };
  }
  const mapLine = lineMapper(combined.parts);
  const collector = new OutputCollector(meta, mapLine);
  collector.onEvent({ type: 'backend', backend: 'jupyter', device: opts.label });
  const t0 = Date.now();
  let interrupted = false;
  let cell: number | undefined;
  let clearPending = false;
  const lines = { stdout: '', stderr: '' };
  const event = (e: KernelEvent): void => {
    collector.onEvent(e);
    opts.onEvent?.(e);
  };
  const text = (stream: 'stdout' | 'stderr', t: string): void => {
    if (!t) return;
    collector.onLog(stream, t);
    opts.onLog?.(stream, t);
  };
  /** Event lines (the mlnotes helper's) are whole lines in the stream; the rest is text. */
  const onStream = (stream: 'stdout' | 'stderr', t: string): void => {
    let buf = lines[stream] + t;
    let out = '';
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl + 1);
      buf = buf.slice(nl + 1);
      const at = line.indexOf(EVENT_MARKER);
      if (at < 0) {
        out += line;
        continue;
      }
      out += line.slice(0, at);
      text(stream, out);
      out = '';
      const parsed = parseKernelEvent(line.slice(at + EVENT_MARKER.length));
      if ('event' in parsed) event(parsed.event);
      else opts.onInvalidEvent?.(parsed.error);
    }
    // A partial line that may be the start of an event waits for its end; other text shows now (progress bars).
    if (buf.startsWith('\u001e') || buf.includes(EVENT_MARKER)) lines[stream] = buf;
    else {
      out += buf;
      lines[stream] = '';
    }
    text(stream, out);
  };
  const displayItem = (content: { data?: Record<string, unknown>; transient?: { display_id?: string } }): OutputItem | undefined => {
    const picked = pickMime(content.data ?? {});
    if (!picked) return undefined;
    const displayId = content.transient?.display_id;
    if (picked.mime === 'image/png' || picked.mime === 'image/jpeg') return { kind: 'image', mime: picked.mime, data: picked.data.replace(/\s+/g, ''), displayId };
    return { kind: 'display', mime: picked.mime, data: picked.data, displayId };
  };
  const sink = (msg: KernelMessage.IIOPubMessage): void => {
    const c = msg.content as Record<string, unknown>;
    const type = msg.header.msg_type;
    if (clearPending && type !== 'clear_output' && type !== 'status') {
      clearPending = false;
      collector.clearItems();
    }
    switch (type) {
      case 'execute_input':
        cell = typeof c['execution_count'] === 'number' ? c['execution_count'] : cell;
        break;
      case 'stream':
        onStream(c['name'] === 'stderr' ? 'stderr' : 'stdout', String(c['text'] ?? ''));
        break;
      case 'display_data':
      case 'execute_result': {
        const item = displayItem(c as never);
        if (item) {
          collector.onDisplay(item as never);
          opts.onDisplay?.(item);
        }
        break;
      }
      case 'update_display_data': {
        const item = displayItem(c as never);
        const id = (c['transient'] as { display_id?: string } | undefined)?.display_id;
        if (item && id && collector.updateDisplay(id, item as never)) opts.onDisplay?.(item);
        break;
      }
      case 'clear_output':
        if (c['wait']) clearPending = true;
        else collector.clearItems();
        break;
      case 'error':
        // An interrupt (ours, or the kernel's from Interrupt Kernel / the status bar) stops the
        // block: not a failure with a traceback and a diagnostic.
        if (c['ename'] === 'KeyboardInterrupt') {
          keyboardInterrupt = true;
          break;
        }
        event(tracebackEvent(String(c['ename'] ?? ''), String(c['evalue'] ?? ''), (c['traceback'] as string[] | undefined) ?? [], cell));
        break;
    }
  };
  let timedOut = false;
  let keyboardInterrupt = false;
  const timer = opts.timeoutMs
    ? setTimeout(() => {
        timedOut = interrupted = true;
        void kernel.interrupt();
      }, opts.timeoutMs)
    : undefined;
  const done = kernel.execute(combined.code, sink).then((r) => {
    clearTimeout(timer);
    for (const s of ['stdout', 'stderr'] as const) if (lines[s]) text(s, lines[s]);
    let status: RunResult['status'];
    if (r.status === 'ok') status = 'succeeded';
    else if ((interrupted || keyboardInterrupt) && (r.status === 'error' || r.status === 'aborted')) status = timedOut ? 'timedOut' : 'cancelled';
    else status = 'failed';
    if (r.status === 'dead') event({ type: 'error', message: `the kernel died${r.message ? `: ${r.message}` : ''} — restart it to run blocks again` });
    const result: RunResult = { status, exitCode: null, signal: null, durationMs: Date.now() - t0 };
    return { result, output: collector.finish(result) };
  });
  return {
    process: {
      async cancel() {
        interrupted = true;
        await kernel.interrupt();
        await done;
      },
      killNow: () => kernel.killNow(),
    },
    collector,
    done,
  };
}

/**
 * A Jupyter error as the runner's error event: the block's line is the innermost frame in this
 * cell (`Cell In [N], line L`, IPython 8), and those frames are written the way a process run's
 * are (`"<snippet>", line L`), so the collector maps them to note lines the same way.
 */
export function tracebackEvent(ename: string, evalue: string, traceback: readonly string[], cell: number | undefined): KernelEvent {
  const plain = traceback.map(stripAnsi).join('\n');
  const frame = /(?:Cell )?In ?\[(\d+)\], line (\d+)/g;
  let line: number | undefined;
  const stack = plain.replace(frame, (m, n: string, l: string) => {
    if (cell !== undefined && Number(n) !== cell) return m;
    line = Number(l);
    return `"<snippet>", line ${l}`;
  });
  // A SyntaxError has no frame in the cell: IPython prints `File "<cell>", line L` or `Cell In [N], line L` — caught above.
  return { type: 'error', errorType: ename, message: evalue ? `${ename}: ${evalue}` : ename, line, stack };
}
