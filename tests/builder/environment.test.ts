/**
 * The build environment: opam's env-update operators (expected values checked against opam 2.1.2,
 * see the test names), the composition order (build-env, then the closure's setenv, then the
 * prefixes), and the opam variables a job sees.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { applyEnvUpdate, type Environment } from '../../src/builder/env-update.js';
import { composeBuildEnvironment } from '../../src/builder/build-environment.js';
import { packageVariableLookup, stdPath, type VariablePackage, type VariableScope } from '../../src/builder/package-variables.js';
import { expandCommands } from '../../src/builder/command-expansion.js';
import { interpolate } from '../../src/opam/interpolation.js';
import { evalFilterToBool } from '../../src/opam/filter.js';
import type { EnvUpdateOp } from '../../src/opam/ast.js';
import type { OpamPackage } from '../../src/opam/package-model.js';
import { parseOpamFile } from '../../src/opam/parser.js';
import { packageFromAst } from '../../src/opam/package-from-ast.js';

test('env-update operators, as opam 2.1.2 applies them (oracle run: setenv of an installed package)', () => {
  // [initial value or undefined, op, argument, expected]
  const cases: [string | undefined, EnvUpdateOp, string, string][] = [
    ['', '+=', 'a', 'a'],
    ['', '=+', 'a', 'a'],
    ['', ':=', 'a', 'a:'],
    ['', '=:', 'a', ':a'],
    [undefined, ':=', 'a', 'a:'],
    [undefined, '=:', 'a', ':a'],
    ['x', '+=', 'a', 'a:x'],
    ['x', ':=', 'a', 'a:x'],
    ['x', '=+', 'a', 'x:a'],
    ['x', '=:', 'a', 'x:a'],
    ['p:q', '=+=', 'z', 'z:p:q'],
    ['x', '=', 'a:b', 'a:b'],
    ['x', '=', '', ''],
  ];
  for (const [initial, op, arg, expected] of cases) {
    const env: Environment = initial === undefined ? {} : { V: initial };
    applyEnvUpdate(env, 'V', op, arg);
    assert.equal(env.V, expected, `${JSON.stringify(initial)} ${op} ${arg}`);
  }
  const env: Environment = {};
  applyEnvUpdate(env, 'V', '=', 'a:b');
  applyEnvUpdate(env, 'V', '+=', 'c');
  assert.equal(env.V, 'c:a:b');
  applyEnvUpdate(env, 'V', '+=', '');
  assert.equal(env.V, 'c:a:b', 'an empty argument is ignored except by =');
});

function pkg(text: string, name: string, version = '1.0'): OpamPackage {
  return packageFromAst(parseOpamFile(text, `${name}.opam`), {
    name,
    version,
    file: `/repo/packages/${name}/${name}.${version}/opam`,
    repository: '/repo',
    filesDir: null,
    contentHash: name,
  });
}

function installed(p: OpamPackage, prefix: string, config: Record<string, string | boolean> = {}): VariablePackage {
  return {
    pkg: p,
    key: `key-${p.name}`,
    prefix,
    dependencyIds: [],
    config: new Map(Object.entries(config)),
    installed: true,
    buildDir: null,
  };
}

const compiler = pkg(
  'opam-version: "2.0"\nsetenv: [[SHARED = "compiler"] [CAML_LD_LIBRARY_PATH = "%{lib}%/stublibs"]]\n',
  'ocaml-base-compiler',
  '2.0',
);
const ocaml = pkg(
  'opam-version: "2.0"\nsetenv: [[OCAMLTOP_INCLUDE_PATH += "%{toplevel}%"] [FROM_CONFIG = "%{_:native}%-%{ocaml-base-compiler:version}%"]]\n',
  'ocaml',
  '2.0',
);
const self = pkg(
  'opam-version: "2.0"\nbuild-env: [[SHARED = "build-env"] [OWN = "%{name}%-%{version}%"]]\nurl { src: "https://x/y.tgz" checksum: ["md5=00000000000000000000000000000000" "sha256=' +
    'ab'.repeat(32) +
    '"] }\n',
  'target',
);

function scope(root: string): VariableScope {
  const obc = installed(compiler, join(root, 'obc'));
  const oc = installed(ocaml, join(root, 'ocaml'), { native: true });
  return {
    self: {
      pkg: self,
      key: 'key-target',
      prefix: join(root, 'own'),
      dependencyIds: ['ocaml.2.0'],
      config: new Map(),
      installed: false,
      buildDir: join(root, 'build'),
    },
    installed: new Map([
      ['ocaml-base-compiler', obc],
      ['ocaml', oc],
    ]),
    makeJobs: 3,
    platformVariables: { os: 'linux', arch: 'arm64' },
    root: join(root, 'store'),
    switchName: 'ecocheck',
  };
}

test('variables: global paths of the own prefix, package paths of each prefix, config, absent packages', () => {
  const s = scope('/R');
  const v = packageVariableLookup(s);
  assert.equal(v(null, 'prefix'), '/R/own');
  assert.equal(v(null, 'lib'), '/R/own/lib');
  assert.equal(v(null, 'stublibs'), '/R/own/lib/stublibs');
  assert.equal(v(null, 'toplevel'), '/R/own/lib/toplevel');
  assert.equal(v(null, 'doc'), '/R/own/doc');
  assert.equal(v(null, 'name'), 'target');
  assert.equal(v(null, 'version'), '1.0');
  assert.equal(v(null, 'build'), '/R/build');
  assert.equal(v(null, 'jobs'), '3');
  assert.equal(v(null, 'make'), 'make');
  assert.equal(v(null, 'os'), 'linux');
  assert.equal(v(null, 'arch'), 'arm64');
  assert.equal(v(null, 'opam-version'), '2.1.2');
  assert.equal(v(null, 'with-test'), false);
  assert.equal(v(null, 'with-doc'), false);
  assert.equal(v(null, 'dev'), false);
  assert.equal(v(null, 'installed'), false, 'the package being built is not installed yet');
  assert.equal(v(null, 'post'), undefined, 'opam leaves post undefined outside dependency formulas');
  assert.equal(v(null, 'no-such-variable'), undefined);
  assert.equal(v(['_'], 'lib'), '/R/own/lib/target');
  assert.equal(v(['_'], 'share'), '/R/own/share/target');
  assert.equal(v(['_'], 'hash'), `sha256=${'ab'.repeat(32)}`, 'the strongest checksum');
  assert.equal(v(['_'], 'build-id'), 'key-target');
  assert.equal(v(['_'], 'depends'), 'ocaml.2.0');
  assert.equal(v(['ocaml-base-compiler'], 'lib'), '/R/obc/lib/ocaml-base-compiler');
  assert.equal(v(['ocaml-base-compiler'], 'bin'), '/R/obc/bin');
  assert.equal(v(['ocaml-base-compiler'], 'version'), '2.0');
  assert.equal(v(['ocaml-base-compiler'], 'installed'), true);
  assert.equal(v(['ocaml'], 'native'), true, 'from ocaml.config');
  assert.equal(v(['absent'], 'installed'), false);
  assert.equal(v(['absent'], 'lib'), undefined);
  assert.equal(
    interpolate('%{ocaml:enable}% %{absent:enable}% %{ocaml+ocaml-base-compiler:installed}% %{absent:installed?yes:no}%', v),
    'enable disable true no',
  );
  assert.equal(stdPath('/p', 'man'), '/p/man');
});

test('commands: filters on commands and arguments (undefined = false), identifiers, interpolation', () => {
  const v = packageVariableLookup(scope('/R'));
  const p = pkg(
    `opam-version: "2.0"
build: [
  ["./configure" "--prefix=%{prefix}%" "--native" {ocaml:native} "--absent" {absent:installed} "--undef" {undefined-var} "--not-undef" {!undefined-var}]
  [make "-j%{jobs}%" "%{undefined-var}%"]
  ["never"] {os = "macos"}
  ["never-undefined"] {undefined-var}
  ["only-filtered-args" {false}] 
  ["linux-only"] {os = "linux"}
]`,
    'cmds',
  );
  assert.deepEqual(expandCommands(p.build, v), [['./configure', '--prefix=/R/own', '--native'], ['make', '-j3', ''], ['linux-only']]);
  assert.equal(evalFilterToBool({ kind: 'ident', packages: null, variable: 'undefined-var' }, v, false), false);
});

test('composition: build-env first, then setenv of the closure in build order (each with its own variables), then the switch', () => {
  // One switch: every package of the closure is installed in the job's own prefix, as in opam.
  const s = scope('/sw');
  for (const p of s.installed.values()) p.prefix = '/sw/own';
  const closure = [...s.installed.values()].map((p) => ({
    name: p.pkg.name,
    version: p.pkg.version,
    setenv: p.pkg.setenv,
    lookup: packageVariableLookup({ ...s, self: p }),
  }));
  const env = composeBuildEnvironment({
    name: 'target',
    version: '1.0',
    prefix: '/sw/own',
    root: '/sw',
    switchName: 'own',
    buildEnv: self.buildEnv,
    lookup: packageVariableLookup(s),
    closure,
    home: '/home/opam',
    tmpDir: '/tmp',
    systemPath: '/usr/bin:/bin',
  });
  assert.equal(env.SHARED, 'compiler', "as in opam 2.1.2, a dependency's setenv overrides the package's build-env");
  assert.equal(env.OWN, 'target-1.0');
  assert.equal(env.FROM_CONFIG, 'true-2.0');
  assert.equal(
    env.PATH,
    ['/sw/own/bin', '/usr/bin', '/bin'].join(':'),
    "the switch's bin, then the system's: nothing of the invoking user's PATH",
  );
  assert.equal(env.CAML_LD_LIBRARY_PATH, '/sw/own/lib/stublibs', "the compiler's setenv, as opam applies it");
  assert.equal(env.OCAMLTOP_INCLUDE_PATH, '/sw/own/lib/toplevel', "the ocaml package's setenv");
  assert.equal(env.MANPATH, ':/sw/own/man');
  for (const v of ['OCAMLPATH', 'OCAMLFIND_DESTDIR', 'OCAMLFIND_LDCONF', 'PKG_CONFIG_PATH']) {
    assert.equal(env[v], undefined, `opam 2.1 does not set ${v} (findlib.conf in the switch does the job)`);
  }
  assert.equal(env.OPAM_SWITCH_PREFIX, '/sw/own');
  assert.equal(env.OPAMROOT, '/sw');
  assert.equal(env.OPAMSWITCH, 'own');
  assert.equal(env.HOME, '/home/opam');
  assert.equal(env.TMPDIR, '/tmp');
  for (const v of ['CDPATH', 'MAKEFLAGS', 'MAKELEVEL']) assert.equal(env[v], '');
  assert.equal(env.OPAMCLI, '2.0');
  assert.equal(env.OPAM_PACKAGE_NAME, 'target');
  for (const v of ['USER', 'LOGNAME', 'CARGO_HOME', 'npm_config_cache']) assert.equal(env[v], undefined, `${v} does not leak in`);
});
