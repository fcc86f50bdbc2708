/**
 * `ecocheck check` on the hostile fixture repository (fixtures/hostile-repo), driven as a user would, in
 * the bubblewrap sandbox with small limits: each hostile package is contained and classified by evidence
 * (timeout, out-of-memory, network denied), nothing outside its build directory and prefix changes on the
 * host, a well-behaved package of the same run still builds, a timeout in a candidate run is spurious
 * (not a regression), `--no-sandbox` warns, and a missing bubblewrap is a one-line error saying how to
 * install it. Builds run as an unprivileged host user (the build user when ecocheck is root, the
 * invoking user otherwise: both are tested): a root-only file is unreadable and never reaches the log,
 * the report or the store, and no setuid or setgid file reaches the store. (The process runner's own handling of each hostile script is tested in
 * tests/builder/sandbox.test.ts and tests/builder/process-runner.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { NOBODY, runEcocheck, runEcocheckSync, unprivilegedRunSkip } from '../../support/ecocheck-cli.js';
import { recordedRunResults } from '../../support/recorded-runs.js';

/** ecocheck, without blocking this process's event loop (the test's listener must keep accepting). */
const ecocheckAsync = (args: string[], env: NodeJS.ProcessEnv = process.env) => runEcocheck(args, { env });
const ecocheck = (args: string[]) => runEcocheckSync(args);
import { instantiateHostileRepo } from '../../support/hostile-repo.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { handOver, sandboxIds } from '../../../src/builder/build-user.js';
import { openDatabase } from '../../../src/store/database.js';
import { skipWithout } from '../../support/missing-setup.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const available = sandboxAvailable();
const skip = skipWithout('bubblewrap', available.ok ? false : `bubblewrap unavailable: ${available.message}`);

/** Every hostile target but fills-disk (which only misbehaves on a small disk). */
const TARGETS = ['well-behaved', 'sleeps-forever', 'allocates-forever', 'opens-network', 'fork-bomb', 'escapes-sandbox', 'slow-on-2'];
// A process limit the fork bomb (2047 processes) reaches well within its 3 s, however loaded the machine.
const LIMITS = ['--timeout', '3s', '--memory', '256M', '--processes', '200', '--jobs', '2'];

/** `ecocheck log PACKAGE` of the newest run: its text. */
function buildLog(pkg: string, state: string): string {
  const r = ecocheck(['log', pkg, '--state-dir', state]);
  assert.equal(r.code, 0, `ecocheck log ${pkg}: ${r.stderr}`);
  return r.stdout;
}

/** The results of each recorded run (oldest first). */
const runResults = (state: string) => recordedRunResults(state);

/** Every path under `root` with its type, size and content hash (mtimes change on reads of directories). */
function contentSnapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        out.set(p, 'dir');
        walk(p);
      } else {
        out.set(p, `${statSync(p).mode.toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`);
      }
    }
  };
  walk(root);
  return out;
}

/** Every path under `root` whose name contains `needle`. */
function findNamed(root: string, needle: string): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.name.includes(needle)) found.push(p);
      if (e.isDirectory() && !e.isSymbolicLink()) walk(p);
    }
  };
  walk(root);
  return found;
}

/**
 * The machine's living processes: how many, and those of ours: a command line mentioning `marker` (the
 * hostile sleepers) or a working directory under `scratch` (every build of the test runs there).
 */
function processes(marker: string, scratch: string): { count: number; ours: string[] } {
  let count = 0;
  const ours: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let cmdline: string;
    let state: string;
    let cwd = '';
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    } catch {
      continue; // gone meanwhile
    }
    try {
      cwd = readlinkSync(`/proc/${name}/cwd`);
    } catch {
      // a kernel thread, or gone
    }
    if (state === 'Z') continue;
    count++;
    if (cmdline.includes(marker) || cwd === scratch || cwd.startsWith(`${scratch}/`)) ours.push(`${name} (in ${cwd}): ${cmdline}`);
  }
  return { count, ours };
}

/** A listener on 127.0.0.1 counting the connections it receives. */
async function listener(): Promise<{ server: Server; port: number; connections: () => number }> {
  let n = 0;
  const server = createServer((socket) => {
    n++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, connections: () => n };
}

/**
 * A scratch folder outside /tmp: the sandbox gives each build a private /tmp, so a path under the host's
 * /tmp is invisible inside it and "could not write there" would prove nothing. Under the home folder,
 * the sandbox sees the real (read-only) directories.
 */
function visibleScratch(): string {
  return mkdtempSync(join(homedir(), '.ecocheck-hostile-test-'));
}

test(
  'hostile packages are contained and classified; nothing outside their build reaches the host; a timeout in the candidate is spurious',
  { skip },
  async () => {
    const scratch = visibleScratch();
    const marker = String(700_000 + Math.floor(Math.random() * 200_000));
    const net = await listener();
    const outside = join(scratch, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'victim.txt'), 'the victim file\n');
    const repo = instantiateHostileRepo({ marker: Number(marker), port: net.port, outside }, scratch);
    const state = join(scratch, 'state');
    const hostMarkers = [
      `/tmp/escape-marker-${marker}`,
      `/var/tmp/escape-marker-${marker}`,
      join(homedir(), `.escape-marker-${marker}`),
      join(outside, `escape-marker-${marker}`),
      join(repo.root, `escape-marker-${marker}`),
      join(state, 'store', `escape-marker-${marker}`),
    ];
    try {
      const before = processes(marker, scratch);
      const outsideBefore = contentSnapshot(outside);
      const repoBefore = contentSnapshot(repo.root);

      const baseline = await ecocheckAsync([
        'check',
        '--repo',
        repo.root,
        '--baseline',
        '--compiler',
        '1.0',
        '--state-dir',
        state,
        ...LIMITS,
        ...TARGETS,
      ]);
      assert.equal(baseline.code, 0, baseline.stderr);
      const [run1] = runResults(state);
      const status = (id: string) => run1.get(id)?.status;
      // One bad package never stops a run: every target has its own result.
      assert.deepEqual([...run1.keys()].sort(), TARGETS.map((t) => `${t}.1.0`).sort());
      assert.equal(status('well-behaved.1.0'), 'ok');
      assert.equal(status('slow-on-2.1.0'), 'ok');
      assert.equal(status('escapes-sandbox.1.0'), 'ok', run1.get('escapes-sandbox.1.0')?.reason);
      assert.equal(status('sleeps-forever.1.0'), 'timeout');
      assert.match(run1.get('sleeps-forever.1.0')!.reason, /^build timed out: killed after the 3\.0 s timeout/);
      assert.equal(status('allocates-forever.1.0'), 'out-of-memory', run1.get('allocates-forever.1.0')?.reason);
      assert.match(
        run1.get('allocates-forever.1.0')!.reason,
        /^build ran out of memory: (the kernel OOM killer killed \d+ process(es)? of the job at its 256 MiB cgroup memory limit|output says: .*(MemoryError|Cannot allocate memory)|killed by SIGKILL under a memory limit of 256 MiB)/,
      );
      assert.equal(status('opens-network.1.0'), 'build-failed');
      assert.match(
        run1.get('opens-network.1.0')!.reason,
        /^build failed \(exit code 1\) after trying to access the network, which the build sandbox denies: output says: .*Network is unreachable/,
      );
      assert.equal(net.connections(), 0, 'no connection reached the host listener');
      const forkBomb = run1.get('fork-bomb.1.0')!;
      assert.ok(forkBomb.status === 'timeout' || forkBomb.status === 'build-failed', `fork-bomb: ${forkBomb.status}: ${forkBomb.reason}`);
      const forkLog = buildLog('fork-bomb', state);
      if (/process limit 200 via cgroup v1 pids/.test(forkLog)) {
        // Its 2047 processes hit the job's limit of 200: forks were refused before the timeout.
        assert.match(forkLog, /fork: (retry: )?Resource temporarily unavailable/);
        assert.match(forkLog, /^# evidence: \d+ forks? (was|were) refused at the job's limit of 200 processes \(cgroup pids\)$/m);
      }
      assert.match(forkLog, /^# evidence: killed after the 3\.0 s timeout$/m);
      const hogLog = buildLog('allocates-forever', state);
      if (/^# memory limit 256 MiB via cgroup v1/m.test(hogLog)) {
        assert.match(hogLog, /^# evidence: the kernel OOM killer killed \d+ process(es)? of the job at its 256 MiB cgroup memory limit/m);
      }

      // The log says which memory limit was in force.
      assert.match(buildLog('allocates-forever', state), /^# memory limit 256 MiB via (cgroup v1|RLIMIT_AS)/m);

      // Every process of every job is gone, and the machine's process count is back to normal.
      const after = processes(marker, scratch);
      assert.deepEqual(after.ours, [], 'no process of a hostile job is left');
      // Other work may run on the machine meanwhile; a fork bomb that got out would leave about a thousand.
      assert.ok(after.count <= before.count + 200, `process count ${before.count} before, ${after.count} after`);

      // The escape attempts: denied inside the sandbox, which shows the system directories and the job's
      // own switch, build directory, HOME and /tmp only (the /tmp ones land in its private /tmp) ...
      const escapeLog = buildLog('escapes-sandbox', state);
      for (const line of [
        `denied: write ${join(homedir(), `.escape-marker-${marker}`)}`,
        `denied: write ${join(outside, `escape-marker-${marker}`)}`,
        `denied: write ${join(repo.root, `escape-marker-${marker}`)}`,
        `denied: write /home/opam/.opam/default/lib/ocaml-base-compiler/escape-marker-${marker}`,
        `denied: append ${join(outside, 'victim.txt')}`,
      ]) {
        assert.ok(escapeLog.includes(`\n${line}\n`), `the log says "${line}":\n${escapeLog}`);
      }
      // ... a dependency's file is the job's to overwrite in its switch, as in opam's (the switch is
      // writable); the write lands in the job's own layer, never in the dependency's ...
      assert.ok(escapeLog.includes('\nESCAPED: overwrite /home/opam/.opam/default/bin/compiler\n'), escapeLog);
      const layerOf = (name: string, version: string): string => {
        const db = openDatabase(join(state, 'ecocheck.sqlite'), { readonly: true });
        try {
          const row = db
            .prepare(
              `SELECT r.job_key AS key FROM results r JOIN jobs j ON j.key = r.job_key WHERE j.name = ? AND j.version = ? AND r.status = 'ok' ORDER BY r.finished_at DESC LIMIT 1`,
            )
            .get(name, version) as { key: string } | undefined;
          assert.ok(row, `a layer of ${name}.${version}`);
          // Results name a layer by its key: it is the store's folder of that key.
          return join(state, 'store', row.key);
        } finally {
          db.close();
        }
      };
      // ... and on the host, nothing changed.
      for (const p of hostMarkers) assert.ok(!existsSync(p), `${p} was written on the host`);
      assert.deepEqual(contentSnapshot(outside), outsideBefore, 'the outside folder is unchanged');
      assert.deepEqual(contentSnapshot(repo.root), repoBefore, 'the repository is unchanged');
      assert.equal(
        readFileSync(join(layerOf('ocaml-base-compiler', '1.0'), 'bin', 'compiler'), 'utf8'),
        '#!/bin/sh\necho 1.0\n',
        "the dependency's layer is unchanged",
      );
      assert.deepEqual(findNamed(state, `escape-marker-${marker}`), [], 'no marker anywhere in the state folder');
      const bashrc = join(homedir(), '.bashrc');
      assert.ok(!existsSync(bashrc) || !readFileSync(bashrc, 'utf8').includes('echo pwned'), 'the real ~/.bashrc is untouched');
      // Its own switch was writable: the marker it wrote there is in its layer.
      assert.ok(existsSync(join(layerOf('escapes-sandbox', '1.0'), 'installed-marker')), 'the job wrote its own switch');

      // A candidate with compiler 2.0: slow-on-2 now times out. That is spurious, not a regression.
      const candidate = await ecocheckAsync([
        'check',
        '--repo',
        repo.root,
        '--compiler',
        '2.0',
        '--state-dir',
        state,
        '--format',
        'json',
        ...LIMITS,
        ...TARGETS,
      ]);
      assert.equal(candidate.code, 0, candidate.stderr);
      const report = JSON.parse(candidate.stdout) as {
        schema: string;
        regressionsFound: boolean;
        counts: Record<string, number>;
        packages: { key: string; category: string; candidate: { status: string } | null }[];
      };
      assert.equal(report.schema, 'ecocheck.comparison/1');
      const category = new Map(report.packages.map((p) => [p.key, p.category]));
      assert.equal(category.get('slow-on-2'), 'spurious');
      assert.equal(report.packages.find((p) => p.key === 'slow-on-2')!.candidate!.status, 'timeout');
      assert.equal(category.get('well-behaved'), 'still-ok');
      assert.equal(category.get('sleeps-forever'), 'spurious');
      assert.equal(category.get('allocates-forever'), 'spurious');
      assert.equal(category.get('opens-network'), 'still-failing');
      assert.equal(report.regressionsFound, false);
      assert.equal(report.counts.regressed, 0);
      assert.deepEqual(processes(marker, scratch).ours, [], 'no process of the candidate run is left');
      // The Markdown report lists the spurious packages apart from the failures.
      const markdown = ecocheck(['report', '--state-dir', state, '--format', 'markdown']);
      assert.equal(markdown.code, 0, markdown.stderr);
      const spuriousSection = /^### Spurious \((\d+)\)\n([\s\S]*?)(?=^### |$(?![\s\S]))/m.exec(markdown.stdout);
      assert.ok(spuriousSection, markdown.stdout);
      assert.equal(Number(spuriousSection[1]), report.counts.spurious);
      for (const name of ['slow-on-2', 'sleeps-forever', 'allocates-forever'])
        assert.match(spuriousSection[2], new RegExp(`^- \\*\\*${name}\\*\\* `, 'm'));
      assert.doesNotMatch(spuriousSection[2], /\*\*(opens-network|well-behaved)\*\*/);
    } finally {
      net.server.close();
      repo.dispose();
      rmSync(scratch, { recursive: true, force: true });
      for (const p of hostMarkers) rmSync(p, { force: true });
    }
  },
);

test(
  'where cgroups are not used, the memory limit is RLIMIT_AS, the log says so, and unbounded allocation is still out-of-memory',
  { skip },
  async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ecocheck-hostile-rlimit-'));
    const repo = instantiateHostileRepo({ marker: 1, outside: scratch }, scratch);
    try {
      const state = join(scratch, 'state');
      // ECOCHECK_MEMORY_LIMIT=rlimit makes ecocheck choose the fallback even where cgroups work.
      const r = await ecocheckAsync(
        ['check', '--repo', repo.root, '--compiler', '1.0', '--state-dir', state, ...LIMITS, 'allocates-forever', 'well-behaved'],
        { ...process.env, ECOCHECK_MEMORY_LIMIT: 'rlimit' },
      );
      assert.equal(r.code, 0, r.stderr);
      const [run] = runResults(state);
      assert.equal(run.get('well-behaved.1.0')?.status, 'ok', run.get('well-behaved.1.0')?.reason);
      assert.equal(run.get('allocates-forever.1.0')?.status, 'out-of-memory', run.get('allocates-forever.1.0')?.reason);
      assert.match(
        run.get('allocates-forever.1.0')!.reason,
        /^build ran out of memory: output says: .*(MemoryError|Cannot allocate memory)/,
      );
      assert.match(
        buildLog('allocates-forever', state),
        /^# memory limit 256 MiB via RLIMIT_AS \(address space; ECOCHECK_MEMORY_LIMIT=rlimit\)/m,
      );
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  },
);

test('--no-sandbox builds with a warning on stderr, still in a switch of its own', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'ecocheck-hostile-nosandbox-'));
  const repo = instantiateHostileRepo({ marker: 1, outside: scratch }, scratch);
  try {
    const state = join(scratch, 'state');
    const r = ecocheck([
      'check',
      '--repo',
      repo.root,
      '--compiler',
      '1.0',
      '--state-dir',
      state,
      '--no-sandbox',
      ...LIMITS,
      'well-behaved',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /^ecocheck: warning: --no-sandbox: builds see the host's filesystem and the network, with your user rights \(only \/home is private\)$/m,
    );
    assert.equal(runResults(state)[0].get('well-behaved.1.0')?.status, 'ok');
    const log = buildLog('well-behaved', state);
    assert.match(log, /^== well-behaved\.1\.0 \(run #1, .*\): ok$/m);
    // The sandbox's identity names the implementation (bubblewrap, its version, how it drops root).
    assert.match(
      log,
      /# sandbox: bubblewrap\/\d+\+(?:setpriv|userns), network allowed, host filesystem, writable: \/home\/opam \/home\/opam\/\.opam\/default /,
    );
    const sandboxed = ecocheck([
      'check',
      '--repo',
      repo.root,
      '--compiler',
      '1.0',
      '--state-dir',
      join(scratch, 'state2'),
      ...LIMITS,
      'well-behaved',
    ]);
    if (available.ok) assert.doesNotMatch(sandboxed.stderr, /warning/);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
});

/** Whether this process may run a command in a private mount namespace (root with unshare). */
const canUnshare = spawnSync('/usr/bin/unshare', ['-m', 'true']).status === 0;

test(
  'without bubblewrap, check says how to install it (one line, exit 2), and nothing is recorded',
  { skip: skipWithout('mount', canUnshare ? false : 'cannot unshare a mount namespace here') },
  () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ecocheck-hostile-nobwrap-'));
    const repo = instantiateHostileRepo({ marker: 1, outside: scratch }, scratch);
    try {
      const state = join(scratch, 'state');
      // bubblewrap.ts looks for bwrap on PATH and in /usr/bin, /bin, /usr/local/bin: hide every copy of it in
      // a private mount namespace (a bind of /dev/null is not executable), and give a PATH without it.
      const hide = ['/usr/bin/bwrap', '/bin/bwrap', '/usr/local/bin/bwrap']
        .filter((p) => existsSync(p))
        .map((p) => `PATH=/usr/bin:/bin mount --bind /dev/null ${p}`)
        .join(' && ');
      const args = ['check', '--repo', repo.root, '--compiler', '1.0', '--state-dir', state, ...LIMITS, 'well-behaved'];
      const r = spawnSync(
        '/usr/bin/unshare',
        ['-m', '/bin/sh', '-c', `${hide || 'true'} && exec "$0" "$@"`, process.execPath, bin, ...args],
        {
          encoding: 'utf8',
          cwd: projectRoot,
          env: { ...process.env, PATH: `${join(scratch, 'no-bwrap-here')}:/nonexistent` },
        },
      );
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr, /^ecocheck: .*bubblewrap.*apt-get install bubblewrap\n$/);
      assert.equal(r.stderr.split('\n').length, 2, 'one line');
      assert.ok(!existsSync(join(state, 'ecocheck.sqlite')) || runResults(state).length === 0, 'no run recorded');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  },
);

/** The hostile packages trying to become root or read its files, and a well-behaved one. */
const PRIVILEGE_TARGETS = ['well-behaved', 'reads-root-only', 'setuid-shell', 'uses-setuid-shell'];

/** Every entry under `root` (lstat, links not followed) with a setuid or setgid bit. */
function setidEntries(root: string): string[] {
  const found: string[] = [];
  // Paths as bytes: a build may name a file with bytes that are not UTF-8.
  const walk = (p: Buffer) => {
    const st = lstatSync(p);
    if (!st.isSymbolicLink() && (st.mode & 0o6000) !== 0) found.push(`${p.toString()} (${st.mode.toString(8)})`);
    if (st.isDirectory()) for (const e of readdirSync(p, { encoding: 'buffer' })) walk(Buffer.concat([p, Buffer.from('/'), e]));
  };
  walk(Buffer.from(root));
  return found;
}

/** Every regular file under `root` whose bytes contain `needle`. */
function filesContaining(root: string, needle: string): string[] {
  const found: string[] = [];
  const walk = (p: Buffer) => {
    const st = lstatSync(p);
    if (st.isDirectory()) for (const e of readdirSync(p, { encoding: 'buffer' })) walk(Buffer.concat([p, Buffer.from('/'), e]));
    else if (st.isFile() && readFileSync(p).includes(needle)) found.push(p.toString());
  };
  walk(Buffer.from(root));
  return found;
}

/** The lines of /etc/shadow worth keeping secret (with a password field), when this process can read it. */
function shadowSecrets(): string[] {
  try {
    return readFileSync('/etc/shadow', 'utf8')
      .split('\n')
      .filter((l) => l.split(':').length > 2);
  } catch {
    return [];
  }
}

/**
 * The checks shared by the root and the non-root runs of PRIVILEGE_TARGETS: each classified, the shadow
 * file denied and nowhere in the log, the report or the state folder, no setuid or setgid bit in the
 * store, the setuid copies of /bin/sh giving their runner its own uid, the layers owned by `layerOwner`.
 */
function checkPrivilegeRun(state: string, outputs: string[], buildUid: number, layerOwner: number): void {
  const [run] = runResults(state);
  const status = (id: string) => run.get(id)?.status;
  assert.equal(status('well-behaved.1.0'), 'ok', run.get('well-behaved.1.0')?.reason);
  assert.equal(status('setuid-shell.1.0'), 'ok', run.get('setuid-shell.1.0')?.reason);
  assert.equal(status('uses-setuid-shell.1.0'), 'ok', run.get('uses-setuid-shell.1.0')?.reason);
  assert.equal(status('reads-root-only.1.0'), 'build-failed');
  assert.match(run.get('reads-root-only.1.0')!.reason, /^build failed: exit code 1 at .*: cat: \/etc\/shadow: Permission denied$/);
  // The setuid copies of /bin/sh in the switch below it ran with its own uid: not root's.
  const usesLog = buildLog('uses-setuid-shell', state);
  assert.match(usesLog, new RegExp(`^rootsh euid=${buildUid}$`, 'm'));
  assert.match(usesLog, new RegExp(`^installed-rootsh euid=${buildUid}$`, 'm'));
  // No setuid or setgid bit anywhere in the store; every layer file is the build user's.
  const store = join(state, 'store');
  assert.deepEqual(setidEntries(store), []);
  const layers = readdirSync(store).filter((n) => !n.startsWith('.') && !n.endsWith('.done'));
  assert.ok(layers.length >= 5, layers.join(' '));
  const notOwned: string[] = [];
  let badlyNamed = 0;
  for (const layer of layers) {
    const walk = (p: Buffer) => {
      const st = lstatSync(p);
      if (st.uid !== layerOwner) notOwned.push(`${p.toString()} (uid ${st.uid})`);
      if (p.includes(Buffer.from('bad\xffname', 'latin1'))) badlyNamed++;
      if (st.isDirectory()) for (const e of readdirSync(p, { encoding: 'buffer' })) walk(Buffer.concat([p, Buffer.from('/'), e]));
    };
    walk(Buffer.from(join(store, layer)));
  }
  assert.deepEqual(notOwned, [], `every layer file is uid ${layerOwner}'s`);
  // The setuid copy under a name that is not UTF-8 is in the store too, its bits stripped like the others.
  assert.equal(badlyNamed, 1, 'the file named with a byte that is not UTF-8');
  // The root-only file never got out: not in the log, the report, nor anywhere in the state folder.
  const secrets = shadowSecrets();
  const reports = [buildLog('reads-root-only', state), ...outputs];
  for (const format of ['markdown', 'json']) {
    const r = ecocheck(['report', '--state-dir', state, '--format', format]);
    assert.equal(r.code, 1, r.stderr); // a failure found
    reports.push(r.stdout);
  }
  for (const secret of secrets) {
    for (const text of reports) assert.ok(!text.includes(secret), 'a line of /etc/shadow reached a log or report');
    assert.deepEqual(filesContaining(state, secret), [], 'a line of /etc/shadow reached the state folder');
  }
}

test(
  'builds run as an unprivileged user: a root-only file is unreadable and never leaves the host, no setuid file reaches the store',
  { skip },
  async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ecocheck-hostile-privilege-'));
    const repo = instantiateHostileRepo({ marker: 1, outside: scratch }, scratch);
    try {
      const state = join(scratch, 'state');
      const r = await ecocheckAsync([
        'check',
        '--repo',
        repo.root,
        '--compiler',
        '1.0',
        '--state-dir',
        state,
        ...LIMITS,
        ...PRIVILEGE_TARGETS,
      ]);
      assert.equal(r.code, 1, r.stderr); // reads-root-only fails
      // As root, builds run as the build user (a host uid of their own); else as the invoking user.
      const buildUid = sandboxIds().uid;
      assert.notEqual(buildUid, 0);
      const layerOwner = process.getuid?.() === 0 ? buildUid : process.getuid!();
      checkPrivilegeRun(state, [r.stdout, r.stderr], buildUid, layerOwner);
      if (process.getuid?.() === 0) {
        assert.match(
          buildLog('well-behaved', state),
          /^# commands run as (the user ecocheck-build|uid \d+, gid \d+, which no user or group of this host has)/m,
        );
        // A state folder copied without its owners (cp -r as root): the layers a build needs are given back.
        handOver(join(state, 'store'), { uid: 0, gid: 0 });
        const again = await ecocheckAsync([
          'check',
          '--repo',
          repo.root,
          '--compiler',
          '1.0',
          '--state-dir',
          state,
          ...LIMITS,
          'slow-on-2',
        ]);
        assert.equal(again.code, 0, again.stderr);
        assert.equal(runResults(state)[1].get('slow-on-2.1.0')?.status, 'ok', runResults(state)[1].get('slow-on-2.1.0')?.reason);
        assert.match(
          buildLog('slow-on-2', state),
          /^# the layer .* is not the build user's \(a copied state folder\?\): handing it over$/m,
        );
      }
    } finally {
      repo.dispose();
      rmSync(scratch, { recursive: true, force: true });
    }
  },
);

/** Why ecocheck cannot be tried as an unprivileged user here, or false. */
function nonRootSkip(): string | false {
  return skip || unprivilegedRunSkip();
}

test(
  'run by an unprivileged user (user namespaces), check builds the well-behaved package and denies the root-only read',
  { skip: nonRootSkip() },
  async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ecocheck-hostile-nonroot-'));
    const repo = instantiateHostileRepo({ marker: 1, outside: scratch }, scratch);
    try {
      const state = join(scratch, 'state');
      const home = join(scratch, 'home');
      mkdirSync(home);
      // Everything of the test is that user's (the repository copy too: mkdtemp made it 700).
      handOver(scratch, { uid: NOBODY, gid: NOBODY });
      chmodSync(scratch, 0o755);
      const args = ['check', '--repo', repo.root, '--compiler', '1.0', '--state-dir', state, ...LIMITS, ...PRIVILEGE_TARGETS];
      const r = await runEcocheck(args, {
        asUser: NOBODY,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8' },
      });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /sandboxed/);
      // Inside, builds see themselves as uid 1000 of a user namespace; on the host their files are nobody's.
      checkPrivilegeRun(state, [r.stdout, r.stderr], 1000, NOBODY);
      assert.doesNotMatch(buildLog('well-behaved', state), /^# commands run as/m);
    } finally {
      repo.dispose();
      rmSync(scratch, { recursive: true, force: true });
    }
  },
);
