/**
 * Source fetching: http(s) (a local server), file:// files and directories, git+file:// at a ref;
 * every archive kind; checksums; mirrors; the download cache as an offline mirror.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fetchExtraSourceInto, fetchSourceInto, FetchError, addressBasename, type FetchContext } from '../../src/builder/source-fetcher.js';
import { DownloadCache } from '../../src/builder/download-cache.js';
import { archiveKind } from '../../src/builder/archive-extraction.js';
import { hashBytes } from '../../src/builder/checksum.js';
import { runProcess } from '../../src/builder/process-runner.js';
import type { Checksum, Url } from '../../src/opam/package-model.js';
import { LinkInDestinationError, SpecialFileError } from '../../src/builder/confined-path.js';
import { makeHostVictim } from '../support/host-victim.js';

let work: string;
let dist: string;
let server: Server;
let base: string;
let requests: string[];

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmpdir(), LANG: 'C.UTF-8' };

function context(name: string, cache = join(work, 'cache')): FetchContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    cache: new DownloadCache(cache),
    scratch: join(work, 'scratch', name),
    run: (argv, cwd) => runProcess({ argv, cwd, env, logFile: join(work, 'logs', `${name}.log`) }),
    log: (l) => lines.push(l),
    lines,
    // The test's server (and the dead port 9) are on loopback: named, as a user names them.
    privateOrigins: [new URL(base).origin, 'http://127.0.0.1:9'],
  };
}

function sums(file: string): Checksum[] {
  const bytes = readFileSync(file);
  return [
    { algorithm: 'sha256', hex: hashBytes(bytes, 'sha256') },
    { algorithm: 'md5', hex: hashBytes(bytes, 'md5') },
    { algorithm: 'sha512', hex: hashBytes(bytes, 'sha512') },
  ];
}

function url(src: string, checksums: Checksum[] = [], mirrors: string[] = []): Url {
  return { src, checksums, mirrors };
}

function fresh(name: string): string {
  const d = join(work, 'out', name);
  rmSync(d, { recursive: true, force: true });
  mkdirSync(d, { recursive: true });
  return d;
}

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'ecocheck-fetch-test-'));
  dist = join(work, 'dist');
  const src = join(work, 'src');
  mkdirSync(join(src, 'pkg-1.0', 'sub'), { recursive: true });
  writeFileSync(join(src, 'pkg-1.0', 'hello.txt'), 'hello\n');
  writeFileSync(join(src, 'pkg-1.0', 'sub', 'deep.txt'), 'deep\n');
  mkdirSync(dist, { recursive: true });
  const tar = (out: string, flag: string[], ...what: string[]) =>
    execFileSync('tar', ['-c', ...flag, '-f', join(dist, out), '-C', src, ...what]);
  tar('pkg.tar.gz', ['-z'], 'pkg-1.0');
  tar('pkg.tar.bz2', ['-j'], 'pkg-1.0');
  tar('pkg.tar.xz', ['-J'], 'pkg-1.0');
  tar('pkg.tar', [], 'pkg-1.0');
  execFileSync('zip', ['-q', '-r', join(dist, 'pkg.zip'), 'pkg-1.0'], { cwd: src });
  // Two top-level entries: unpacked as they are, not stripped.
  writeFileSync(join(src, 'loose.txt'), 'loose\n');
  tar('flat.tgz', ['-z'], 'pkg-1.0', 'loose.txt');
  writeFileSync(join(dist, 'plain.ml'), 'let x = 1\n');

  requests = [];
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const file = join(dist, (req.url ?? '/').replace(/^\/(files\/)?/, ''));
    if (req.url?.startsWith('/files/') && existsSync(file)) {
      res.writeHead(200);
      res.end(readFileSync(file));
    } else {
      res.writeHead(404);
      res.end('not found');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files`;
});

after(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(work, { recursive: true, force: true });
});

describe('archive kinds', () => {
  for (const [file, kind] of [
    ['pkg.tar.gz', 'tar.gz'],
    ['pkg.tar.bz2', 'tar.bz2'],
    ['pkg.tar.xz', 'tar.xz'],
    ['pkg.tar', 'tar'],
    ['pkg.zip', 'zip'],
    ['plain.ml', 'plain'],
  ] as const) {
    test(`${file} is recognised as ${kind} and unpacked with its single top directory stripped`, async () => {
      assert.equal(archiveKind(join(dist, file)), kind);
      const out = fresh(file);
      const ctx = context(file);
      await fetchSourceInto(url(`${base}/${file}`, sums(join(dist, file))), out, ctx);
      if (kind === 'plain') {
        assert.deepEqual(readdirSync(out), ['plain.ml']);
      } else {
        assert.equal(readFileSync(join(out, 'hello.txt'), 'utf8'), 'hello\n');
        assert.equal(readFileSync(join(out, 'sub', 'deep.txt'), 'utf8'), 'deep\n');
        assert.ok(!existsSync(join(out, 'pkg-1.0')));
      }
      assert.ok(!existsSync(ctx.scratch) || readdirSync(ctx.scratch).every((e) => e.startsWith('download-')));
    });
  }

  test('an archive with several top-level entries is unpacked as it is', async () => {
    const out = fresh('flat');
    await fetchSourceInto(url(`${base}/flat.tgz`, sums(join(dist, 'flat.tgz'))), out, context('flat'));
    assert.deepEqual(readdirSync(out).sort(), ['loose.txt', 'pkg-1.0']);
  });
});

describe('checksums, mirrors and the cache', () => {
  test('a checksum mismatch is a FetchError naming the expected and actual hashes', async () => {
    const wrong: Checksum = { algorithm: 'sha256', hex: '1'.repeat(64) };
    const actual = sums(join(dist, 'pkg.tar.gz'))[0].hex;
    await assert.rejects(
      fetchSourceInto(url(`${base}/pkg.tar.gz`, [wrong]), fresh('mismatch'), context('mismatch', join(work, 'cache-mismatch'))),
      (e: unknown) =>
        e instanceof FetchError &&
        e.message === `checksum mismatch for ${base}/pkg.tar.gz: expected sha256=${'1'.repeat(64)}, got sha256=${actual}`,
    );
    assert.ok(!existsSync(join(work, 'cache-mismatch', 'sha256')), 'nothing unverified is cached');
  });

  test('one wrong checksum among several is enough to reject', async () => {
    const good = sums(join(dist, 'pkg.tar.gz'));
    await assert.rejects(
      fetchSourceInto(
        url(`${base}/pkg.tar.gz`, [good[0], { algorithm: 'md5', hex: '0'.repeat(32) }]),
        fresh('one-wrong'),
        context('one-wrong'),
      ),
      /expected md5=0{32}/,
    );
  });

  test('HTTP errors are FetchErrors; the mirrors are tried in turn', async () => {
    await assert.rejects(fetchSourceInto(url(`${base}/missing.tar.gz`), fresh('404'), context('404')), /missing\.tar\.gz: HTTP 404/);
    const out = fresh('mirror');
    const ctx = context('mirror', join(work, 'cache-mirror'));
    await fetchSourceInto(url(`${base}/missing.tar.gz`, sums(join(dist, 'pkg.tar.gz')), [`${base}/pkg.tar.gz`]), out, ctx);
    assert.ok(existsSync(join(out, 'hello.txt')));
    assert.ok(ctx.lines.some((l) => /missing\.tar\.gz: HTTP 404/.test(l)));
  });

  test('a verified download is cached under each checksum and then served without network', async () => {
    const cacheDir = join(work, 'cache-offline');
    const checksums = sums(join(dist, 'pkg.tar.xz'));
    await fetchSourceInto(url(`${base}/pkg.tar.xz`, checksums), fresh('online'), context('online', cacheDir));
    for (const c of checksums) assert.ok(existsSync(join(cacheDir, c.algorithm, c.hex.slice(0, 2), c.hex)), `cached by ${c.algorithm}`);
    const before = requests.length;
    // An address nobody serves: only the cache can answer. Found by md5 alone, too.
    const ctx = context('offline', cacheDir);
    const out = fresh('offline');
    await fetchSourceInto(url('http://127.0.0.1:9/gone/pkg.tar.xz', [checksums[1]]), out, ctx);
    assert.equal(requests.length, before);
    assert.equal(readFileSync(join(out, 'hello.txt'), 'utf8'), 'hello\n');
    assert.ok(ctx.lines.some((l) => l.includes('found in the download cache')));
  });

  test('archive mirrors laid out like the cache are tried last, by checksum', async () => {
    const checksums = sums(join(dist, 'pkg.tar.gz'));
    const sha = checksums[0].hex;
    mkdirSync(join(dist, 'archive', 'sha256', sha.slice(0, 2)), { recursive: true });
    writeFileSync(join(dist, 'archive', 'sha256', sha.slice(0, 2), sha), readFileSync(join(dist, 'pkg.tar.gz')));
    const out = fresh('archive-mirror');
    const ctx = { ...context('archive-mirror', join(work, 'cache-archive')), archiveMirrors: [`${base}/archive/`] };
    await fetchSourceInto(url('http://127.0.0.1:9/dead/pkg.tar.gz', [checksums[0]]), out, ctx);
    assert.ok(existsSync(join(out, 'hello.txt')));
    assert.ok(requests.includes(`/files/archive/sha256/${sha.slice(0, 2)}/${sha}`));
    // Without checksums there is nothing to look up in an archive mirror.
    await assert.rejects(
      fetchSourceInto(url('http://127.0.0.1:9/dead/pkg.tar.gz'), fresh('archive-none'), {
        ...context('archive-none'),
        archiveMirrors: [`${base}/archive`],
      }),
      /127\.0\.0\.1:9\/dead\/pkg\.tar\.gz/,
    );
  });

  test('a corrupted cache entry is dropped and the file fetched again', async () => {
    const cacheDir = join(work, 'cache-corrupt');
    const checksums = sums(join(dist, 'pkg.tar.bz2'));
    const entry = new DownloadCache(cacheDir).pathFor(checksums[0]);
    mkdirSync(join(entry, '..'), { recursive: true });
    writeFileSync(entry, 'garbage');
    const out = fresh('corrupt');
    await fetchSourceInto(url(`${base}/pkg.tar.bz2`, checksums), out, context('corrupt', cacheDir));
    assert.ok(existsSync(join(out, 'hello.txt')));
    assert.deepEqual(readFileSync(entry), readFileSync(join(dist, 'pkg.tar.bz2')));
  });

  test('an unreachable host is a FetchError', async () => {
    await assert.rejects(fetchSourceInto(url('http://127.0.0.1:9/x.tar.gz'), fresh('unreachable'), context('unreachable')), FetchError);
  });
});

describe('local and git sources, extra sources', () => {
  test('file:// of an archive and of a directory', async () => {
    const a = fresh('file-archive');
    await fetchSourceInto(url(`file://${join(dist, 'pkg.zip')}`, sums(join(dist, 'pkg.zip'))), a, context('file-archive'));
    assert.ok(existsSync(join(a, 'sub', 'deep.txt')));
    const d = fresh('file-dir');
    for (const junk of ['.git', '_build', '_opam', 'sub/.hg']) mkdirSync(join(work, 'src', 'pkg-1.0', junk), { recursive: true });
    await fetchSourceInto(url(`file://${join(work, 'src', 'pkg-1.0')}`), d, context('file-dir'));
    assert.equal(readFileSync(join(d, 'hello.txt'), 'utf8'), 'hello\n');
    assert.deepEqual(readdirSync(d).sort(), ['hello.txt', 'sub'], 'VCS, _build and _opam directories left out, like opam');
    assert.deepEqual(readdirSync(join(d, 'sub')), ['deep.txt']);
    await assert.rejects(
      fetchSourceInto(url(`file://${join(work, 'nope.tgz')}`), fresh('file-missing'), context('file-missing')),
      /no such file/,
    );
  });

  test('git+file:// is cloned and the #ref checked out, without .git', async () => {
    const repo = join(work, 'gitrepo');
    mkdirSync(repo, { recursive: true });
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo });
    git('init', '-q');
    writeFileSync(join(repo, 'v.txt'), 'one\n');
    git('add', '.');
    git('commit', '-q', '-m', 'one');
    git('tag', 'v1');
    writeFileSync(join(repo, 'v.txt'), 'two\n');
    git('commit', '-q', '-am', 'two');
    const out = fresh('git');
    await fetchSourceInto(url(`git+file://${repo}#v1`), out, context('git'));
    assert.equal(readFileSync(join(out, 'v.txt'), 'utf8'), 'one\n');
    assert.ok(!existsSync(join(out, '.git')));
    const head = fresh('git-head');
    await fetchSourceInto(url(`git+file://${repo}`), head, context('git-head'));
    assert.equal(readFileSync(join(head, 'v.txt'), 'utf8'), 'two\n');
    await assert.rejects(
      fetchSourceInto(url(`git+file://${repo}#no-such-ref`), fresh('git-bad'), context('git-bad')),
      /git checkout no-such-ref exited/,
    );
  });

  test('an extra-source is saved under its name, not unpacked', async () => {
    const out = fresh('extra');
    await fetchExtraSourceInto('patches/extra.tgz', url(`${base}/pkg.tar.gz`, sums(join(dist, 'pkg.tar.gz'))), out, context('extra'));
    assert.deepEqual(readFileSync(join(out, 'patches', 'extra.tgz')), readFileSync(join(dist, 'pkg.tar.gz')));
    await assert.rejects(fetchExtraSourceInto('../escape', url(`${base}/plain.ml`), out, context('extra-escape')), /escapes/);
  });

  test('no link is followed and no special file read: extra-source destination, file:// FIFO, local and git copies', async () => {
    const host = makeHostVictim(mkdtempSync(join(work, 'host-')));
    const before = host.snapshot();
    // An extra-source saved through a folder link the unpacked sources hold.
    const out = fresh('extra-through-link');
    symlinkSync(host.victimDir, join(out, 'patches'));
    await assert.rejects(
      fetchExtraSourceInto('patches/one', url(`${base}/plain.ml`), out, context('extra-link')),
      (e: unknown) => e instanceof LinkInDestinationError && e.message === 'patches: a symbolic link where a directory is expected',
    );
    // A file:// source that is a FIFO: refused at once, not read (it would block forever).
    const fifo = join(work, 'source.fifo');
    execFileSync('mkfifo', [fifo]);
    const started = Date.now();
    await assert.rejects(
      fetchSourceInto(url(`file://${fifo}`), fresh('fifo'), context('fifo')),
      (e: unknown) => e instanceof SpecialFileError && /a FIFO, not a regular file$/.test(e.message),
    );
    assert.ok(Date.now() - started < 5000);
    // A local directory: links copied as links (never followed), a FIFO refused.
    const local = join(work, 'local-with-links');
    mkdirSync(local);
    writeFileSync(join(local, 'a.ml'), 'let a = 1\n');
    symlinkSync(host.victimDir, join(local, 'hostdir'));
    symlinkSync(host.secret, join(local, 'secret'));
    const copy = fresh('local-links');
    await fetchSourceInto(url(`file://${local}`), copy, context('local-links'));
    assert.equal(readlinkSync(join(copy, 'hostdir')), host.victimDir);
    assert.equal(readlinkSync(join(copy, 'secret')), host.secret);
    execFileSync('mkfifo', [join(local, 'pipe')]);
    await assert.rejects(
      fetchSourceInto(url(`file://${local}`), fresh('local-fifo'), context('local-fifo')),
      (e: unknown) => e instanceof SpecialFileError && /^pipe: a FIFO/.test(e.message),
    );
    // A git checkout with links to the host: copied as links.
    const repo = join(work, 'gitrepo-links');
    mkdirSync(repo);
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: repo });
    git('init', '-q');
    symlinkSync(host.victimDir, join(repo, 'hostdir'));
    writeFileSync(join(repo, 'f'), 'f\n');
    git('add', '.');
    git('commit', '-q', '-m', 'links');
    const cloned = fresh('git-links');
    await fetchSourceInto(url(`git+file://${repo}`), cloned, context('git-links'));
    assert.equal(readlinkSync(join(cloned, 'hostdir')), host.victimDir);
    assert.ok(lstatSync(join(cloned, 'hostdir')).isSymbolicLink());
    assert.deepEqual(host.snapshot(), before);
  });

  test('unsupported addresses are rejected', async () => {
    await assert.rejects(fetchSourceInto(url('ftp://example.org/x.tgz'), fresh('ftp'), context('ftp')), /unsupported source address/);
    assert.equal(addressBasename('https://h/a/b/pkg-1.0.tar.gz?x=1#frag'), 'pkg-1.0.tar.gz');
  });
});

test('a git source on a private address at a branch is refused before git runs; at a full commit hash git is let try', async () => {
  const ctx = context('git-private');
  await assert.rejects(
    fetchSourceInto(url('git+http://10.1.2.3/repo.git#main'), fresh('git-private'), ctx),
    /10\.1\.2\.3 is 10\.1\.2\.3, not a public address/,
  );
  assert.ok(!ctx.lines.some((l) => /exited/.test(l)));
  await assert.rejects(
    fetchSourceInto(url('git+http://127.0.0.1:9/repo.git#' + 'a'.repeat(40)), fresh('git-commit'), ctx),
    /git clone exited/,
  );
});
