import * as vscode from 'vscode';
import { pathToFileURL } from 'node:url';
import type { PlotSpec } from '../../runner/protocol';

type PlotModule = { renderPlot(spec: PlotSpec): Promise<string> };

/** esbuild would turn `import()` into `require()` in a CommonJS bundle; Vega needs a real ESM import. */
const dynamicImport = new Function('specifier', 'return import(specifier)') as (s: string) => Promise<PlotModule>;

/** Loads the Vega-Lite plotter (dist/kernels/plot.mjs) on first use. */
export function createPlotter(extensionUri: vscode.Uri): (spec: PlotSpec) => Promise<string> {
  let mod: Promise<PlotModule> | undefined;
  return async (spec) => {
    mod ??= dynamicImport(pathToFileURL(vscode.Uri.joinPath(extensionUri, 'dist', 'kernels', 'plot.mjs').fsPath).href);
    return (await mod).renderPlot(spec);
  };
}
