// The linter's parts, imported from here so that they resolve in this folder's node_modules, where
// typescript-eslint finds its TypeScript 5 (see package.json); ../../eslint.config.js uses them.
export { default as js } from '@eslint/js';
export { default as tseslint } from 'typescript-eslint';
export { default as globals } from 'globals';
