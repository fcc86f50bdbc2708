/**
 * The disk and inode limits and the log cap: the walk that measures a job's folders (links not
 * followed, hard links once, stopping past a limit), the watcher, the capped log, RLIMIT_FSIZE in the
 * runner, and the opam builder ending jobs that fill their build folder, their switch, their
 * unpacking (a gzip bomb) or their inodes, as `disk-limit` with its files removed; and a job printing
 * far more than the cap keeps a bounded log that says what was cut, its first error still found.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DEFAULT_DISK_BYTES,
  DEFAULT_INODES,
  DiskWatcher,
  diskExcess,
  measureDiskUsage,
  watchInterval,
} from '../../src/builder/disk-limit.js';
import { BuildLog, cutNote, LOG_HEAD_BYTES, LOG_TAIL_BYTES, readLogCapped } from '../../src/builder/build-log.js';
import { runProcess } from '../../src/builder/process-runner.js';
import { classifyFailure } from '../../src/builder/failure-evidence.js';
import { createOpamBuilder, type OpamBuilderOptions } from '../../src/builder/opam-builder.js';
import { DEFAULT_DISK, DEFAULT_INODES as CLI_DEFAULT_INODES } from '../../src/cli/options.js';
import { parseBytes } from '../../src/cli/argument-parsers.js';
import { isCacheable, isSpurious } from '../../src/results/taxonomy.js';
import type { Job } from '../../src/plan/job.js';
import type { Command, OpamPackage } from '../../src/opam/package-model.js';
import { instantiateEcosystem, readEcosystemPackage, type EcosystemCopy } from '../support/fixture-ecosystem.js';

const MiB = 1024 * 1024;
const PATH = '/usr/bin:/bin';

let work: string;
let eco: EcosystemCopy;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'ecocheck-disk-limit-test-'));
  eco = instantiateEcosystem();
});

after(() => {
  eco.dispose();
  execFileSync('chmod', ['-R', 'u+w', work]);
  rmSync(work, { recursive: true, force: true });
});

function fresh(name: string): string {
  const d = join(work, name);
  mkdirSync(d, { recursive: true });
  return d;
}

test("the CLI defaults of --disk and --inodes are the builder's", () => {
  assert.equal(parseBytes(DEFAULT_DISK, '--disk'), DEFAULT_DISK_BYTES);
  assert.equal(CLI_DEFAULT_INODES, DEFAULT_INODES);
});

test('a disk-limit result is spurious and never cached', () => {
  assert.equal(isSpurious('disk-limit'), true);
  assert.equal(isCacheable('disk-limit'), false);
});

describe("measuring a job's folders", () => {
  test('counts blocks and entries, a link as itself (never what it points to), a hard-linked file once', async () => {
    const d = fresh('measure');
    const root = join(d, 'root');
    const outside = join(d, 'outside');
    mkdirSync(join(root, 'sub'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(outside, 'big'), Buffer.alloc(4 * MiB, 1));
    writeFileSync(join(root, 'sub', 'f'), Buffer.alloc(MiB, 1));
    linkSync(join(root, 'sub', 'f'), join(root, 'sub', 'g'));
    symlinkSync(outside, join(root, 'to-outside'));
    symlinkSync(join(outside, 'big'), join(root, 'sub', 'to-big'));
    const u = await measureDiskUsage([root]);
    // root, sub, f (= g), to-outside, to-big
    assert.equal(u.inodes, 5);
    assert.ok(u.bytes >= MiB && u.bytes < 2 * MiB, `${u.bytes}`);
    assert.equal(u.complete, true);
    // A sparse file counts what it holds.
    execFileSync('truncate', ['-s', '1G', join(root, 'sparse')]);
    const sparse = await measureDiskUsage([root]);
    assert.ok(sparse.bytes < 2 * MiB, `${sparse.bytes}`);
  });

  test('counts what a build names with bytes that are not UTF-8 (a string could not name it back)', async () => {
    const d = fresh('measure-bytes');
    const dir = Buffer.from(join(d, 'bad\xffdir'), 'latin1');
    mkdirSync(dir);
    for (let i = 0; i < 3; i++) writeFileSync(Buffer.concat([dir, Buffer.from(`/f\xff${i}`, 'latin1')]), Buffer.alloc(MiB, 1));
    const u = await measureDiskUsage([d]);
    // d, the folder, its 3 files
    assert.equal(u.inodes, 5);
    assert.ok(u.bytes >= 3 * MiB, `${u.bytes}`);
  });

  test('stops as soon as it is past a limit, and says so', async () => {
    const d = fresh('measure-stop');
    for (let i = 0; i < 5000; i++) writeFileSync(join(d, `f${i}`), '');
    const u = await measureDiskUsage([d], { stopAbove: { diskBytes: 1e12, inodes: 100 } });
    assert.equal(u.complete, false);
    assert.ok(u.inodes > 100 && u.inodes < 5000, `${u.inodes}`);
    const excess = diskExcess(u, { diskBytes: 1e12, inodes: 100 });
    assert.equal(excess?.limit, 'inodes');
    assert.match(excess!.message, /^the job used at least [\d,]+ inodes \(files, folders, links\), over its --inodes limit of 100$/);
    assert.equal(
      diskExcess({ bytes: Math.round(20.1 * 1024 ** 3), inodes: 1, complete: true, walkMs: 0 }, { diskBytes: 20 * 1024 ** 3, inodes: 10 })
        ?.message,
      'the job used 20.1 GiB of disk, over its --disk limit of 20 GiB',
    );
  });

  test("the watcher waits 20 times a walk's time, between half a second and 15 s", () => {
    assert.equal(watchInterval(1), 500);
    assert.equal(watchInterval(76), 1520);
    assert.equal(watchInterval(5000), 15_000);
  });

  test('the watcher aborts its signal when a folder grows past the limit, and not before', async () => {
    const d = fresh('watcher');
    const watcher = new DiskWatcher([d], { diskBytes: 8 * MiB, inodes: 1000 });
    watcher.start();
    try {
      writeFileSync(join(d, 'a'), Buffer.alloc(4 * MiB, 1));
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(watcher.signal.aborted, false);
      assert.ok(watcher.walks >= 1);
      writeFileSync(join(d, 'b'), Buffer.alloc(6 * MiB, 1));
      const t0 = Date.now();
      while (!watcher.signal.aborted && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
      assert.equal(watcher.signal.aborted, true);
      assert.equal(watcher.exceeded?.limit, 'disk');
      assert.match(watcher.exceeded!.message, /^the job used 10\.\d MiB of disk, over its --disk limit of 8 MiB$/);
    } finally {
      await watcher.stop();
    }
  });
});

describe('the capped log', () => {
  test('keeps its head and its tail, says what was cut, and never holds more on disk', () => {
    const d = fresh('log');
    const path = join(d, 'job.log');
    const log = new BuildLog(path, { headBytes: 1000, tailBytes: 1000 });
    log.line('# header');
    for (let i = 0; i < 10_000; i++) log.line(`line ${i}`);
    log.line('# the end');
    // Before closing, the file holds the head only; reading back gives head, cut line and tail.
    assert.ok(statSync(path).size <= 1000);
    const back = log.readBack(0, 1e9);
    assert.match(back, /^# header\nline 0\n/);
    assert.match(back, /\n\[\.\.\. [\d,]+ bytes of output cut \.\.\.\]\n/);
    assert.match(back, /line 9999\n# the end\n$/);
    log.close();
    const text = readFileSync(path, 'utf8');
    assert.equal(text, back);
    assert.ok(text.length < 2100, `${text.length}`);
    const cut = Number(/\[\.\.\. ([\d,]+) bytes/.exec(text)![1].replace(/,/g, ''));
    // Every byte written is either kept or counted as cut.
    const written =
      '# header\n'.length +
      Array.from({ length: 10_000 }, (_, i) => `line ${i}\n`.length).reduce((a, b) => a + b, 0) +
      '# the end\n'.length;
    const extraNewline = text[999] !== '\n' ? 1 : 0; // the cut line starts a line of its own
    assert.equal(text.length - text.match(/\[\.\.\. .* cut \.\.\.\]\n/)![0].length - extraNewline, written - cut);
  });

  test('a short log is kept whole; the sizes are the documented ones', () => {
    const d = fresh('log-short');
    const log = new BuildLog(join(d, 'job.log'));
    log.line('hello');
    log.close();
    assert.equal(readFileSync(join(d, 'job.log'), 'utf8'), 'hello\n');
    assert.equal(LOG_HEAD_BYTES, 10 * MiB);
    assert.equal(LOG_TAIL_BYTES, 10 * MiB);
    assert.equal(cutNote(987654321), '[... 987,654,321 bytes of output cut ...]');
  });

  test('readLogCapped reads a huge log (as an older version kept them) as head, cut line and tail', () => {
    const d = fresh('log-capped');
    const path = join(d, 'old.log');
    writeFileSync(path, `start\n${'x'.repeat(99)}\n`.repeat(1) + `${'y'.repeat(99)}\n`.repeat(2000) + 'last line\n');
    const text = readLogCapped(path, 1000, 1000);
    assert.match(text, /^start\n/);
    assert.match(text, /\[\.\.\. [\d,]+ bytes of output cut \.\.\.\]\n/);
    assert.match(text, /last line\n$/);
    assert.ok(text.length < 2200);
    assert.equal(readLogCapped(path, 1e9, 1e9), readFileSync(path, 'utf8'));
  });

  test('a command printing far more than the cap: the log is bounded and its end still read for evidence', async () => {
    const d = fresh('log-runner');
    const path = join(d, 'job.log');
    const log = new BuildLog(path, { headBytes: 64 * 1024, tailBytes: 64 * 1024 });
    const r = await runProcess({
      argv: ['sh', '-c', 'yes "some output line" | head -c 20000000; echo "cp: cannot write: No space left on device"; exit 3'],
      cwd: d,
      env: { PATH },
      logFile: path,
      log,
    });
    log.close();
    assert.equal(r.exitCode, 3);
    assert.equal(r.diskFull, true);
    assert.match(r.outputTail, /No space left on device/);
    const size = statSync(path).size;
    assert.ok(size < 200 * 1024, `${size}`);
    const text = readFileSync(path, 'utf8');
    assert.match(text, /^\$ sh -c /);
    assert.match(text, /\[\.\.\. [\d,]+ bytes of output cut \.\.\.\]/);
    assert.match(text, /\[exit code 3 after .*\]\n$/);
  });
});

describe('RLIMIT_FSIZE in the runner', () => {
  test('a file written past the disk limit stops its writer, classified disk-limit', async () => {
    const d = fresh('fsize');
    const r = await runProcess({
      argv: ['dd', 'if=/dev/zero', `of=${join(d, 'big')}`, 'bs=1M', 'count=20'],
      cwd: d,
      env: { PATH },
      logFile: join(d, 'job.log'),
      fileSizeBytes: 4 * MiB,
    });
    assert.ok(statSync(join(d, 'big')).size <= 4 * MiB);
    assert.equal(r.fileSizeExceeded, true);
    const c = classifyFailure(r, 'build');
    assert.equal(c.status, 'disk-limit');
    assert.match(c.reason, /file size limit of 4 MiB \(RLIMIT_FSIZE, the --disk limit\)/);
    // Standard error went through the same pipe, in the log.
    assert.match(readFileSync(join(d, 'job.log'), 'utf8'), /# .*file size limit 4 MiB via RLIMIT_FSIZE/);
  });

  test('standard output and error stay interleaved as printed', async () => {
    const d = fresh('interleave');
    await runProcess({
      argv: ['sh', '-c', 'echo one; echo two >&2; echo three; echo four >&2'],
      cwd: d,
      env: { PATH },
      logFile: join(d, 'job.log'),
    });
    assert.match(readFileSync(join(d, 'job.log'), 'utf8'), /one\ntwo\nthree\nfour\n/);
  });
});

// ---------------------------------------------------------------------------------------------------
// The builder

function sh(script: string): Command {
  return { args: ['sh', '-c', script].map((value) => ({ kind: 'string' as const, value })) };
}

let serial = 0;
/** A package of its own (fixture legacy-lib, its commands replaced), and its job. */
function jobOf(tag: string, commands: { build?: Command[]; install?: Command[] }, url: OpamPackage['url'] = null): Job {
  const pkg = readEcosystemPackage(eco.root, 'legacy-lib.1.0');
  pkg.extraFiles = [];
  pkg.patches = [];
  pkg.substs = [];
  pkg.build = commands.build ?? [];
  pkg.install = commands.install ?? [];
  pkg.url = url;
  pkg.contentHash = `${tag}-${serial++}`;
  const key = createHash('sha256')
    .update(JSON.stringify([tag, pkg.contentHash]))
    .digest('hex');
  return { key, id: `${pkg.name}.${pkg.version}`, package: pkg, dependencies: [], closure: [] };
}

function builderOptions(name: string, overrides: Partial<OpamBuilderOptions> = {}): OpamBuilderOptions {
  const dir = join(work, 'builder', name);
  return {
    storeDir: join(dir, 'store'),
    buildRoot: join(dir, 'build'),
    downloadCache: join(dir, 'cache'),
    logDir: join(dir, 'logs'),
    cores: 2,
    platformVariables: { os: 'linux', arch: 'x86_64', 'os-family': 'debian', 'os-distribution': 'debian' },
    sandboxMode: 'host',
    timeoutMs: 60_000,
    memoryBytes: 2 * 1024 ** 3,
    diskBytes: 50 * MiB,
    inodes: 2000,
    ...overrides,
    localSourceRoots: overrides.localSourceRoots ?? [eco.root],
  };
}

function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Builds the job; asserts disk-limit, the layer and every scratch folder gone; returns the outcome. */
async function expectDiskLimit(name: string, job: Job, reason: RegExp, overrides: Partial<OpamBuilderOptions> = {}) {
  const opts = builderOptions(name, overrides);
  const outcome = await createOpamBuilder(opts).build(job, [], new AbortController().signal);
  assert.equal(outcome.status, 'disk-limit', `${outcome.reason}\n${outcome.logTail}`);
  assert.match(outcome.reason, reason);
  assert.equal(outcome.prefix, null);
  assert.ok(!existsSync(join(opts.storeDir, job.key)), 'no layer');
  assert.deepEqual(entries(opts.buildRoot), [], 'the build folder is removed');
  assert.deepEqual(entries(join(opts.storeDir, '.incoming')), [], 'the upper directory is removed');
  const log = readFileSync(outcome.logPath!, 'utf8');
  assert.match(log, /# evidence: the job used|RLIMIT_FSIZE/);
  return { outcome, opts, log };
}

describe('the builder ends a job over its limits', () => {
  test('many files written into the build folder: ended by the watcher, long before its timeout', async () => {
    const job = jobOf('build-folder', {
      build: [sh('i=0; while [ $i -lt 100 ]; do dd if=/dev/zero of=f$i bs=1M count=1 2>/dev/null; i=$((i+1)); done; sleep 30')],
    });
    const { outcome } = await expectDiskLimit(
      'build-folder',
      job,
      /^the job used (at least )?[\d.]+ MiB of disk, over its --disk limit of 50 MiB \(during build, at `sh -c/,
    );
    assert.ok(outcome.durationMs < 20_000, `${outcome.durationMs}`);
  });

  test('one file written past the limit: stopped by RLIMIT_FSIZE', async () => {
    const job = jobOf('one-file', { build: [sh('dd if=/dev/zero of=big bs=1M count=200')] });
    await expectDiskLimit(
      'one-file',
      job,
      /^build went over the disk limit: a file of the job reached its file size limit of 50 MiB \(RLIMIT_FSIZE, the --disk limit\): (killed by SIGXFSZ|output says: File size limit exceeded|exit code 153)/,
    );
  });

  test("files written into the switch (the job's future layer)", async () => {
    const job = jobOf('switch', {
      build: [sh('i=0; while [ $i -lt 100 ]; do dd if=/dev/zero of="%{lib}%/f$i" bs=1M count=1 2>/dev/null; i=$((i+1)); done; sleep 30')],
    });
    await expectDiskLimit('switch', job, /over its --disk limit of 50 MiB/);
  });

  test('empty files past --inodes', async () => {
    const job = jobOf('inodes', {
      build: [sh('mkdir many && cd many && i=0; while [ $i -lt 3000 ]; do : > f$i; i=$((i+1)); done; sleep 30')],
    });
    await expectDiskLimit(
      'inodes',
      job,
      /^the job used (at least )?[\d,]+ inodes \(files, folders, links\), over its --inodes limit of 2,000/,
    );
  });

  test('install processing (host-side) copying into the layer past the limit', async () => {
    const install = 'lib: [ "big" {"a"} "big" {"b"} "big" {"c"} ]\n';
    const job = jobOf('install', {
      build: [sh(`dd if=/dev/zero of=big bs=1M count=30 2>/dev/null && printf '%s' '${install}' > legacy-lib.install`)],
    });
    await expectDiskLimit('install', job, /over its --disk limit of 50 MiB \(during install files\)/);
  });

  describe('gzip bombs, served over http with their checksum', () => {
    let server: Server;
    let base: string;
    const archives = new Map<string, Buffer>();
    before(async () => {
      const d = fresh('bombs');
      // One file of 200 MiB of zeros (stopped by RLIMIT_FSIZE), and 100 files of 1 MiB (by the watcher).
      mkdirSync(join(d, 'one', 'src'), { recursive: true });
      execFileSync('truncate', ['-s', '200M', join(d, 'one', 'src', 'zeros')]);
      execFileSync('tar', ['-czf', join(d, 'one.tar.gz'), '-C', join(d, 'one'), 'src']);
      mkdirSync(join(d, 'many', 'src'), { recursive: true });
      for (let i = 0; i < 100; i++) execFileSync('truncate', ['-s', '1M', join(d, 'many', 'src', `z${i}`)]);
      execFileSync('tar', ['-czf', join(d, 'many.tar.gz'), '-C', join(d, 'many'), 'src']);
      for (const n of ['one', 'many']) archives.set(`/${n}.tar.gz`, readFileSync(join(d, `${n}.tar.gz`)));
      assert.ok(archives.get('/one.tar.gz')!.length < 1024 * 1024);
      server = createServer((req, res) => {
        const body = archives.get(req.url ?? '');
        if (body === undefined) {
          res.statusCode = 404;
          res.end();
          return;
        }
        res.end(body);
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server.close());

    const url = (name: string): NonNullable<OpamPackage['url']> => ({
      src: `${base}/${name}.tar.gz`,
      checksums: [
        {
          algorithm: 'sha256',
          hex: createHash('sha256')
            .update(archives.get(`/${name}.tar.gz`)!)
            .digest('hex'),
        },
      ],
      mirrors: [],
    });

    test('one huge file: the unpacking is stopped, disk-limit', async () => {
      const job = jobOf('bomb-one', { build: [sh('true')] }, url('one'));
      // Whichever sees it first: RLIMIT_FSIZE stopping tar, or the watcher (the file and the download together).
      await expectDiskLimit(
        'bomb-one',
        job,
        /^(fetch went over the disk limit: a file of the job reached its file size limit of 50 MiB|the job used .* over its --disk limit of 50 MiB \(during fetch)/,
      );
    });

    test('many files: the unpacking is stopped, disk-limit', async () => {
      // Unpacking 100 MiB takes well under the watcher's first look on a fast disk: the check after the fetch catches it then.
      const job = jobOf('bomb-many', { build: [sh('true')] }, url('many'));
      await expectDiskLimit('bomb-many', job, /over its --disk limit of 50 MiB \(during fetch/);
    });
  });
});

describe('the builder keeps a bounded log', () => {
  test('a job printing far more than the cap: ok, its log bounded and saying what was cut; a failing one still has its first error', async () => {
    const opts = builderOptions('huge-log', { diskBytes: DEFAULT_DISK_BYTES, inodes: DEFAULT_INODES });
    const builder = createOpamBuilder(opts);
    const ok = await builder.build(
      jobOf('huge-log', { build: [sh('yes "hostile output, over and over" | head -c 60000000; echo done printing')] }),
      [],
      new AbortController().signal,
    );
    assert.equal(ok.status, 'ok', ok.reason);
    const size = statSync(ok.logPath!).size;
    assert.ok(size <= LOG_HEAD_BYTES + LOG_TAIL_BYTES + 4096, `${size}`);
    const text = readFileSync(ok.logPath!, 'utf8');
    assert.match(text, /\[\.\.\. [\d,]+ bytes of output cut \.\.\.\]/);
    assert.match(text, /done printing\n\[exit code 0 after/);
    assert.match(text, /# ok \(\d+ ms\)\n$/);
    assert.match(ok.logTail, /# ok/);

    const failing = await builder.build(
      jobOf('huge-log-failing', { build: [sh('yes "noise" | head -c 30000000; echo "Error: Unbound module Hostile" >&2; exit 2')] }),
      [],
      new AbortController().signal,
    );
    assert.equal(failing.status, 'build-failed');
    assert.equal(failing.firstError, 'Error: Unbound module Hostile');
    assert.ok(statSync(failing.logPath!).size <= LOG_HEAD_BYTES + LOG_TAIL_BYTES + 4096);
  });
});

describe('the time budget bounds every step', () => {
  test("a download that never ends is a timeout within the job's budget, not a fetch failure", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': String(1024 * 1024) });
      res.write('a trickle');
      // ... and nothing more.
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as AddressInfo).port;
      const opts = builderOptions('slow-download', { timeoutMs: 1500 });
      const job = jobOf(
        'slow-download',
        { build: [sh('true')] },
        { src: `http://127.0.0.1:${port}/never.tar.gz`, checksums: [{ algorithm: 'sha256', hex: '0'.repeat(64) }], mirrors: [] },
      );
      const t0 = Date.now();
      const outcome = await createOpamBuilder(opts).build(job, [], new AbortController().signal);
      assert.equal(outcome.status, 'timeout', outcome.reason);
      assert.match(outcome.reason, /^fetch timed out: the job's 1500 ms budget is spent/);
      assert.ok(Date.now() - t0 < 10_000);
      assert.deepEqual(entries(opts.buildRoot), []);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  test('a command killed by the watcher says why', async () => {
    const d = fresh('killed-why');
    const watcher = new DiskWatcher([d], { diskBytes: 4 * MiB, inodes: 1000 });
    watcher.start();
    try {
      const r = await runProcess({
        argv: ['sh', '-c', 'i=0; while [ $i -lt 10 ]; do dd if=/dev/zero of=f$i bs=1M count=1 2>/dev/null; i=$((i+1)); done; sleep 30'],
        cwd: d,
        env: { PATH },
        logFile: join(d, 'job.log'),
        signal: watcher.signal,
      });
      assert.equal(r.aborted, true);
      assert.ok(r.durationMs < 10_000);
      assert.match(r.evidence[0], /^killed: the job used [\d.]+ MiB of disk, over its --disk limit of 4 MiB$/);
    } finally {
      await watcher.stop();
    }
  });
});
