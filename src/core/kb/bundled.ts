import { KnowledgeBase } from './knowledgeBase';
import type { KbFile } from './types';
// The data lives in kb/*.json (one object per API, reviewable in a diff); importing it lets
// esbuild bundle it into the extension and the CLI, and tests read the same files.
import tfExport from '../../../kb/tf-export.json';
import nnModules from '../../../kb/torch-nn-modules.json';
import nnFunctional from '../../../kb/torch-nn-functional.json';
import autograd from '../../../kb/torch-autograd.json';
import distributed from '../../../kb/torch-distributed.json';
import optim from '../../../kb/torch-optim.json';

export const KB_FILES: readonly KbFile[] = [tfExport, nnModules, nnFunctional, autograd, distributed, optim] as unknown as KbFile[];

let shared: KnowledgeBase | undefined;

/** The knowledge base shipped with the extension (built once per process). */
export function bundledKnowledgeBase(): KnowledgeBase {
  return (shared ??= new KnowledgeBase(KB_FILES));
}
