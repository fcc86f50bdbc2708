/**
 * The parsed-repository cache and the scan records: a cached (and stat-validated) load is the same as
 * a load from nothing, and whatever changes on disk (an edit in place, even of the same size with the
 * mtime set back; a version added or removed; a `files/` folder) is seen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  OnDemandPackages,
  errorsRead,
  loadRepositories,
  namesWithVersion,
  packageAtVersion,
  type RepositoryLoad,
} from '../../src/opam/repository.js';
import { INDEX_FIELDS, MIN_CACHED_FILES, readKnownKey, writeKnownKey } from '../../src/opam/repository-cache.js';
import { ValueReader, ValueTableWriter } from '../../src/opam/value-table.js';
import { readCacheFile, writeCacheFile } from '../../src/opam/cache-file.js';

const NAMES = Math.ceil(MIN_CACHED_FILES / 3) + 10;

function opamFile(name: string, version: string, dep: string): string {
  return [
    'opam-version: "2.0"',
    `synopsis: "${name} at ${version}"`,
    `depends: [ "ocaml" {>= "4.08"} "dune" {>= "3.0"} ${dep} ]`,
    'depopts: [ "lwt" ]',
    'available: os != "win32"',
    'build: [ "dune" "build" "-p" name ]',
    `url { src: "https://example.org/${name}-${version}.tgz" checksum: "md5=00000000000000000000000000000000" }`,
    '',
  ].join('\n');
}

/** A repository big enough to be cached: NAMES names of 3 versions each, one of them in the flat layout. */
function makeRepository(): string {
  const root = mkdtempSync(join(tmpdir(), 'ecocheck-repo-cache-'));
  for (let i = 0; i < NAMES; i++) {
    const name = `pkg${i}`;
    for (const v of ['1.0', '1.10', '1.9']) {
      const dir = join(root, 'packages', name, `${name}.${v}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'opam'), opamFile(name, v, i > 0 ? `"pkg${i - 1}" {< "1.10"}` : ''));
    }
  }
  const flat = join(root, 'packages', 'flat.1.0');
  mkdirSync(flat, { recursive: true });
  writeFileSync(join(flat, 'opam'), opamFile('flat', '1.0', ''));
  writeFileSync(join(root, 'packages', 'pkg0', 'README'), 'a stray file\n');
  // Beside the name folders: a stray file, and a link to a name folder (not a folder: not read).
  writeFileSync(join(root, 'packages', 'README'), 'a stray file\n');
  symlinkSync(join(root, 'packages', 'pkg1'), join(root, 'packages', 'linked'));
  // What the layout warnings are about: a version filed under another name, a folder that is no
  // NAME.VERSION, two spellings of one version, and a version folder without an opam file.
  for (const [dir, name, version] of [
    ['pkg1/pkg2.7.0', 'pkg2', '7.0'],
    ['pkg3/notaversion', 'pkg3', '9'],
    ['pkg4/pkg4.1.09', 'pkg4', '1.09'],
  ]) {
    mkdirSync(join(root, 'packages', dir), { recursive: true });
    writeFileSync(join(root, 'packages', dir, 'opam'), opamFile(name, version, ''));
  }
  mkdirSync(join(root, 'packages', 'pkg8', 'pkg8.3.0'));
  return root;
}

/** What a load says, as plain data (index fields, places, reports, one field parsed on demand). */
// (the warnings are part of it: layout warnings must come out the same, in the same order)
function summary(load: RepositoryLoad): unknown {
  const packages = [...load.packages].map(([name, list]) => [
    name,
    list.map((p) => {
      const fields: Record<string, unknown> = {
        version: p.version,
        file: p.file,
        filesDir: p.filesDir,
        contentHash: p.contentHash,
        build: p.build,
        synopsis: p.synopsis,
      };
      for (const f of INDEX_FIELDS) fields[f] = p[f];
      return JSON.parse(JSON.stringify(fields)) as unknown;
    }),
  ]);
  return { packages, errors: load.errors, warnings: load.warnings, lint: load.lint, fileCount: load.fileCount };
}

function withCache<T>(dir: string | null, f: () => T): T {
  const saved = { dir: process.env.ECOCHECK_CACHE_DIR, off: process.env.ECOCHECK_REPOSITORY_CACHE };
  if (dir === null) process.env.ECOCHECK_REPOSITORY_CACHE = 'off';
  else {
    process.env.ECOCHECK_CACHE_DIR = dir;
    delete process.env.ECOCHECK_REPOSITORY_CACHE;
  }
  try {
    return f();
  } finally {
    for (const [k, v] of [
      ['ECOCHECK_CACHE_DIR', saved.dir],
      ['ECOCHECK_REPOSITORY_CACHE', saved.off],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('a cached, stat-validated load is the load from nothing, and every change on disk is seen', async () => {
  const root = makeRepository();
  const cache = mkdtempSync(join(tmpdir(), 'ecocheck-cache-'));
  try {
    const fresh = () => withCache(null, () => summary(loadRepositories([root])));
    let filesRead = -1;
    const cached = () =>
      withCache(cache, () => {
        const load = loadRepositories([root]);
        filesRead = load.filesRead;
        return summary(load);
      });
    /** Past the racy window, a load reads no file: the record is trusted where nothing changed. */
    const settled = async (what: string) => {
      await sleep(1100);
      assert.deepEqual(cached(), fresh(), `${what}, once past the racy window`);
      assert.deepEqual(cached(), fresh(), `${what}, from the record`);
      assert.equal(filesRead, 0, `${what}: nothing read again`);
    };
    assert.deepEqual(cached(), fresh(), 'first load (writes the cache and the scan record)');
    const files = readdirSync(join(cache, 'repositories'));
    assert.ok(files.some((f) => f.startsWith('scan-')) && files.some((f) => f.endsWith('.load')), files.join(' '));
    assert.equal(filesRead, NAMES * 3 + 3, 'every file with a NAME.VERSION folder');
    assert.equal(withCache(null, () => loadRepositories([root])).warnings.length, 4, 'misfiled (twice), not NAME.VERSION, equal versions');
    await settled('the first load');

    // An edit in place of the same size, with the mtime put back: the ctime still tells.
    const edited = join(root, 'packages', 'pkg5', 'pkg5.1.9', 'opam');
    const before = statSync(edited);
    const stamp = join(root, 'stamp');
    execFileSync('touch', ['-r', edited, stamp]); // the times to the nanosecond
    writeFileSync(edited, opamFile('pkg5', '1.9', '"pkg4" {< "1.11"}'));
    execFileSync('touch', ['-r', stamp, edited]);
    assert.equal(statSync(edited).size, before.size);
    assert.equal(statSync(edited, { bigint: true }).mtimeNs, statSync(stamp, { bigint: true }).mtimeNs);
    const afterEdit = cached();
    assert.deepEqual(afterEdit, fresh(), 'after an edit in place');
    assert.match(JSON.stringify(afterEdit), /1\.11/);
    assert.equal(filesRead, 1, 'only the edited file is read again');
    await settled('the edit');

    // A version added, one removed, a files/ folder added.
    const added = join(root, 'packages', 'pkg7', 'pkg7.2.0');
    mkdirSync(added);
    writeFileSync(join(added, 'opam'), opamFile('pkg7', '2.0', ''));
    rmSync(join(root, 'packages', 'pkg8', 'pkg8.1.0'), { recursive: true });
    mkdirSync(join(root, 'packages', 'pkg9', 'pkg9.1.0', 'files'));
    writeFileSync(join(root, 'packages', 'pkg9', 'pkg9.1.0', 'files', 'fix.patch'), '');
    const changed = cached();
    assert.deepEqual(changed, fresh(), 'after adding and removing versions');
    const text = JSON.stringify(changed);
    assert.match(text, /pkg7\.2\.0/);
    assert.doesNotMatch(text, /pkg8\.1\.0\//);
    assert.match(text, /pkg9\.1\.0\/files/);
    assert.equal(filesRead, 2, 'only the added version and the one with a new files/ folder are read');
    await settled('the additions');

    // A broken cache entry or record is no answer: the load reads the files again.
    for (const f of readdirSync(join(cache, 'repositories'))) writeFileSync(join(cache, 'repositories', f), 'garbage');
    assert.deepEqual(cached(), fresh(), 'after the cache was overwritten with garbage');
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
});

test('a value table stores equal subtrees once and gives back equal, shared, frozen values', () => {
  const w = new ValueTableWriter();
  const atom = { kind: 'atom', atom: { name: 'ocaml', constraint: { kind: 'empty' } } };
  const a = w.add({ depends: { kind: 'and', left: atom, right: atom }, flags: [], n: 1.5, t: true, f: false, z: null, skip: undefined });
  const b = w.add({ depends: JSON.parse(JSON.stringify(atom)) as unknown, flags: ['compiler'] });
  const { head, body } = w.encode();
  const copy = new Uint8Array(body.byteLength);
  copy.set(body);
  const r = new ValueReader(head, copy);
  const va = r.value(a) as { depends: { left: unknown; right: unknown }; flags: string[] };
  assert.deepEqual(va, { depends: { kind: 'and', left: atom, right: atom }, flags: [], n: 1.5, t: true, f: false, z: null });
  const vb = r.value(b) as { depends: unknown };
  assert.deepEqual(vb, { depends: atom, flags: ['compiler'] });
  assert.equal(va.depends.left, va.depends.right, 'one object for equal subtrees');
  assert.equal(vb.depends, va.depends.left, 'shared across values');
  assert.ok(Object.isFrozen(va) && Object.isFrozen(va.flags));
  assert.throws(() => (va.flags as string[]).push('x'), TypeError);
  assert.equal(r.value(a), va, 'memoised');
  assert.throws(() => r.value(head.count), RangeError);
});

test('a cache file gives back its head and an aligned body, and a damaged one is no file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-cache-file-'));
  try {
    const file = join(dir, 'sub', 'x.bin');
    const numbers = new Float64Array([1.5, 2 ** 40, -3]);
    writeCacheFile(file, { hello: 'wörld' }, new Uint8Array(numbers.buffer));
    const r = readCacheFile(file);
    assert.ok(r !== null);
    assert.deepEqual(r.head, { hello: 'wörld' });
    assert.equal(r.body.byteOffset % 8, 0);
    assert.deepEqual([...new Float64Array(r.body.buffer, r.body.byteOffset, 3)], [1.5, 2 ** 40, -3]);
    writeFileSync(file, 'ECOC');
    assert.equal(readCacheFile(file), null);
    assert.equal(readCacheFile(join(dir, 'missing')), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a load answered from the records checks a name when it is read: only that name, and its changes are seen', async () => {
  const root = makeRepository();
  const cache = mkdtempSync(join(tmpdir(), 'ecocheck-cache-'));
  try {
    const fresh = () => withCache(null, () => loadRepositories([root]));
    const cached = () => withCache(cache, () => loadRepositories([root]));
    summary(cached());
    await sleep(1100);
    summary(cached());
    const untouched = cached();
    assert.ok(untouched.packages instanceof OnDemandPackages, 'answered from the records');
    assert.ok(!untouched.packages.has('linked') && !fresh().packages.has('linked'), 'a link in packages/ is no name folder');
    assert.deepEqual([...untouched.packages.keys()], [...fresh().packages.keys()], 'names in the order of a load from disk');

    // An edit in place and a file broken: the listing is the same, so the load is still answered name by name.
    const edited = join(root, 'packages', 'pkg5', 'pkg5.1.9', 'opam');
    writeFileSync(edited, opamFile('pkg5', '1.9', '"pkg4" {< "1.11"}'));
    writeFileSync(join(root, 'packages', 'pkg6', 'pkg6.1.0', 'opam'), 'opam-version: "2.0"\ndepends: [ "ocaml" {>= } ]\n');
    const load = cached();
    const packages = load.packages as OnDemandPackages;
    assert.ok(packages instanceof OnDemandPackages);
    const pkg5 = packages.get('pkg5')!.find((p) => p.version === '1.9')!;
    assert.match(JSON.stringify(pkg5.depends), /1\.11/, 'the edit is seen');
    assert.deepEqual(packages.settledNames(), ['pkg5'], 'only the name read was checked');
    assert.deepEqual(errorsRead(load), [], 'no error among the names read');
    assert.deepEqual(
      packages.get('pkg6')!.map((p) => p.version),
      ['1.9', '1.10'],
      'the broken version is skipped',
    );
    assert.deepEqual(
      errorsRead(load).map((e) => e.file),
      [join(root, 'packages', 'pkg6', 'pkg6.1.0', 'opam')],
    );
    assert.deepEqual(
      packages.get('pkg7')!.map((p) => p.version),
      ['1.0', '1.9', '1.10'],
    );
    assert.deepEqual(namesWithVersion(packages, '1.10').length, NAMES);
    assert.deepEqual(packages.settledNames(), ['pkg5', 'pkg6', 'pkg7'], 'namesWithVersion checks no name');
    // From the listing: a version filed under another name's folder, the flat layout, equal versions' spellings.
    assert.deepEqual(namesWithVersion(packages, '7.0'), ['pkg2']);
    assert.deepEqual(namesWithVersion(packages, '1.09'), ['pkg4']);
    assert.deepEqual(namesWithVersion(packages, '9'), []);
    assert.ok(namesWithVersion(packages, '1.0').includes('flat'));
    for (const version of ['1.0', '1.9', '1.10', '1.09', '7.0']) {
      const listed = new Set(namesWithVersion(packages, version));
      for (const name of namesWithVersion(fresh().packages, version)) assert.ok(listed.has(name), `${name}.${version} is listed`);
    }
    assert.deepEqual(packages.settledNames(), ['pkg5', 'pkg6', 'pkg7'], 'still no name checked');

    // One version of a name, as the name lists it: only its folder checked when it alone defines that
    // version; the whole name when an equal version is spelled otherwise, or the folder changed.
    writeFileSync(join(root, 'packages', 'pkg11', 'pkg11.1.9', 'opam'), opamFile('pkg11', '1.9', '"pkg10" {< "1.12"}'));
    const fromDisk = fresh().packages;
    const same = (name: string, version: string) => {
      const p = packageAtVersion(packages, name, version);
      const q = fromDisk.get(name)?.find((x) => x.version === version);
      assert.ok(p !== undefined && q !== undefined, `${name}.${version}`);
      for (const f of ['file', 'filesDir', 'contentHash', 'build', ...INDEX_FIELDS] as const)
        assert.deepEqual(JSON.stringify(p[f]), JSON.stringify(q[f]), `${name}.${version} ${f}`);
    };
    same('pkg9', '1.9');
    same('pkg10', '1.10');
    assert.deepEqual(packages.settledNames(), ['pkg5', 'pkg6', 'pkg7'], 'a version alone is checked without its name');
    same('pkg4', '1.09');
    same('pkg11', '1.9');
    assert.match(JSON.stringify(packageAtVersion(packages, 'pkg11', '1.9')?.depends), /1\.12/, 'the edit is seen');
    assert.equal(packageAtVersion(packages, 'pkg12', '7.7'), undefined);
    assert.deepEqual(
      packages.settledNames(),
      ['pkg5', 'pkg6', 'pkg7', 'pkg4', 'pkg11', 'pkg12'],
      'equal versions, an edit, no such version: the name is checked',
    );

    // What is about the whole repository is the load from disk's; so is every package, in its order.
    const disk = fresh();
    assert.deepEqual(load.errors, disk.errors);
    assert.deepEqual(summary(load), summary(disk));
    assert.deepEqual([...load.packages.keys()], [...disk.packages.keys()]);
    assert.equal(load.packages.get('pkg5'), load.packages.get('pkg5'), 'a name is checked once: the same list');
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
});

test("a content key known from the last load is this loader's: another parser's is not taken", () => {
  const cache = mkdtempSync(join(tmpdir(), 'ecocheck-cache-'));
  try {
    const roots = ['/some/repository'];
    const generations = ['g1'];
    writeKnownKey(cache, roots, generations, 'key-of-loader-a', 'loader-a');
    assert.equal(readKnownKey(cache, roots, generations, 'loader-a'), 'key-of-loader-a');
    assert.equal(readKnownKey(cache, roots, generations, 'loader-b'), null, 'another loader (a rebuilt parser, another checkout)');
    assert.equal(readKnownKey(cache, roots, ['g2'], 'loader-a'), null, 'records rewritten since');
    writeKnownKey(cache, roots, generations, 'key-of-loader-b', 'loader-b');
    assert.equal(readKnownKey(cache, roots, generations, 'loader-a'), 'key-of-loader-a', 'each loader keeps its own');
    assert.equal(readKnownKey(cache, roots, generations), null, 'the real loader knows neither');
  } finally {
    rmSync(cache, { recursive: true, force: true });
  }
});

test("a load from disk with a cache holds no file's whole parse: its packages are the cache's, parsed again when read", async () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const root = makeRepository();
  const cache = mkdtempSync(join(tmpdir(), 'ecocheck-cache-'));
  try {
    const first = withCache(cache, () => loadRepositories([root]));
    assert.ok(first.filesRead > 0, 'read from disk (and written to the cache)');
    assert.deepEqual(summary(first), summary(withCache(null, () => loadRepositories([root]))), 'the load from nothing');
    const pkg = first.packages.get('pkg3')!.find((p) => p.version === '1.9')!;
    const fresh = withCache(null, () => loadRepositories([root]))
      .packages.get('pkg3')!
      .find((p) => p.version === '1.9')!;
    // A build reads the package's commands; once nobody holds them, the garbage collector may take the
    // parse (its syntax tree, spans, commands), and a later read parses the file again: the same answer.
    let parse: WeakRef<object> | null = new WeakRef(pkg.ast);
    assert.deepEqual(pkg.build, fresh.build);
    // Each collection in a turn of its own: what a turn reads through a weak reference lives through it.
    for (let k = 0; k < 3 && parse?.deref() !== undefined; k++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    assert.equal(parse.deref(), undefined, 'the whole parse is not held by the load');
    parse = null;
    assert.deepEqual(pkg.build, fresh.build, 'read again');
    assert.deepEqual(JSON.stringify(pkg.ast), JSON.stringify(fresh.ast));
    assert.ok(Object.isFrozen(pkg.depends), "the index fields are the value table's");
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(cache, { recursive: true, force: true });
  }
});
