/**
 * The project's root folder (the one holding package.json), found from this module's own place:
 * support/ when run by a TypeScript loader, dist/support/ once compiled. Tests and benchmarks name
 * fixtures, bin/ecocheck and the data beside the project from it, so they run from any checkout.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = (() => {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = resolve(dir, '..');
  return dir;
})();
