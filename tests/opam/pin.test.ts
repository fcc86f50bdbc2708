import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePin, pinToString, PinError } from '../../src/opam/pin.js';
import { applyPins, DEFAULT_PIN_VERSION } from '../../src/opam/pinned-repository.js';
import { possibleOpamFiles } from '../../src/opam/pin-source.js';
import { loadRepositories, type RepositoryLoad } from '../../src/opam/repository.js';
import { instantiateEcosystem, type EcosystemCopy } from '../support/fixture-ecosystem.js';
import { describeError } from '../../src/errors/ecocheck-error.js';

let eco: EcosystemCopy;
let load: RepositoryLoad;
let work: string;

before(() => {
  eco = instantiateEcosystem();
  load = loadRepositories([eco.root]);
  work = mkdtempSync(join(tmpdir(), 'ecocheck-pin-test-'));
});

after(() => {
  eco.dispose();
  rmSync(work, { recursive: true, force: true });
});

let n = 0;
/** A fresh source directory holding `files` (path relative to it → content). */
function sourceDir(files: Record<string, string>): string {
  const dir = join(work, `src-${n++}`);
  mkdirSync(dir, { recursive: true });
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), content);
  }
  return dir;
}

const OPAM = (extra = '') => `opam-version: "2.0"\n${extra}depends: ["ocaml"]\nbuild: ["compiler" "-o" "x.fmo" "x.fml"]\n`;

test('NAME[.VERSION]=DIR|URL: the left side read as every package argument, a path made absolute, URLs kept', () => {
  assert.deepEqual(parsePin('chain-a=src/a', '/home/me'), {
    name: 'chain-a',
    version: null,
    source: { kind: 'dir', path: '/home/me/src/a' },
  });
  assert.deepEqual(parsePin('chain-a.1.5=/abs/a'), { name: 'chain-a', version: '1.5', source: { kind: 'dir', path: '/abs/a' } });
  assert.deepEqual(parsePin('fmt=git+https://github.com/dbuenzli/fmt#v0.9.0'), {
    name: 'fmt',
    version: null,
    source: { kind: 'url', url: 'git+https://github.com/dbuenzli/fmt#v0.9.0' },
  });
  assert.deepEqual(parsePin('fmt=https://example.org/fmt-1.0.tbz').source, { kind: 'url', url: 'https://example.org/fmt-1.0.tbz' });
  // file:// of a directory is the path pin; of an archive, a URL to fetch.
  assert.deepEqual(parsePin('fmt=file:///src/my%20fmt').source, { kind: 'dir', path: '/src/my fmt' });
  assert.deepEqual(parsePin('fmt=file:///dist/fmt.tar.gz').source, { kind: 'url', url: 'file:///dist/fmt.tar.gz' });
  assert.equal(pinToString(parsePin('fmt.1.0=rel', '/w')), 'fmt.1.0=/w/rel');
});

test('a malformed pin is a PinError naming the argument, with no option names in it', () => {
  for (const [arg, why] of [
    ['fmt', /pin fmt: expected NAME\[\.VERSION\]=DIR or NAME\[\.VERSION\]=URL/],
    ['fmt=', /pin fmt=: no directory or URL after =/],
    ['=dir', /pin =dir: "" is not a package name/],
    ['fmt.=dir', /pin fmt\.=dir: "fmt\." is not a package name/],
    ['a b=dir', /pin a b=dir: /],
  ] as const) {
    assert.throws(
      () => parsePin(arg),
      (e: unknown) => e instanceof PinError && e.argument === arg && why.test(describeError(e)) && !/--/.test(e.message),
      arg,
    );
  }
});

test("the opam file is found where opam 2.1 looks, in find_opam_file_in_source's order", () => {
  const places = possibleOpamFiles('/d', 'chain-a');
  assert.deepEqual(places, [
    '/d/chain-a.opam/opam',
    '/d/chain-a.opam',
    '/d/opam/chain-a.opam/opam',
    '/d/opam/chain-a.opam',
    '/d/opam/opam',
    '/d/opam',
  ]);
  for (const [i, rel] of [
    'chain-a.opam/opam',
    'chain-a.opam',
    'opam/chain-a.opam/opam',
    'opam/chain-a.opam',
    'opam/opam',
    'opam',
  ].entries()) {
    const synopsis = `synopsis: "from ${rel}"\n`;
    // Each place, with every later place that can coexist with it also holding a file: the first wins.
    const files: Record<string, string> = { [rel]: OPAM(synopsis) };
    const clash = (x: string, y: string) => x.startsWith(`${y}/`) || y.startsWith(`${x}/`);
    for (const later of ['chain-a.opam/opam', 'chain-a.opam', 'opam/chain-a.opam/opam', 'opam/chain-a.opam', 'opam/opam', 'opam'].slice(
      i + 1,
    )) {
      if (!Object.keys(files).some((f) => clash(f, later))) files[later] = OPAM(`synopsis: "from ${later}"\n`);
    }
    const dir = sourceDir(files);
    const view = applyPins(load, [parsePin(`chain-a=${dir}`)]);
    const [p] = view.pinned;
    assert.equal(p.definition.from, 'source', rel);
    assert.equal(p.definition.file, join(dir, rel), rel);
    assert.equal(p.pkg.synopsis, `from ${rel}`, rel);
  }
});

test('the pinned package is the only version of its name, its url the pin target without checksums', () => {
  const dir = sourceDir({
    'chain-a.opam': OPAM('version: "3.0"\nurl { src: "https://example.org/a.tgz" checksum: "md5=0c79b057d15bc205bb437070db7a45a1" }\n'),
  });
  const view = applyPins(load, [parsePin(`chain-a=${dir}`)]);
  const list = view.packages.get('chain-a')!;
  assert.equal(list.length, 1);
  assert.equal(list[0].version, '3.0');
  assert.deepEqual(list[0].url, { src: `file://${dir}`, checksums: [], mirrors: [] });
  assert.deepEqual(list[0].pin, { kind: 'dir', path: dir });
  assert.equal(view.pinned[0].versionFrom, 'opam-file');
  assert.deepEqual(view.pinned[0].shadowed, ['1.0']);
  // The original load is untouched, and other names are the same objects.
  assert.equal(load.packages.get('chain-a')![0].version, '1.0');
  assert.equal(view.packages.get('stdext'), load.packages.get('stdext'));
  assert.equal(view.unpinned, load);
});

test("the version: the argument's over the opam file's (whose name and version fields are overwritten), else the repository's newest, else ~dev", () => {
  const withVersion = sourceDir({ opam: OPAM('name: "other-name"\nversion: "3.0"\n') });
  const v = applyPins(load, [parsePin(`chain-a.4.0=${withVersion}`)]);
  assert.equal(v.pinned[0].pkg.version, '4.0');
  assert.equal(v.pinned[0].versionFrom, 'argument');
  assert.ok(v.warnings.some((w) => /name field "other-name" is replaced by the pinned name chain-a/.test(w.message)));

  const noVersion = sourceDir({ opam: OPAM() });
  const r = applyPins(load, [parsePin(`chain-a=${noVersion}`)]);
  assert.equal(r.pinned[0].pkg.version, '1.0');
  assert.equal(r.pinned[0].versionFrom, 'repository');

  const fresh = applyPins(load, [parsePin(`brand-new=${noVersion}`)]);
  assert.equal(fresh.pinned[0].pkg.version, DEFAULT_PIN_VERSION);
  assert.equal(DEFAULT_PIN_VERSION, '~dev');
  assert.equal(fresh.pinned[0].versionFrom, 'default');
  assert.equal(fresh.packages.get('brand-new')![0].name, 'brand-new');
});

test("without an opam file in the source, the repository's opam file of NAME (newest, or VERSION) with the pin's source", () => {
  const dir = sourceDir({ 'chain_a.fml': 'let a = 1\n' });
  const view = applyPins(load, [parsePin(`chain-a=${dir}`)]);
  const p = view.pinned[0];
  assert.equal(p.definition.from, 'repository');
  assert.equal(p.definition.file, load.packages.get('chain-a')![0].file);
  assert.equal(p.pkg.version, '1.0');
  assert.equal(p.pkg.filesDir, load.packages.get('chain-a')![0].filesDir, "the repository's files/ come along");
  assert.deepEqual(p.pkg.extraFiles, load.packages.get('chain-a')![0].extraFiles);
  assert.equal(p.pkg.url!.src, `file://${dir}`);
  // A URL pin takes the repository's definition too.
  const url = applyPins(load, [parsePin('stdext=https://example.org/stdext-2.tgz')]).pinned[0];
  assert.equal(url.definition.from, 'repository');
  assert.deepEqual(url.pkg.url, { src: 'https://example.org/stdext-2.tgz', checksums: [], mirrors: [] });
  assert.deepEqual(url.pkg.pin, { kind: 'url', url: 'https://example.org/stdext-2.tgz' });
  const versioned = applyPins(load, [parsePin(`ocaml.1.0=${dir}`)]).pinned[0];
  assert.equal(versioned.pkg.version, '1.0');
  assert.equal(versioned.definition.file, load.packages.get('ocaml')![0].file);
});

test('a files/ folder beside DIR/opam is read with it; beside a nested opam file it is not', () => {
  const top = sourceDir({ opam: OPAM(), 'files/x.patch': 'p' });
  assert.equal(applyPins(load, [parsePin(`chain-a=${top}`)]).pinned[0].pkg.filesDir, join(top, 'files'));
  const nested = sourceDir({ 'opam/opam': OPAM(), 'files/x.patch': 'p' });
  assert.equal(applyPins(load, [parsePin(`chain-a=${nested}`)]).pinned[0].pkg.filesDir, null);
});

test('no package definition anywhere, a missing directory, a bad opam file, a name pinned twice: clear errors', () => {
  const empty = sourceDir({ README: 'nothing\n' });
  assert.throws(
    () => applyPins(load, [parsePin(`no-such-package=${empty}`)]),
    (e: unknown) =>
      e instanceof PinError &&
      describeError(e) ===
        `pin no-such-package=${empty}: no package definition: no opam file in ${empty} (no-such-package.opam, opam, opam/no-such-package.opam or opam/opam), and the repository has no package no-such-package`,
  );
  assert.throws(
    () => applyPins(load, [parsePin(`chain-a.9.9=${empty}`)]),
    (e: unknown) => e instanceof PinError && /pin chain-a\.9\.9=.*the repository has no chain-a\.9\.9/.test(describeError(e)),
  );
  assert.throws(
    () => applyPins(load, [parsePin('no-such-package=https://example.org/x.tgz')]),
    (e: unknown) =>
      e instanceof PinError &&
      /a URL pin takes its opam file from the repository, and the repository has no package no-such-package/.test(describeError(e)),
  );
  assert.throws(
    () => applyPins(load, [parsePin(`chain-a=${join(work, 'absent')}`)]),
    (e: unknown) => e instanceof PinError && /pin chain-a=.*absent: no such directory/.test(describeError(e)),
  );
  const bad = sourceDir({ opam: 'depends: [' });
  assert.throws(
    () => applyPins(load, [parsePin(`chain-a=${bad}`)]),
    (e: unknown) => e instanceof PinError && describeError(e).includes(join(bad, 'opam')),
  );
  const ok = sourceDir({ opam: OPAM() });
  assert.throws(
    () => applyPins(load, [parsePin(`chain-a=${ok}`), parsePin(`chain-a.2=${ok}`)]),
    (e: unknown) => e instanceof PinError && /pin chain-a\.2=.*chain-a is already pinned \(chain-a=/.test(describeError(e)),
  );
});
