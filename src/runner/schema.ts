/**
 * Schemas for everything the runner reads from outside its own memory: events a kernel prints
 * (the snippet controls that process, so it can print anything) and outputs stored in the
 * workspace (a cloned repository can plant them). Data that does not match is dropped; what
 * passes is plain data for the one escaping renderer in outputs.ts.
 */
import { z } from 'zod';
import type { KernelEvent } from './protocol';
import type { SnippetOutput } from './outputs';

/** A number as it travels: JSON numbers, or the strings wireReplacer writes for NaN and ±Infinity. */
const wireNumber = z
  .union([z.number(), z.enum(['NaN', 'Infinity', '-Infinity']), z.null()])
  .transform((v) => (typeof v === 'number' ? v : v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : NaN));
const finite = z.number().finite();
const text = (max: number) => z.string().max(max);
const optText = (max: number) => text(max).nullish().transform((v) => v ?? undefined);
const point = z.tuple([wireNumber, wireNumber]);
const points = z.array(point).max(100_000);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const MAX_IMAGE = 20_000_000;

const plotSpec = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('line'),
    title: optText(500),
    x: optText(200),
    y: optText(200),
    series: z.record(text(200), points),
    logY: z.boolean().nullish().transform((v) => v ?? undefined),
  }),
  z.object({ kind: z.literal('scatter'), title: optText(500), groups: z.record(text(200), points) }),
  z.object({
    kind: z.literal('histogram'),
    title: optText(500),
    values: z.array(wireNumber).max(100_000),
    bins: finite.int().min(1).max(1000).nullish().transform((v) => v ?? undefined),
  }),
]);

const cell = z.union([z.string().max(10_000), wireNumber]);
const columns = z.array(text(1000)).max(200);
const rows = z.array(z.array(cell).max(200)).max(500);
const imageMime = z.enum(['image/png', 'image/svg+xml']);
const storedImageMime = z.enum(['image/png', 'image/jpeg', 'image/svg+xml']);
const displayMime = z.enum(['text/html', 'text/markdown', 'text/latex', 'text/plain', 'image/svg+xml', 'application/vnd.vegalite.v5+json', 'application/vnd.vegalite.v4+json']);
const displayId = z.string().max(200).optional();
const imageData = z.string().max(MAX_IMAGE).regex(BASE64);

export const kernelEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('backend'), backend: text(200), device: text(500), detail: optText(5000), notes: z.array(text(5000)).max(50).optional() }),
  z.object({ type: z.literal('metric'), name: text(200), value: wireNumber, step: wireNumber.optional() }),
  z.object({ type: z.literal('progress'), fraction: wireNumber.optional(), message: optText(1000) }),
  z.object({ type: z.literal('plot'), spec: plotSpec }),
  z.object({ type: z.literal('table'), title: optText(500), columns, rows }),
  z.object({ type: z.literal('image'), mime: imageMime, data: imageData, title: optText(500) }),
  z.object({ type: z.literal('error'), message: text(100_000), stack: optText(200_000), line: finite.int().nullish().transform((v) => v ?? undefined), errorType: optText(200) }),
]);

/** Parses one event line; undefined (with the reason) when it is not a valid event. */
export function parseKernelEvent(json: string): { event: KernelEvent } | { error: string } {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    return { error: `not JSON: ${(e as Error).message}` };
  }
  const r = kernelEventSchema.safeParse(raw);
  return r.success ? { event: r.data as KernelEvent } : { error: describe(r.error) };
}

const runStatus = z.enum(['queued', 'running', 'succeeded', 'failed', 'cancelled', 'timedOut']);
/** Drawn charts are kept only as SVG documents (shown through `<img>`, which runs no script). */
const svg = z.string().max(5_000_000).refine((s) => s.startsWith('<svg'), 'not an SVG document');

const outputItem = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('text'), stream: z.enum(['stdout', 'stderr']), text: text(1_000_000) }),
  z.object({ kind: z.literal('plot'), spec: plotSpec, svg: svg.optional() }),
  z.object({ kind: z.literal('table'), title: optText(500), columns, rows }),
  z.object({ kind: z.literal('image'), mime: storedImageMime, data: imageData.optional(), file: z.string().regex(/^[\w-]{1,80}\.(png|svg|jpg)$/).optional(), title: optText(500), displayId }),
  z.object({ kind: z.literal('display'), mime: displayMime, data: text(5_000_000), displayId, svg: svg.optional() }),
  z.object({ kind: z.literal('error'), message: text(100_000), line: finite.int().optional(), stack: optText(200_000) }),
]);

export const snippetOutputSchema = z.object({
  key: text(500),
  domKey: text(500),
  lang: text(100),
  index: finite.int().min(0).optional(),
  status: runStatus,
  startedAt: finite,
  durationMs: finite.optional(),
  backend: optText(200),
  device: optText(500),
  exitCode: finite.int().nullable().optional(),
  progress: z.object({ fraction: wireNumber.optional(), message: optText(1000) }).optional(),
  items: z.array(outputItem).max(10_000),
  metrics: z.record(text(200), z.array(point).max(1_000_000)),
  metricSvgs: z.array(svg).max(100).optional(),
});

/** Validates one stored output; undefined (with the reason) when it does not match. */
export function parseStoredOutput(raw: unknown): { output: SnippetOutput } | { error: string } {
  const r = snippetOutputSchema.safeParse(raw);
  return r.success ? { output: r.data as SnippetOutput } : { error: describe(r.error) };
}

function describe(e: z.ZodError): string {
  const i = e.issues[0];
  return i ? `${i.path.join('.') || '(root)'}: ${i.message}` : 'invalid';
}
