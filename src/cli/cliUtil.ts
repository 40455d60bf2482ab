import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AssetSource } from '../core/export/standaloneHtml';

/** One `ml-notes` subcommand. `run` resolves to the process exit code. */
export interface CliCommand {
  readonly name: string;
  /** Usage lines, starting with the command line itself. */
  readonly usage: string;
  run(args: readonly string[]): Promise<number>;
}

/** The built assets next to dist/cli.js. */
export function distAssets(): AssetSource {
  const media = join(__dirname, 'media');
  return {
    readText: (p) => readFileSync(join(media, p), 'utf8'),
    readBinary: (p) => readFileSync(join(media, p)),
  };
}

/** Prints `ml-notes: message` on stderr and returns exit code 2 (usage or I/O problem). */
export function fail(message: string): number {
  process.stderr.write(`ml-notes: ${message}\n`);
  return 2;
}
