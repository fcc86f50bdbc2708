/**
 * The environment of a job's build and install commands, composed the way opam composes it for a
 * switch (`OpamAction.compilation_env` over `OpamEnv.get_full`), with the switch replaced by the
 * job's own prefix plus the prefixes of its whole build closure:
 * 1. a clean base (system PATH, HOME and TMPDIR inside the job's scratch space, LANG);
 * 2. opam's sanitisation and build definitions (CDPATH, MAKEFLAGS, MAKELEVEL emptied;
 *    OPAM_PACKAGE_NAME, OPAM_PACKAGE_VERSION, OPAMCLI), then the package's `build-env`;
 * 3. OPAM_SWITCH_PREFIX, then the `setenv` of every closure package in build order, each expanded
 *    with its own variables (its own prefix);
 * 4. the prefixes: MANPATH (appended), PATH, OCAMLPATH, CAML_LD_LIBRARY_PATH, OCAMLTOP_INCLUDE_PATH,
 *    PKG_CONFIG_PATH (prepended, so the job's own prefix comes first, then its closure from the most
 *    dependent package to the least); OCAMLFIND_DESTDIR = the job's own lib, OCAMLFIND_LDCONF=ignore
 *    (ld.conf lives in the compiler's immutable prefix).
 * As in opam, a dependency's `setenv` is applied after the package's `build-env`.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { VariableLookup } from '../opam/filter.js';
import { interpolate } from '../opam/interpolation.js';
import type { EnvUpdate } from '../opam/package-model.js';
import { applyEnvUpdate, type Environment } from './env-update.js';

export interface EnvironmentPackage {
  name: string;
  version: string;
  prefix: string;
  setenv: EnvUpdate[];
  /** Resolves the variables of this package (for its `setenv`). */
  lookup: VariableLookup;
}

export interface BuildEnvironmentInput {
  /** The package being built. */
  name: string;
  version: string;
  prefix: string;
  buildEnv: EnvUpdate[];
  lookup: VariableLookup;
  /** The build closure, dependencies first. */
  closure: EnvironmentPackage[];
  /** HOME for the commands (a scratch directory of the job). */
  home: string;
  /** TMPDIR for the commands. */
  tmpDir: string;
  /** PATH of the system tools, appended last (default: this process's PATH or the usual dirs). */
  systemPath?: string;
}

const DEFAULT_SYSTEM_PATH = '/usr/local/bin:/usr/bin:/bin';

function baseEnvironment(input: BuildEnvironmentInput): Environment {
  const env: Environment = {
    PATH: input.systemPath ?? process.env.PATH ?? DEFAULT_SYSTEM_PATH,
    HOME: input.home,
    TMPDIR: input.tmpDir,
    LANG: 'C.UTF-8',
    SHELL: '/bin/sh',
  };
  for (const v of ['USER', 'LOGNAME']) {
    const value = process.env[v];
    if (value !== undefined) env[v] = value;
  }
  return env;
}

export function expandUpdates(updates: EnvUpdate[], lookup: VariableLookup): EnvUpdate[] {
  return updates.map((u) => ({ variable: u.variable, op: u.op, value: interpolate(u.value, lookup) }));
}

function prependDirs(env: Environment, variable: string, dirs: string[]): void {
  for (const d of dirs) applyEnvUpdate(env, variable, '+=', d);
}

export function composeBuildEnvironment(input: BuildEnvironmentInput): Environment {
  const env = baseEnvironment(input);
  for (const [variable, value] of [
    ['CDPATH', ''],
    ['MAKEFLAGS', ''],
    ['MAKELEVEL', ''],
    ['OPAM_PACKAGE_NAME', input.name],
    ['OPAM_PACKAGE_VERSION', input.version],
    ['OPAMCLI', '2.0'],
  ] as const) {
    applyEnvUpdate(env, variable, '=', value);
  }
  for (const u of expandUpdates(input.buildEnv, input.lookup)) applyEnvUpdate(env, u.variable, u.op, u.value);
  applyEnvUpdate(env, 'OPAM_SWITCH_PREFIX', '=', input.prefix);
  for (const p of input.closure) {
    for (const u of expandUpdates(p.setenv, p.lookup)) applyEnvUpdate(env, u.variable, u.op, u.value);
  }
  // Prefixes from the least dependent to the job itself: each prepended, so the job's comes first.
  const closureDirs = (sub: string) => input.closure.map((p) => join(p.prefix, sub)).filter((d) => existsSync(d));
  const withOwn = (sub: string) => [...closureDirs(sub), join(input.prefix, sub)];
  for (const d of withOwn('man')) applyEnvUpdate(env, 'MANPATH', '=:', d);
  prependDirs(env, 'PATH', withOwn('bin'));
  prependDirs(env, 'OCAMLPATH', withOwn('lib'));
  prependDirs(env, 'CAML_LD_LIBRARY_PATH', withOwn(join('lib', 'stublibs')));
  prependDirs(env, 'OCAMLTOP_INCLUDE_PATH', withOwn(join('lib', 'toplevel')));
  prependDirs(env, 'PKG_CONFIG_PATH', withOwn(join('lib', 'pkgconfig')));
  applyEnvUpdate(env, 'OCAMLFIND_DESTDIR', '=', join(input.prefix, 'lib'));
  applyEnvUpdate(env, 'OCAMLFIND_LDCONF', '=', 'ignore');
  return env;
}
