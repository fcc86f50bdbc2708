/**
 * The environment of a job's build and install commands, composed the way opam 2.1 composes it for a
 * switch (`OpamAction.compilation_env` over `OpamEnv.get_full ~set_opamroot ~set_opamswitch
 * ~force_path`), for the job's switch at its fixed path (switch-layout.ts):
 * 1. a clean base: the system PATH (never the invoking user's), HOME and TMPDIR of the sandbox, LANG,
 *    SHELL; nothing else of ecocheck's own environment leaks in;
 * 2. opam's sanitisation and build definitions (CDPATH, MAKEFLAGS, MAKELEVEL emptied;
 *    OPAM_PACKAGE_NAME, OPAM_PACKAGE_VERSION, OPAMCLI), then the package's `build-env`;
 * 3. OPAMROOT, OPAMSWITCH, OPAM_SWITCH_PREFIX, then the `setenv` of every package of the closure in
 *    build order, each expanded with its own variables (this is where CAML_LD_LIBRARY_PATH and
 *    OCAMLTOP_INCLUDE_PATH come from: the `ocaml` and compiler packages set them);
 * 4. the switch's own updates: PATH += <prefix>/bin, MANPATH =: <prefix>/man.
 * As in opam, a dependency's `setenv` is applied after the package's `build-env`.
 */
import type { VariableLookup } from '../opam/filter.js';
import { interpolate } from '../opam/interpolation.js';
import type { EnvUpdate } from '../opam/package-model.js';
import { applyEnvUpdate, type Environment } from './env-update.js';

export interface EnvironmentPackage {
  name: string;
  version: string;
  setenv: EnvUpdate[];
  /** Resolves the variables of this package (for its `setenv`). */
  lookup: VariableLookup;
}

export interface BuildEnvironmentInput {
  /** The package being built. */
  name: string;
  version: string;
  /** The switch prefix, as the commands see it. */
  prefix: string;
  /** The opam root and switch name, as the commands see them. */
  root: string;
  switchName: string;
  buildEnv: EnvUpdate[];
  lookup: VariableLookup;
  /** The build closure, dependencies first. */
  closure: EnvironmentPackage[];
  /** HOME for the commands. */
  home: string;
  /** TMPDIR for the commands. */
  tmpDir: string;
  /** PATH of the system tools, after the switch's bin (default: the usual system directories). */
  systemPath?: string;
}

/** The system directories of PATH in a build: those of a Debian root, nothing of the invoking user's. */
export const SYSTEM_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export function expandUpdates(updates: EnvUpdate[], lookup: VariableLookup): EnvUpdate[] {
  return updates.map((u) => ({ variable: u.variable, op: u.op, value: interpolate(u.value, lookup) }));
}

export function composeBuildEnvironment(input: BuildEnvironmentInput): Environment {
  const env: Environment = {
    PATH: input.systemPath ?? SYSTEM_PATH,
    HOME: input.home,
    TMPDIR: input.tmpDir,
    LANG: 'C.UTF-8',
    SHELL: '/bin/sh',
  };
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
  applyEnvUpdate(env, 'OPAMROOT', '=', input.root);
  applyEnvUpdate(env, 'OPAMSWITCH', '=', input.switchName);
  applyEnvUpdate(env, 'OPAM_SWITCH_PREFIX', '=', input.prefix);
  for (const p of input.closure) {
    for (const u of expandUpdates(p.setenv, p.lookup)) applyEnvUpdate(env, u.variable, u.op, u.value);
  }
  applyEnvUpdate(env, 'MANPATH', '=:', `${input.prefix}/man`);
  applyEnvUpdate(env, 'PATH', '+=', `${input.prefix}/bin`);
  return env;
}
