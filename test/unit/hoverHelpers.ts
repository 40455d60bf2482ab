import { HoverEngine, type HoverHit } from '../../src/core/hover/hoverEngine';
import { PythonParser } from '../../src/core/hover/pythonParser';
import { wasmFromNodeModules } from '../../src/core/hover/wasmPaths';
import { bundledKnowledgeBase } from '../../src/core/kb/bundled';

export const kb = bundledKnowledgeBase();
let parser: Promise<PythonParser> | undefined;
export const loadParser = (): Promise<PythonParser> => (parser ??= PythonParser.load(wasmFromNodeModules()));

let version = 0;
/**
 * Hovers at the `|` marker of `src` (the marker is removed); `kind` picks .py or note rules.
 */
export async function hoverAtMarker(src: string, kind: 'python' | 'markdown' = 'python'): Promise<HoverHit | undefined> {
  const at = src.indexOf('|');
  if (at < 0) throw new Error('no | marker');
  const text = src.slice(0, at) + src.slice(at + 1);
  const before = text.slice(0, at).split('\n');
  const engine = new HoverEngine(await loadParser(), kb);
  try {
    return engine.hoverAt({ key: 'doc', version: ++version, text, kind }, before.length - 1, before[before.length - 1]!.length);
  } finally {
    engine.dispose();
  }
}

/** The entry name hovered at the marker, or undefined. */
export async function nameAt(src: string, kind: 'python' | 'markdown' = 'python'): Promise<string | undefined> {
  return (await hoverAtMarker(src, kind))?.api.name;
}
