// ESLint for src/, tests/, bench/ and scripts/: the recommended rules of ESLint and typescript-eslint, on the syntax
// alone (no type information: fast enough to run on every CI run). Its plugins come from the tools/lint workspace,
// where typescript-eslint parses with its own TypeScript 5 (the project compiles with TypeScript 7, which has no
// JavaScript API: tools/lint/package.json). Formatting is prettier's (.prettierrc.json), not the linter's.
import { globals, js, tseslint } from 'ecocheck-lint';

export default tseslint.config(
  { ignores: ['dist/', '**/node_modules/', 'fixtures/', '.test-state/', '.ecocheck/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // A `_` name is deliberately unused: a field left out of a rest, an argument an interface requires.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Terminal escapes and other control characters are what the log and report code looks for on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests hand the code values of the wrong type on purpose (hostile input, a damaged record).
    files: ['tests/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
