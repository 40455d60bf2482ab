// The markdown-it plugins below ship JavaScript only (CommonJS `module.exports = plugin`).
declare module 'markdown-it-footnote' {
  import MarkdownIt = require('markdown-it');
  const plugin: (md: MarkdownIt.MarkdownIt) => void;
  export = plugin;
}
declare module 'markdown-it-task-lists' {
  import MarkdownIt = require('markdown-it');
  const plugin: (md: MarkdownIt.MarkdownIt, options?: { enabled?: boolean; label?: boolean; labelAfter?: boolean }) => void;
  export = plugin;
}
declare module 'markdown-it-mark' {
  import MarkdownIt = require('markdown-it');
  const plugin: (md: MarkdownIt.MarkdownIt) => void;
  export = plugin;
}
