import type { Language as LanguageT, Parser as ParserT, Tree } from 'web-tree-sitter';

// require, not import: bundlers then pick the package's CommonJS build, whose loader works
// in a cjs bundle (the ESM build reads import.meta.url, which a cjs bundle does not have).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Language, Parser } = require('web-tree-sitter') as typeof import('web-tree-sitter');
type Language = LanguageT;
type Parser = ParserT;

/**
 * Where the two WebAssembly files live. The extension passes paths inside its dist/wasm, the
 * CLI those next to dist/cli.js, tests the ones in node_modules: the core never guesses.
 */
export interface ParserWasm {
  /** web-tree-sitter's runtime, `tree-sitter.wasm`. */
  treeSitterWasm: string;
  /** The Python grammar, `tree-sitter-python.wasm`. */
  pythonWasm: string;
}

// WARNING: Parser.init() sets up one Emscripten module per process; a second call with other
// paths would be ignored, so the first caller's paths win for everyone.
let runtime: Promise<void> | undefined;
const languages = new Map<string, Promise<Language>>();

/** A tree-sitter parser for Python. Trees it returns must be `delete()`d by their owner. */
export class PythonParser {
  private constructor(private readonly parser: Parser) {}

  static async load(wasm: ParserWasm): Promise<PythonParser> {
    runtime ??= Parser.init({ locateFile: () => wasm.treeSitterWasm });
    try {
      await runtime;
    } catch (e) {
      runtime = undefined;
      throw e;
    }
    let lang = languages.get(wasm.pythonWasm);
    if (!lang) {
      lang = Language.load(wasm.pythonWasm);
      languages.set(wasm.pythonWasm, lang);
      lang.catch(() => languages.delete(wasm.pythonWasm));
    }
    const parser = new Parser();
    parser.setLanguage(await lang);
    return new PythonParser(parser);
  }

  parse(text: string): Tree {
    const tree = this.parser.parse(text);
    if (!tree) throw new Error('tree-sitter returned no tree');
    return tree;
  }

  dispose(): void {
    this.parser.delete();
  }
}
