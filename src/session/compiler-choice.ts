/**
 * Compiler names a user types: `baseline`, `next`, `system`, or any name of the project config,
 * resolved to a compiler spec the solver understands (a version, `NAME.VERSION`, or a formula).
 */
import { execFileSync } from 'node:child_process';
import type { OpamPackage } from '../opam/package-model.js';
import { compareVersions } from '../opam/version.js';
import { isAvoidVersion } from '../opam/package-model.js';
import { SessionError } from './session-error.js';
import { addLocalCompiler, localTreePath } from './local-compiler-tree.js';

export interface CompilerResolution {
  /** What the user typed. */
  name: string;
  /** The spec handed to the solver. */
  spec: string;
  /** Where the spec came from, for `ecocheck compilers`. */
  origin: string;
  /** For a local compiler source tree: its absolute path (the spec names the package built from it). */
  sourceTree?: string;
}

type PackagesByName = { packages: Map<string, OpamPackage[]> };

function isPreRelease(version: string): boolean {
  return version.includes('~') || /\+trunk\b/.test(version);
}

/** Never a default compiler: avoid-version, or deprecated (opam 2.1 ignores that flag; a user would not). */
function isNeverDefault(p: OpamPackage): boolean {
  return isAvoidVersion(p) || p.flags.includes('deprecated');
}

/** The newest stable `ocaml-base-compiler` (no `~` pre-release, not avoid-version or deprecated). */
export function defaultBaseline(load: PackagesByName): OpamPackage | null {
  const versions = load.packages.get('ocaml-base-compiler') ?? [];
  const stable = versions.filter((p) => !isPreRelease(p.version) && !isNeverDefault(p));
  return stable.length > 0 ? stable.reduce((a, b) => (compareVersions(a.version, b.version) >= 0 ? a : b)) : null;
}

/** The newest pre-release or trunk compiler (`ocaml-base-compiler` or `ocaml-variants`), newer than the baseline. */
export function defaultNext(load: PackagesByName): OpamPackage | null {
  const baseline = defaultBaseline(load);
  const candidates = ['ocaml-base-compiler', 'ocaml-variants']
    .flatMap((name) => load.packages.get(name) ?? [])
    .filter((p) => isPreRelease(p.version) && p.flags.includes('compiler'))
    .filter((p) => baseline === null || compareVersions(p.version, baseline.version) > 0);
  if (candidates.length === 0) return null;
  // Newest version first; between equal versions prefer the plain compiler over a variant.
  return candidates.reduce((a, b) => {
    const c = compareVersions(a.version, b.version);
    if (c !== 0) return c > 0 ? a : b;
    return a.name === 'ocaml-base-compiler' ? a : b;
  });
}

/** `ocamlc -version` of the OCaml on PATH, or null when there is none. */
export function systemOcamlVersion(): string | null {
  try {
    return execFileSync('ocamlc', ['-version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

export function resolveCompilerName(name: string, configured: Record<string, string>, load: PackagesByName): CompilerResolution {
  const fromConfig = configured[name];
  if (fromConfig !== undefined) return { name, spec: fromConfig, origin: 'ecocheck.json' };
  if (name === 'system') {
    const version = systemOcamlVersion();
    if (version === null)
      throw new SessionError('no `ocamlc` on PATH (install OCaml, e.g. `apt-get install ocaml-nox`)', 'environment', {
        setting: 'compiler',
        value: 'system',
      });
    return { name, spec: `ocaml-system.${version}`, origin: `ocamlc -version on PATH` };
  }
  if (name === 'baseline') {
    const p = defaultBaseline(load);
    if (p === null)
      throw new SessionError('the repository has no stable ocaml-base-compiler; name one in ecocheck.json', 'input', {
        setting: 'compiler',
        value: 'baseline',
      });
    return { name, spec: `${p.name}.${p.version}`, origin: 'newest stable ocaml-base-compiler' };
  }
  if (name === 'next') {
    const p = defaultNext(load);
    if (p === null)
      throw new SessionError(
        'the repository has no pre-release or trunk compiler newer than the baseline; name one in ecocheck.json',
        'input',
        { setting: 'compiler', value: 'next' },
      );
    return { name, spec: `${p.name}.${p.version}`, origin: 'newest pre-release or trunk compiler' };
  }
  return { name, spec: name, origin: 'as given' };
}

/**
 * A compiler name resolved to a spec; a local source tree (typed, or named in ecocheck.json) becomes the
 * compiler package built from it, added to `load`.
 */
export function resolveCompiler(name: string, configured: Record<string, string>, load: PackagesByName): CompilerResolution {
  const named = resolveCompilerName(name, configured, load);
  const tree = localTreePath(named.spec);
  if (tree === null) return named;
  const local = addLocalCompiler(load.packages, tree);
  return { name: named.name, spec: local.spec, origin: local.origin, sourceTree: tree };
}
