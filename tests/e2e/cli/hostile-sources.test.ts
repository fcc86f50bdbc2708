/**
 * `ecocheck check` on hostile sources (fixtures/hostile-repo): a repository package whose `url` or
 * `extra-source` is a host file or folder outside every folder the user named — `file://<tmp>/secret`,
 * `file:///etc/shadow`, a host folder, a link inside the repository to a file outside, a `git+file://`
 * checkout outside — is fetch-failed with a one-line reason naming the address and the flag, and the
 * secret reaches no log, report, export or stored layer; `--allow-local-sources` (or the config's
 * `allowLocalSources`) lets it be fetched; a folder that does not exist is a usage error. And a source
 * without a checksum: a local one's content is in its job key (editing the file rebuilds its job and
 * the jobs built on it, nothing else); a remote one is built again at every run, with what was fetched
 * hashed in its log.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { runEcocheck, runEcocheckSync } from '../../support/ecocheck-cli.js';
import { recordedRunResults } from '../../support/recorded-runs.js';

/** ecocheck, without blocking this process's event loop (the test's HTTP server must keep answering). */
const ecocheck = (args: string[], cwd: string = projectRoot) => runEcocheck(args, { cwd });
const ecocheckSync = (args: string[]) => runEcocheckSync(args);
import { instantiateHostileRepo, type HostileRepoCopy } from '../../support/hostile-repo.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { skipWithout } from '../../support/missing-setup.js';

const available = sandboxAvailable();
const skip = skipWithout('bubblewrap', available.ok ? false : `bubblewrap unavailable: ${available.message}`);
const LIMITS = ['--timeout', '20s', '--memory', '256M', '--jobs', '2'];
const HOSTILE = [
  'local-secret',
  'etc-shadow',
  'host-folder-extra',
  'symlinked-distfile',
  'git-outside',
  'loopback-secret',
  'metadata-endpoint',
];

/** The results of each recorded run (oldest first). */
const runResults = (state: string) => recordedRunResults(state, 'name');

/** Every regular file under `root` whose bytes contain `needle` (links are not followed). */
function filesContaining(root: string, needle: string): string[] {
  const found: string[] = [];
  const bytes = Buffer.from(needle);
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile() && readFileSync(p).includes(bytes)) found.push(p);
    }
  };
  walk(root);
  return found;
}

function git(dir: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args], {
    cwd: dir,
    stdio: 'ignore',
  });
}

let scratch: string;
let outside: string;
let marker: string;
let repo: HostileRepoCopy;
let server: Server;
let served = 0;
let secretRequests = 0;

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ecocheck-hostile-sources-'));
  outside = join(scratch, 'outside');
  mkdirSync(outside);
  marker = `SECRET-${randomBytes(12).toString('hex')}`;
  const secret = join(outside, 'secret');
  writeFileSync(secret, `${marker}\n`);
  chmodSync(secret, 0o600);
  const gitsrc = join(outside, 'gitsrc');
  mkdirSync(gitsrc);
  git(gitsrc, 'init', '-q');
  writeFileSync(join(gitsrc, 'secret'), `${marker}\n`);
  git(gitsrc, 'add', 'secret');
  git(gitsrc, 'commit', '-q', '-m', 'secret');
  // The remote source without a checksum: a new content at every request.
  server = createServer((req, res) => {
    if (req.url === '/secret') {
      // A service of the machine's own network: what a checksum-less source must not fetch.
      secretRequests++;
      res.end(`${marker}\n`);
      return;
    }
    served++;
    res.end(`remote data ${served}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  repo = instantiateHostileRepo({ marker: 1, outside, port: (server.address() as AddressInfo).port }, scratch);
  symlinkSync(secret, join(repo.root, 'distfiles', 'secret-link'));
});

after(() => {
  server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const refusal = (address: string) =>
  `fetch failed: ${address}: a local source outside the folders you named; add --allow-local-sources DIR to allow it`;
/** The refusal of a checksum-less download from an address that is not on the public internet. */
const privateRefusal = (host: string, ip: string, origin: string) =>
  `fetch failed: ${host} is ${ip}, not a public address: a source without a checksum is fetched from the public internet only (add --allow-local-sources ${origin} to allow it)`;

test(
  'local sources outside the folders named are fetch-failed with one line; the secret reaches no log, report, export or layer',
  { skip },
  async () => {
    const state = join(scratch, 'state-refused');
    const r = await ecocheck([
      'check',
      '--repo',
      repo.root,
      '--baseline',
      '--compiler',
      '1.0',
      '--state-dir',
      state,
      ...LIMITS,
      ...HOSTILE,
      'well-behaved',
    ]);
    assert.equal(r.code, 0, r.stderr);
    const [run] = runResults(state);
    assert.equal(run.get('well-behaved')?.status, 'ok', 'the run goes on');
    const expected: Record<string, string> = {
      'local-secret': `file://${outside}/secret`,
      'etc-shadow': 'file:///etc/shadow',
      'host-folder-extra': `file://${outside}`,
      'symlinked-distfile': `file://${repo.root}/distfiles/secret-link`,
      'git-outside': `git+file://${outside}/gitsrc#main`,
    };
    const port = (server.address() as AddressInfo).port;
    const reasons: Record<string, string> = {
      ...Object.fromEntries(Object.entries(expected).map(([name, address]) => [name, refusal(address)])),
      'loopback-secret': privateRefusal(`127.0.0.1:${port}`, '127.0.0.1', `http://127.0.0.1:${port}`),
      'metadata-endpoint': privateRefusal('169.254.169.254', '169.254.169.254', 'http://169.254.169.254'),
    };
    for (const [name, reason] of Object.entries(reasons)) {
      const res = run.get(name)!;
      assert.equal(res.status, 'fetch-failed', `${name}: ${res.reason}`);
      assert.equal(res.reason, reason, name);
      assert.equal(res.cached, false);
    }
    assert.equal(secretRequests, 0, 'the service on the loopback was reached');

    // Everything a user or a pull-request comment could see.
    const outputs: [string, string][] = [
      ['check stdout', r.stdout],
      ['check stderr', r.stderr],
    ];
    for (const format of ['json', 'markdown', 'terminal']) {
      const rep = ecocheckSync(['report', '--state-dir', state, '--format', format]);
      assert.ok(rep.code === 0 || rep.code === 1, rep.stderr);
      outputs.push([`report ${format}`, rep.stdout]);
    }
    for (const name of HOSTILE) {
      const log = ecocheckSync(['log', name, '--state-dir', state]);
      assert.equal(log.code, 0, log.stderr);
      assert.match(log.stdout, new RegExp(`^# fetch-failed: ${reasons[name].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm'));
      outputs.push([`log ${name}`, log.stdout]);
    }
    const exported = join(scratch, 'export.json');
    const ex = ecocheckSync(['export', '1', '--state-dir', state, '--logs', '--output', exported]);
    assert.equal(ex.code, 0, ex.stderr);
    outputs.push(['export', readFileSync(exported, 'utf8')]);
    for (const [what, text] of outputs) assert.ok(!text.includes(marker), `the secret is in ${what}`);
    // The state folder: database, logs, layers, download cache.
    assert.deepEqual(filesContaining(state, marker), [], 'the secret is stored nowhere');
    // /etc/shadow: no line of it anywhere either (where this process can read it to compare).
    let shadow: string[] = [];
    try {
      shadow = readFileSync('/etc/shadow', 'utf8')
        .split('\n')
        .filter((l) => l.length > 8);
    } catch {
      // not readable here: nothing to compare
    }
    for (const line of shadow) {
      for (const [what, text] of outputs) assert.ok(!text.includes(line), `a line of /etc/shadow is in ${what}`);
      assert.deepEqual(filesContaining(state, line), [], 'a line of /etc/shadow is stored');
    }

    // The fix the reason names: a rerun allowing the folder fetches the source (and records the folder).
    const rerun = await ecocheck(['rerun', '--state-dir', state, ...LIMITS, '--allow-local-sources', outside]);
    assert.ok(rerun.code === 0 || rerun.code === 1, rerun.stderr);
    const again = runResults(state)[1];
    assert.equal(again.get('local-secret')?.status, 'ok', again.get('local-secret')?.reason);
    assert.equal(again.get('etc-shadow')?.reason, refusal('file:///etc/shadow'));
  },
);

test('--allow-local-sources DIR (or "allowLocalSources" in ecocheck.json) lets a source there be fetched', { skip }, async () => {
  const state = join(scratch, 'state-allowed');
  const r = await ecocheck([
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
    outside,
    'local-secret',
    'git-outside',
    'etc-shadow',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const [run] = runResults(state);
  assert.equal(run.get('local-secret')?.status, 'ok', run.get('local-secret')?.reason);
  assert.equal(run.get('git-outside')?.status, 'ok', run.get('git-outside')?.reason);
  assert.equal(run.get('etc-shadow')?.reason, refusal('file:///etc/shadow'), 'only the folder named');
  assert.ok(ecocheckSync(['log', 'local-secret', '--state-dir', state]).stdout.includes(marker), 'it was fetched and built');
  // The run records the folder; a rerun (of etc-shadow, which failed) allows it again, and records it too.
  const rerun = await ecocheck(['rerun', '--state-dir', state, ...LIMITS]);
  assert.ok(rerun.code === 0 || rerun.code === 1, rerun.stderr);
  const runs = JSON.parse(ecocheckSync(['runs', '--state-dir', state, '--json']).stdout) as {
    kind: string;
    options: { allowLocalSources?: string[] };
  }[];
  assert.deepEqual(
    runs.map((r) => [r.kind, r.options.allowLocalSources]),
    [
      ['rerun', [outside]],
      ['baseline', [outside]],
    ],
  );
  assert.equal(runResults(state)[1].get('etc-shadow')?.reason, refusal('file:///etc/shadow'));

  // The same from the project config, relative to the file.
  const project = join(scratch, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'ecocheck.json'), JSON.stringify({ repositories: [repo.root], allowLocalSources: ['../outside'] }));
  const state2 = join(scratch, 'state-config');
  const c = await ecocheck(['check', '--baseline', '--compiler', '1.0', '--state-dir', state2, ...LIMITS, 'local-secret'], project);
  assert.equal(c.code, 0, c.stderr);
  assert.equal(runResults(state2)[0].get('local-secret')?.status, 'ok');

  // An http(s) origin named: a checksum-less source is downloaded from it although it is on the loopback.
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const state3 = join(scratch, 'state-origin');
  const o = await ecocheck([
    'check',
    '--repo',
    repo.root,
    '--baseline',
    '--compiler',
    '1.0',
    '--state-dir',
    state3,
    ...LIMITS,
    '--allow-local-sources',
    `${origin}/`,
    'loopback-secret',
    'metadata-endpoint',
  ]);
  assert.equal(o.code, 0, o.stderr);
  const [viaOrigin] = runResults(state3);
  assert.equal(viaOrigin.get('loopback-secret')?.status, 'ok', viaOrigin.get('loopback-secret')?.reason);
  assert.equal(viaOrigin.get('metadata-endpoint')?.status, 'fetch-failed', 'only the origin named');
  const bad = ecocheckSync(['plan', '--repo', repo.root, '--compiler', '1.0', '--allow-local-sources', `${origin}/path`, 'well-behaved']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal(bad.stderr, `ecocheck: --allow-local-sources ${origin}/path: not an http(s) origin (http://HOST[:PORT])\n`);
});

test('an --allow-local-sources folder that does not exist is a usage error (exit 2, one line), before anything runs', () => {
  const state = join(scratch, 'state-usage');
  const missing = join(scratch, 'no-such-folder');
  const r = ecocheckSync([
    'check',
    '--repo',
    repo.root,
    '--compiler',
    '1.0',
    '--state-dir',
    state,
    '--allow-local-sources',
    missing,
    'well-behaved',
  ]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr, `ecocheck: --allow-local-sources ${missing}: no such folder\n`);
  assert.ok(!existsSync(join(state, 'ecocheck.sqlite')) || runResults(state).length === 0, 'no run recorded');
  const p = ecocheckSync(['plan', '--repo', repo.root, '--compiler', '1.0', '--allow-local-sources', missing, 'well-behaved']);
  assert.equal(p.code, 2, p.stderr);
  // The config's: named with its file.
  const project = join(scratch, 'project-missing');
  mkdirSync(project);
  const config = join(project, 'ecocheck.json');
  writeFileSync(config, JSON.stringify({ repositories: [repo.root], allowLocalSources: ['gone'] }));
  const c = ecocheckSync(['plan', '--config', config, '--compiler', '1.0', 'well-behaved']);
  assert.equal(c.code, 2, c.stderr);
  assert.equal(c.stderr, `ecocheck: ${config}: "allowLocalSources": ${join(project, 'gone')}: no such folder\n`);
});

test(
  'a checksum-less local source edited: its job and the jobs built on it are built again, nothing else; a remote one is built again every run',
  { skip },
  async () => {
    const state = join(scratch, 'state-keys');
    const targets = ['local-data', 'uses-local-data', 'remote-data', 'uses-remote-data', 'well-behaved'];
    const check = async () => {
      // The test's server is on the loopback: named, as a user names a private mirror.
      const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const r = await ecocheck([
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
        origin,
        ...targets,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const runs = runResults(state);
      const run = runs[runs.length - 1];
      for (const t of targets) assert.equal(run.get(t)?.status, 'ok', `${t}: ${run.get(t)?.reason}`);
      return {
        stderr: r.stderr,
        rebuilt: targets.filter((t) => !run.get(t)!.cached).sort(),
        keys: new Map(targets.map((t) => [t, run.get(t)!.jobKey])),
      };
    };
    const first = await check();
    assert.deepEqual(first.rebuilt, [...targets].sort());
    const second = await check();
    assert.deepEqual(
      second.rebuilt,
      ['remote-data', 'uses-remote-data'],
      'nothing changed: only the unverifiable source and what is built on it',
    );
    assert.match(second.stderr, /2 job\(s\) have a remote source without a checksum, or depend on one: built again, never reused/);
    assert.match(
      ecocheckSync(['log', 'remote-data', '--state-dir', state]).stdout,
      /^# fetched without a checksum: content [0-9a-f]{64} \(sha256 of the build directory as fetched\)$/m,
    );
    writeFileSync(join(repo.root, 'distfiles', 'local-data.txt'), 'local data, version 2\n');
    const third = await check();
    assert.deepEqual(third.rebuilt, ['local-data', 'remote-data', 'uses-local-data', 'uses-remote-data']);
    assert.notEqual(third.keys.get('local-data'), second.keys.get('local-data'));
    assert.notEqual(third.keys.get('uses-local-data'), second.keys.get('uses-local-data'));
    assert.equal(third.keys.get('well-behaved'), second.keys.get('well-behaved'));
    assert.match(ecocheckSync(['log', 'uses-local-data', '--state-dir', state]).stdout, /local data, version 2/);
  },
);
