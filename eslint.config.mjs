// ESLint with typescript-eslint's recommended rules, part of `npm test`.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'dist-vsix/**', 'node_modules/**', '.vscode-test/**', 'test-results/**', 'media/**', 'kb/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // tsc already reports these (noUnusedLocals / noUnusedParameters), with the same `_` convention.
      '@typescript-eslint/no-unused-vars': 'off',
      // `import x = require()` is how markdown-it is imported for the CommonJS bundle.
      '@typescript-eslint/no-require-imports': ['error', { allowAsImport: true }],
      'no-control-regex': 'off',
    },
  },
  {
    // Deliberate run-time requires: a bundle loaded on first use; a module reloaded fresh by a test.
    files: ['src/extension/formulas/registerFormulas.ts', 'test/unit/mathRules.test.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // Playwright callbacks run in the page, where VS Code's DOM has no types.
    files: ['test/e2e/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', __dirname: 'readonly', require: 'readonly', module: 'writable', Buffer: 'readonly', URL: 'readonly', fetch: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
  },
);
