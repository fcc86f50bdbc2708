/**
 * confined-path.ts: operations relative to a root that never leave it, whatever links and special
 * files the package left there. Each test has a "host" folder next to the root holding a secret; the
 * root's links point at it, and nothing of it may change or be read.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  copyConfinedFile,
  copyTreeConfined,
  EscapingPathError,
  LinkInDestinationError,
  makeConfinedDirs,
  OversizedFileError,
  readConfinedFile,
  removeConfined,
  resolveConfined,
  SpecialFileError,
  UnsafePathError,
  writeConfinedFile,
  type ConfinedRoot,
} from '../../src/builder/confined-path.js';
import { skipWithout } from '../support/missing-setup.js';

const SECRET = 'CONFINED-PATH-SECRET-7b1f';

let work: string;
let n = 0;
before(() => {
  work = mkdtempSync(join(tmpdir(), 'ecocheck-confined-test-'));
});
after(() => rmSync(work, { recursive: true, force: true }));

/** A fresh root and, beside it, a host folder with a mode-600 secret. */
function setup(): { root: ConfinedRoot; host: string; secret: string } {
  const base = join(work, String(n++));
  const dir = join(base, 'build');
  const host = join(base, 'host');
  mkdirSync(dir, { recursive: true });
  mkdirSync(host);
  const secret = join(host, 'secret');
  writeFileSync(secret, `${SECRET}\n`, { mode: 0o600 });
  return { root: { dir, seenAt: '/home/opam/.opam/default/.opam-switch/build/p.1', label: 'the build directory' }, host, secret };
}

function refused(f: () => unknown, cls: new (...a: never[]) => UnsafePathError, message: RegExp): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof cls, `${(e as Error).constructor.name}: ${(e as Error).message}`);
    assert.match((e as Error).message, message);
    assert.doesNotMatch((e as Error).message, new RegExp(SECRET));
    assert.doesNotMatch((e as Error).message, /\n/);
    return true;
  });
}

test('links inside the root are followed (dune-style relative links, absolute ones under where the sandbox shows it)', () => {
  const { root } = setup();
  mkdirSync(join(root.dir, '_build/default/bin'), { recursive: true });
  mkdirSync(join(root.dir, '_build/install/default/bin'), { recursive: true });
  writeFileSync(join(root.dir, '_build/default/bin/main.exe'), 'binary');
  symlinkSync('../../../default/bin/main.exe', join(root.dir, '_build/install/default/bin/tool'));
  symlinkSync(`${root.seenAt}/_build/default/bin/main.exe`, join(root.dir, 'abs'));
  symlinkSync('_build/install', join(root.dir, 'inst'));
  symlinkSync('inst/default/bin/tool', join(root.dir, 'chain'));
  for (const rel of ['_build/install/default/bin/tool', 'abs', 'chain', 'inst/default/bin/tool', './inst/../install/default/bin/tool']) {
    const r = resolveConfined(root, rel);
    assert.ok(r, rel);
    assert.equal(r.rel, '_build/default/bin/main.exe', rel);
    assert.equal(readConfinedFile(root, rel)?.bytes.toString(), 'binary', rel);
  }
  assert.equal(resolveConfined(root, '_build/default/bin/..')?.rel, '_build/default');
  assert.equal(resolveConfined(root, 'inst/default/..')?.rel, '_build/install');
  assert.equal(resolveConfined(root, 'absent'), null);
  assert.equal(resolveConfined(root, 'abs/below-a-file'), null);
  assert.equal(readConfinedFile(root, 'absent'), null);
});

test('links leading out are refused: relative .., absolute, chains, through a directory link, loops', () => {
  const { root, host } = setup();
  symlinkSync(join(host, 'secret'), join(root.dir, 'absolute'));
  symlinkSync('../host/secret', join(root.dir, 'dotdot'));
  symlinkSync('dotdot', join(root.dir, 'chain'));
  symlinkSync(host, join(root.dir, 'dirlink'));
  mkdirSync(join(root.dir, 'sub'));
  symlinkSync('.', join(root.dir, 'sub/here'));
  symlinkSync('sub/here/../../host/secret', join(root.dir, 'physical'));
  symlinkSync('loop2', join(root.dir, 'loop1'));
  symlinkSync('loop1', join(root.dir, 'loop2'));
  symlinkSync('/home/opam/.opam/default/lib/x', join(root.dir, 'switch-not-build'));
  for (const rel of ['absolute', 'dotdot', 'chain', 'dirlink/secret', 'physical', 'switch-not-build']) {
    refused(() => readConfinedFile(root, rel), EscapingPathError, /a symbolic link leading outside the build directory/);
    refused(() => resolveConfined(root, rel), EscapingPathError, /leading outside/);
  }
  refused(() => readConfinedFile(root, '../host/secret'), EscapingPathError, /^\.\.\/host\/secret: leads outside the build directory$/);
  refused(() => readConfinedFile(root, join(host, 'secret')), EscapingPathError, /leads outside/);
  refused(() => readConfinedFile(root, 'loop1'), EscapingPathError, /too many levels of symbolic links/);
  // Without `seenAt`, every absolute link leads out.
  writeFileSync(join(root.dir, 'f'), 'x');
  symlinkSync(`${root.seenAt}/f`, join(root.dir, 'abs-f'));
  assert.equal(readConfinedFile(root, 'abs-f')?.bytes.toString(), 'x');
  refused(() => readConfinedFile({ dir: root.dir, label: 'the layer' }, 'abs-f'), EscapingPathError, /leading outside the layer/);
});

test('FIFOs, sockets, devices and directories are refused without blocking', async () => {
  const { root } = setup();
  assert.equal(spawnSync('mkfifo', [join(root.dir, 'p.install')]).status, 0);
  refused(() => readConfinedFile(root, 'p.install'), SpecialFileError, /^p\.install: a FIFO, not a regular file$/);
  symlinkSync('p.install', join(root.dir, 'to-fifo'));
  refused(() => readConfinedFile(root, 'to-fifo'), SpecialFileError, /^p\.install: a FIFO/);
  mkdirSync(join(root.dir, 'd'));
  refused(() => readConfinedFile(root, 'd'), SpecialFileError, /^d: a directory, not a regular file$/);
  const sock = join(root.dir, 's');
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  try {
    refused(() => readConfinedFile(root, 's'), SpecialFileError, /^s: a socket, not a regular file$/);
  } finally {
    server.close();
  }
});

test(
  'a device node is refused (it is never opened)',
  { skip: skipWithout('root', process.getuid?.() === 0 ? false : 'mknod needs root') },
  () => {
    const { root } = setup();
    const made = spawnSync('mknod', [join(root.dir, 'null'), 'c', '1', '3']);
    assert.equal(made.status, 0, made.stderr?.toString());
    refused(() => readConfinedFile(root, 'null'), SpecialFileError, /^null: a character device, not a regular file$/);
  },
);

test('files to parse have a size cap', () => {
  const { root } = setup();
  writeFileSync(join(root.dir, 'big'), Buffer.alloc(2048));
  refused(() => readConfinedFile(root, 'big', 1024), OversizedFileError, /^big: larger than 1024 bytes$/);
  assert.equal(readConfinedFile(root, 'big', 4096)?.bytes.length, 2048);
});

test('destinations: no link is followed in any component; a link at the final name is replaced', () => {
  const { root, host, secret } = setup();
  symlinkSync(host, join(root.dir, 'lib'));
  refused(() => writeConfinedFile(root, 'lib/p/META', 'x'), LinkInDestinationError, /^lib: a symbolic link where a directory is expected$/);
  refused(() => makeConfinedDirs(root, 'lib/p'), LinkInDestinationError, /^lib: /);
  writeFileSync(join(root.dir, 'file'), 'f');
  refused(() => makeConfinedDirs(root, 'file/p'), LinkInDestinationError, /^file: a regular file where a directory is expected$/);
  refused(() => writeConfinedFile(root, '../host/new', 'x'), EscapingPathError, /leads outside/);
  // The final name: a link there is removed, not written through.
  symlinkSync(secret, join(root.dir, 'out'));
  writeConfinedFile(root, 'out', 'mine', 0o640);
  assert.equal(readFileSync(join(root.dir, 'out'), 'utf8'), 'mine');
  assert.equal(statSync(join(root.dir, 'out')).mode & 0o777, 0o640);
  assert.equal(readFileSync(secret, 'utf8'), `${SECRET}\n`);
  mkdirSync(join(root.dir, 'adir'));
  refused(() => writeConfinedFile(root, 'adir', 'x'), LinkInDestinationError, /^adir: a directory where a file is expected$/);
  writeConfinedFile(root, 'new/deep/file', 'd');
  assert.equal(readFileSync(join(root.dir, 'new/deep/file'), 'utf8'), 'd');
  assert.deepEqual(lstatSync(host).isDirectory(), true);
  assert.ok(!existsSync(join(host, 'p')));
});

test('copying a file: the source may follow in-root links, the destination follows none', () => {
  const { root, host, secret } = setup();
  const prefix: ConfinedRoot = { dir: join(root.dir, '..', 'prefix'), label: 'the prefix' };
  writeFileSync(join(root.dir, 'a'), 'A', { mode: 0o700 });
  symlinkSync('a', join(root.dir, 'b'));
  assert.equal(copyConfinedFile(root, 'b', prefix, 'lib/p/b', 0o644), true);
  assert.equal(readFileSync(join(prefix.dir, 'lib/p/b'), 'utf8'), 'A');
  assert.equal(statSync(join(prefix.dir, 'lib/p/b')).mode & 0o777, 0o644);
  assert.equal(copyConfinedFile(root, 'missing', prefix, 'lib/p/m'), false);
  symlinkSync(secret, join(root.dir, 'leak'));
  refused(() => copyConfinedFile(root, 'leak', prefix, 'lib/p/leak'), EscapingPathError, /leading outside/);
  mkdirSync(join(prefix.dir, 'share'), { recursive: true });
  symlinkSync(host, join(prefix.dir, 'share', 'p'));
  refused(
    () => copyConfinedFile(root, 'a', prefix, 'share/p/a'),
    LinkInDestinationError,
    /^share\/p: a symbolic link where a directory is expected$/,
  );
  assert.ok(!existsSync(join(host, 'a')));
  assert.ok(!existsSync(join(prefix.dir, 'lib/p/leak')));
});

test('copying a tree: links copied as written, special files refused, excluded names skipped', () => {
  const { root, host } = setup();
  const src = join(root.dir, '..', 'checkout');
  mkdirSync(join(src, 'sub', '_build'), { recursive: true });
  writeFileSync(join(src, 'sub', 'f'), 'F', { mode: 0o4755 });
  writeFileSync(join(src, 'sub', '_build', 'x'), 'X');
  symlinkSync(host, join(src, 'hostlink'));
  symlinkSync('sub/f', join(src, 'rel'));
  copyTreeConfined(src, root, '', (_rel, name) => name !== '_build');
  assert.equal(readlinkSync(join(root.dir, 'hostlink')), host);
  assert.equal(readlinkSync(join(root.dir, 'rel')), 'sub/f');
  assert.equal(readFileSync(join(root.dir, 'sub/f'), 'utf8'), 'F');
  assert.equal(statSync(join(root.dir, 'sub/f')).mode & 0o7777, 0o755, 'no setuid bit is copied');
  assert.ok(!existsSync(join(root.dir, 'sub/_build')));
  // The destination's own links are not followed either: a second copy replaces them.
  rmSync(join(root.dir, 'sub'), { recursive: true });
  symlinkSync(host, join(root.dir, 'sub'));
  copyTreeConfined(src, root, '', (_rel, name) => name !== '_build');
  assert.ok(lstatSync(join(root.dir, 'sub')).isDirectory());
  assert.ok(!existsSync(join(host, 'f')));
  assert.equal(spawnSync('mkfifo', [join(src, 'sub', 'fifo')]).status, 0);
  refused(
    () => copyTreeConfined(src, { dir: join(root.dir, '..', 'other'), label: 'the build directory' }),
    SpecialFileError,
    /^sub\/fifo: a FIFO: only files, directories and symbolic links can be copied$/,
  );
});

test('removing: a link on the way is removed itself, never what it points to', () => {
  const { root, host } = setup();
  mkdirSync(join(host, 'build', 'victim'), { recursive: true });
  writeFileSync(join(host, 'build', 'victim', 'kept'), 'k');
  symlinkSync(host, join(root.dir, '.opam-switch'));
  assert.equal(removeConfined(root, '.opam-switch/build'), join(root.dir, '.opam-switch'));
  assert.ok(!existsSync(join(root.dir, '.opam-switch')));
  assert.equal(readFileSync(join(host, 'build', 'victim', 'kept'), 'utf8'), 'k');
  mkdirSync(join(root.dir, 'real', 'build', 'x'), { recursive: true });
  assert.equal(removeConfined(root, 'real/build'), join(root.dir, 'real', 'build'));
  assert.ok(!existsSync(join(root.dir, 'real', 'build')));
  assert.equal(removeConfined(root, 'real/none'), null);
  symlinkSync(host, join(root.dir, 'real', 'build'));
  removeConfined(root, 'real/build');
  assert.ok(existsSync(join(host, 'build', 'victim', 'kept')));
});
