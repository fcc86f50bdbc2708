/**
 * The shell fixture ecosystem (fixtures/ecosystem: a fake compiler at 1.0 and 2.0 and packages built
 * with sh and make only) instantiated for a test or a benchmark: copied into a fresh temp directory with the
 * `@ECOSYSTEM@` placeholder of its `file://` source addresses replaced by the copy's absolute path,
 * so the local tarball sources resolve. The fixture folder itself is never written.
 */
import { copyFixtureRepository, type FixtureCopy } from './fixture-copy.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from './project-root.js';
import { findPackage, loadRepositories, type RepositoryLoad } from '../src/opam/repository.js';
import type { OpamPackage } from '../src/opam/package-model.js';

export const ecosystemFixture = join(projectRoot, 'fixtures', 'ecosystem');

export const ECOSYSTEM_PLACEHOLDER = '@ECOSYSTEM@';

export type EcosystemCopy = FixtureCopy;


/** A fresh instantiated copy of the fixture ecosystem (under `parent`, default the temp dir). */
export function instantiateEcosystem(parent: string = tmpdir()): EcosystemCopy {
  return copyFixtureRepository(ecosystemFixture, 'ecocheck-ecosystem-', (root) => ({ [ECOSYSTEM_PLACEHOLDER]: root }), parent);
}

const loads = new Map<string, RepositoryLoad>();

/** The repository loader's view of an ecosystem copy (loaded once per copy). */
export function loadEcosystem(root: string): RepositoryLoad {
  let load = loads.get(root);
  if (!load) {
    load = loadRepositories([root]);
    loads.set(root, load);
  }
  return load;
}

/**
 * One package (`NAME.VERSION`) of an ecosystem copy, as the repository loader reads it: a private
 * copy, so a test may alter it to make a variant.
 */
export function readEcosystemPackage(root: string, id: string): OpamPackage {
  const dot = id.indexOf('.');
  const pkg = findPackage(loadEcosystem(root), id.slice(0, dot), id.slice(dot + 1));
  if (!pkg || pkg.version !== id.slice(dot + 1)) throw new Error(`${id}: not in the fixture ecosystem at ${root}`);
  return structuredClone(pkg);
}
