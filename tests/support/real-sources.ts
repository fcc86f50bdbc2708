/**
 * Real opam packages with their real sources, for the tests that build them: Debian's upstream
 * tarballs of a few source packages (scripts/fetch-debian-sources.sh, once per machine, into
 * ~/.cache/ecocheck-debian-sources or $ECOCHECK_DEBIAN_SOURCES), imported into a test's download cache
 * with `ecocheck cache import`, and a repository made of the snapshot and the archive of
 * opam-repository where the only versions kept are those the tarballs serve and those without a url
 * (virtual and conf-* packages), the way ../shared/realworld/make-debian-corpus makes its corpus.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { loadRepositories } from '../../src/opam/repository.js';
import { projectRoot } from './snapshot.js';
import { sharedDebianSources } from './test-state.js';

/** Shared by the machine's checkouts: see tests/support/test-state.ts. */
export const debianSourcesDir = sharedDebianSources;

/** Downloads the suite's upstream tarballs of `packages` (once); the error text when that fails. */
export function fetchDebianSources(suite: string, packages: string[]): string | null {
  const r = spawnSync('bash', [join(projectRoot, 'scripts', 'fetch-debian-sources.sh'), debianSourcesDir, suite, ...packages], {
    encoding: 'utf8',
  });
  return r.status === 0 ? null : (r.stderr || r.stdout || `exit ${r.status}`).trim();
}

/** `ecocheck cache import` of a suite's tarballs into `cacheDir`: the package versions they serve. */
export function importSources(suite: string, cacheDir: string, repos: string[]): Set<string> {
  const r = spawnSync(
    process.execPath,
    [
      join(projectRoot, 'bin', 'ecocheck'),
      'cache',
      'import',
      join(debianSourcesDir, suite),
      '--cache-dir',
      cacheDir,
      '--json',
      ...repos.flatMap((x) => ['--repo', x]),
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`cache import failed: ${r.stderr}`);
  const served = new Set<string>();
  for (const f of (JSON.parse(r.stdout) as { files: { serves: string[] }[] }).files) {
    for (const s of f.serves) if (!s.includes(' ')) served.add(s); // a url, not an extra-source
  }
  return served;
}

/** Writes under `dest` a repository of `repos` (the first wins) keeping the served and url-less versions. */
export function servedRepository(dest: string, repos: string[], served: Set<string>): string {
  const load = loadRepositories(repos);
  mkdirSync(join(dest, 'packages'), { recursive: true });
  writeFileSync(join(dest, 'repo'), 'opam-version: "2.0"\n');
  for (const versions of load.packages.values()) {
    for (const pkg of versions) {
      const id = `${pkg.name}.${pkg.version}`;
      if (pkg.url !== null && !served.has(id)) continue;
      cpSync(dirname(pkg.file), join(dest, 'packages', pkg.name, id), { recursive: true });
    }
  }
  return dest;
}
