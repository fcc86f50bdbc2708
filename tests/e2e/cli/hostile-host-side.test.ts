/**
 * `ecocheck check` on the hostile packages that attack what the root ecocheck process does on the host
 * around a build (fixtures/hostile-repo): a NAME.install or NAME.config that is a link to a host secret
 * or a FIFO, an install entry linking out, a folder of the switch made a link to a host folder, source
 * tarballs whose members link out (made here, served by a local HTTP server), substs through links a
 * patch made. Each has its classification; a host folder holding a mode-600 secret (under the host's
 * /tmp, which builds do not see) stays as it was, the secret reaches no log, report, layer or database,
 * and the run ends (a FIFO never blocks it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NOBODY, runEcocheck, runEcocheckSync, unprivilegedRunSkip, type CliOptions } from '../../support/ecocheck-cli.js';
import { handOver } from '../../../src/builder/build-user.js';
import { instantiateHostileRepo } from '../../support/hostile-repo.js';
import { makeHostVictim } from '../../support/host-victim.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { skipWithout } from '../../support/missing-setup.js';

const available = sandboxAvailable();
const skip = skipWithout('bubblewrap', available.ok ? false : `bubblewrap unavailable: ${available.message}`);

/** Each hostile target, its expected status and what its reason says. */
const EXPECTED: Record<string, [string, RegExp]> = {
  // Its reason and first error keep the control sequences as visible escapes (builder/printable-text.ts).
  'terminal-escapes': ['build-failed', /Error: \\x1b\[2J\\x1b\[H\\x1b\]0;all green\\x07 0 regressions$/],
  'install-file-link': [
    'install-failed',
    /install-file-link\.install: a symbolic link leading outside the build directory \(to .*\/secret\.txt\)/,
  ],
  'install-file-fifo': ['install-failed', /install-file-fifo\.install: a FIFO, not a regular file/],
  'config-file-link': ['install-failed', /config-file-link\.config: a symbolic link leading outside the build directory/],
  'config-file-fifo': ['install-failed', /config-file-fifo\.config: a FIFO, not a regular file/],
  'install-source-link': [
    'install-failed',
    /install-source-link\.install: cannot install shadow \(shadow: a symbolic link leading outside the build directory/,
  ],
  'install-dest-link': [
    'install-failed',
    /install-dest-link\.install: cannot install payload \(lib\/install-dest-link: a symbolic link where a directory is expected\)/,
  ],
  'config-dir-link': [
    'install-failed',
    /^config-dir-link\.config cannot be kept: \.opam-switch\/config: a symbolic link where a directory is expected$/,
  ],
  'single-symlink-tarball': ['build-failed', /pkg-1\.0: a symbolic link leading outside the archive/],
  'tarball-link-through': [
    'build-failed',
    /: (pkg\/)?out: a symbolic link leading outside the archive \(to .*\/victim\) \(in download-link-through\.tar\)$/,
  ],
  'substs-via-links': [
    'build-failed',
    /substitution failed: leak\.in: a symbolic link leading outside the build directory .*; sub: a symbolic link leading outside the build directory/,
  ],
  'well-behaved': ['ok', /^$/],
};
const TARGETS = Object.keys(EXPECTED);
const LIMITS = ['--timeout', '60s', '--memory', '512M', '--jobs', '2'];

/** Every regular file under `root` (links not followed) whose bytes contain `marker`. */
function filesContaining(root: string, marker: string): string[] {
  const found: string[] = [];
  const needle = Buffer.from(marker);
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return; // a mode-000 work folder of overlayfs
    }
    for (const name of names) {
      const p = join(dir, name);
      const st = lstatSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) found.push(p);
    }
  };
  walk(root);
  return found;
}

/**
 * The attacks, run by `asUser` (undefined: this process, root where the machine's tests run): every
 * folder of the test is that user's, so what ecocheck could do to the host as that user is what is checked.
 */
async function hostSideAttacks(asUser: number | undefined): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'ecocheck-hostile-host-side-'));
  const cli: CliOptions =
    asUser === undefined
      ? {}
      : { asUser, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(scratch, 'home'), LANG: 'C.UTF-8' } };
  const ecocheckAsync = (args: string[]) => runEcocheck(args, cli);
  const ecocheck = (args: string[]) => runEcocheckSync(args, cli);
  // The host: a folder the builds cannot see (the sandbox's /tmp is private), with a secret and a victim folder.
  const host = makeHostVictim(scratch);
  mkdirSync(join(host.victimDir, 'build', 'kept'), { recursive: true });
  writeFileSync(join(host.victimDir, 'build', 'kept', 'file'), 'kept\n');
  writeFileSync(join(host.victimDir, 'cfg.in'), 'cfg %{prefix}%\n');
  const outside = join(scratch, 'host');
  symlinkSync(host.secret, join(outside, 'secret.txt'));

  // Tarballs made here (their links name the host folder) and served over HTTP.
  const served = join(scratch, 'served');
  const stage = join(scratch, 'stage');
  mkdirSync(served);
  mkdirSync(join(stage, 'single'), { recursive: true });
  symlinkSync(host.victimDir, join(stage, 'single', 'pkg-1.0'));
  execFileSync('tar', ['-cf', join(served, 'single-symlink.tar'), '-C', join(stage, 'single'), 'pkg-1.0']);
  mkdirSync(join(stage, 'a', 'pkg'), { recursive: true });
  symlinkSync(host.victimDir, join(stage, 'a', 'pkg', 'out'));
  mkdirSync(join(stage, 'b', 'pkg', 'out'), { recursive: true });
  writeFileSync(join(stage, 'b', 'pkg', 'out', 'pwned'), 'pwned\n');
  execFileSync('tar', ['-cf', join(served, 'link-through.tar'), '-C', join(stage, 'a'), 'pkg']);
  execFileSync('tar', ['-rf', join(served, 'link-through.tar'), '-C', join(stage, 'b'), 'pkg/out/pwned']);
  const server = createServer((req, res) => {
    try {
      const body = readFileSync(join(served, (req.url ?? '/').replace(/^\//, '').replace(/\//g, '_')));
      res.writeHead(200);
      res.end(body);
    } catch {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;

  const repo = instantiateHostileRepo({ marker: 1, port, outside }, scratch);
  // The patch of substs-via-links names the host folder too (files/ has no placeholders of its own).
  const patch = join(repo.root, 'packages/substs-via-links/substs-via-links.1.0/files/links.patch');
  writeFileSync(patch, readFileSync(patch, 'utf8').split('@OUTSIDE@').join(outside));
  const state = join(scratch, 'state');
  if (asUser !== undefined) {
    // The user's own: the repository copy, the host stand-in (its secret readable by that user alone), a HOME.
    mkdirSync(join(scratch, 'home'));
    handOver(scratch, { uid: asUser, gid: asUser });
    chmodSync(scratch, 0o755);
  }
  try {
    const before = host.snapshot();
    const started = Date.now();
    // The tarballs carry no checksum and come from the loopback: the test's server is named, as a user names a mirror.
    const r = await ecocheckAsync([
      'check',
      '--repo',
      repo.root,
      '--baseline',
      '--compiler',
      '1.0',
      '--state-dir',
      state,
      ...LIMITS,
      '--allow-local-sources',
      `http://127.0.0.1:${port}`,
      ...TARGETS,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const elapsed = Date.now() - started;

    const report = ecocheck(['report', '--state-dir', state, '--format', 'json']);
    assert.equal(report.code, 0, report.stderr);
    const results = new Map<string, { status: string; reason: string }>();
    const collect = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === 'object') {
        const o = v as Record<string, unknown>;
        if (typeof o.id === 'string' && typeof o.status === 'string' && typeof o.reason === 'string')
          results.set(o.id, { status: o.status, reason: o.reason });
        Object.values(o).forEach(collect);
      }
    };
    collect(JSON.parse(report.stdout));
    for (const [name, [status, reason]] of Object.entries(EXPECTED)) {
      const got = results.get(`${name}.1.0`);
      assert.ok(got, `${name} has a result in the report: ${report.stdout.slice(0, 2000)}`);
      assert.equal(`${name} ${got.status}`, `${name} ${status}`, got.reason);
      assert.match(got.reason, reason, name);
    }

    // Nothing of the host changed: the victim folder keeps its build/ and its files, nothing was written into it.
    assert.deepEqual(host.snapshot(), before, 'the host folder is unchanged');
    // The secret is in no log, no report, no layer, no database.
    for (const name of TARGETS) {
      const log = ecocheck(['log', name, '--state-dir', state]);
      assert.equal(log.code, 0, log.stderr);
      assert.ok(!log.stdout.includes(host.marker), `the log of ${name} holds the secret`);
    }
    assert.ok(!report.stdout.includes(host.marker), 'the report holds the secret');
    assert.ok(!r.stdout.includes(host.marker) && !r.stderr.includes(host.marker), 'the output holds the secret');
    // No control sequence of a package reaches the terminal (no colours either: the output is not a terminal).
    const terminal = ecocheck(['report', '--state-dir', state]);
    for (const [what, text] of [
      ['check output', r.stdout + r.stderr],
      ['terminal report', terminal.stdout],
      ['json report', report.stdout],
    ]) {
      assert.ok(!/[\u0000-\u0008\u000b-\u001f\u007f]/.test(text), `a control character is in the ${what}`);
    }
    assert.deepEqual(filesContaining(state, host.marker), [], 'no file of the state folder holds the secret');
    // The FIFOs did not hold the run: every job ended well before the timeouts.
    assert.ok(elapsed < 300_000, `the run took ${elapsed} ms`);
  } finally {
    server.close();
    repo.dispose();
    rmSync(scratch, { recursive: true, force: true });
  }
}

test(
  'hostile packages cannot make the host process read, write or delete outside their folders, nor hang it',
  { skip, timeout: 600_000 },
  () => hostSideAttacks(undefined),
);

test(
  'the same, with ecocheck run by an unprivileged user (user namespaces)',
  { skip: skip || unprivilegedRunSkip(), timeout: 600_000 },
  () => hostSideAttacks(NOBODY),
);
