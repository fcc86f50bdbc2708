/**
 * `ecocheck check` on the hostile fixture repository with small disk and inode limits (`--disk 50M
 * --inodes 2000`), in the sandbox: a job filling its build folder, its switch, its unpacking (a gzip
 * bomb) or its inodes is ended and classified `disk-limit` (the evidence in its log), its files
 * removed, never cached and never a regression, while the other jobs of the run go on; a job printing
 * three times the log cap keeps a bounded log saying what was cut, and `ecocheck log` and `ecocheck
 * export --logs` work on it, and on a huge log as older versions kept them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, appendFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot } from '../../support/snapshot.js';
import { ECOCHECK_BIN, runEcocheck } from '../../support/ecocheck-cli.js';
import { recordedRunResults } from '../../support/recorded-runs.js';
import { instantiateHostileRepo } from '../../support/hostile-repo.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';
import { LOG_HEAD_BYTES, LOG_TAIL_BYTES } from '../../../src/builder/build-log.js';
import { openDatabase } from '../../../src/store/database.js';
import { skipWithout } from '../../support/missing-setup.js';

const bin = ECOCHECK_BIN;
/** ecocheck, without blocking this process's event loop (the test's server must keep serving). */
const ecocheckAsync = (args: string[]) => runEcocheck(args);
const available = sandboxAvailable();
const skip = skipWithout('bubblewrap', available.ok ? false : `bubblewrap unavailable: ${available.message}`);

const OVER_LIMIT = ['fills-build-folder', 'fills-switch', 'fills-disk', 'gzip-bomb', 'creates-many-files'];
const TARGETS = ['well-behaved', 'prints-huge-log', ...OVER_LIMIT];
// The timeout is far longer than the watcher needs: the jobs that wait after filling are ended by the disk limit.
const LIMITS = ['--timeout', '60s', '--memory', '512M', '--disk', '50M', '--inodes', '2000', '--jobs', '2'];

/** The results of each recorded run (oldest first). */
const runResults = (state: string) => recordedRunResults(state);

/** The job keys the results cache holds. */
function cachedKeys(state: string): Set<string> {
  const db = openDatabase(join(state, 'ecocheck.sqlite'), { readonly: true });
  try {
    return new Set((db.prepare('SELECT job_key FROM results').all() as { job_key: string }[]).map((r) => r.job_key));
  } finally {
    db.close();
  }
}

function entries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

/** Serves the repository copy's archives over http (a repository's file:// sources are not the point here). */
async function archiveServer(root: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const name = (req.url ?? '').replace(/^\//, '');
    const file = join(root, 'archives', name);
    if (!/^[\w.-]+$/.test(name) || !existsSync(file)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port };
}

test(
  'jobs over --disk or --inodes are ended as disk-limit, removed, never cached nor regressions; the run goes on; a huge log is capped and log/export work',
  { skip },
  async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'ecocheck-hostile-limits-'));
    const marker = 500_000 + Math.floor(Math.random() * 100_000);
    // The archives are served from the fixture (the copy is made once the port is known).
    const { server, port } = await archiveServer(join(projectRoot, 'fixtures', 'hostile-repo'));
    const repo = instantiateHostileRepo({ marker, port, outside: mkdtempSync(join(scratch, 'outside-')) }, scratch);
    const state = join(scratch, 'state');
    try {
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
        '--allow-local-sources',
        `http://127.0.0.1:${port}`,
        ...TARGETS,
      ]);
      assert.equal(baseline.code, 0, baseline.stderr);
      assert.match(baseline.stderr, /disk limit 50 MiB and 2,000 inodes/);
      const [run1] = runResults(state);
      assert.deepEqual([...run1.keys()].sort(), TARGETS.map((t) => `${t}.1.0`).sort());
      assert.equal(run1.get('well-behaved.1.0')?.status, 'ok');
      assert.equal(run1.get('prints-huge-log.1.0')?.status, 'ok', run1.get('prints-huge-log.1.0')?.reason);
      for (const name of OVER_LIMIT) {
        const r = run1.get(`${name}.1.0`)!;
        assert.equal(r.status, 'disk-limit', `${name}: ${r.status}: ${r.reason}`);
        // Ended by the limit, not by the 60 s timeout.
        assert.ok((r.durationMs ?? 0) < 40_000, `${name} took ${r.durationMs} ms`);
      }
      const reason = (name: string) => run1.get(`${name}.1.0`)!.reason;
      assert.match(
        reason('fills-build-folder'),
        /^the job used (at least )?[\d.]+ MiB of disk, over its --disk limit of 50 MiB \(during build/,
      );
      assert.match(reason('fills-switch'), /^the job used (at least )?[\d.]+ MiB of disk, over its --disk limit of 50 MiB \(during build/);
      assert.match(reason('fills-disk'), /file size limit of 50 MiB \(RLIMIT_FSIZE, the --disk limit\)|over its --disk limit of 50 MiB/);
      assert.match(reason('gzip-bomb'), /over its --disk limit of 50 MiB \(during fetch|file size limit of 50 MiB/);
      assert.match(
        reason('creates-many-files'),
        /^the job used (at least )?[\d,]+ inodes \(files, folders, links\), over its --inodes limit of 2,000 \(during build/,
      );

      // The evidence is in the log, which `ecocheck log` prints.
      const log = spawnSync(process.execPath, [bin, 'log', 'fills-build-folder', '--state-dir', state], { encoding: 'utf8' });
      assert.equal(log.status, 0, log.stderr);
      assert.match(log.stdout, /^# evidence: the job used (at least )?[\d.]+ MiB of disk, over its --disk limit of 50 MiB$/m);
      assert.match(log.stdout, /^# disk limit 50 MiB and 2,000 inodes/m);

      // Their files are gone: no layer, no build folder, no upper directory; and nothing is cached.
      const cached = cachedKeys(state);
      for (const name of OVER_LIMIT) {
        const key = run1.get(`${name}.1.0`)!.jobKey!;
        assert.ok(!existsSync(join(state, 'store', key)), `${name}: no layer`);
        assert.ok(!cached.has(key), `${name}: not cached`);
      }
      assert.deepEqual(entries(join(state, 'build')), []);
      assert.deepEqual(entries(join(state, 'store', '.incoming')), []);
      assert.ok(cached.has(run1.get('well-behaved.1.0')!.jobKey!));

      // The huge log: bounded, saying what was cut, its first and last lines kept.
      const hugeLog = run1.get('prints-huge-log.1.0')!.logPath!;
      assert.ok(statSync(hugeLog).size <= LOG_HEAD_BYTES + LOG_TAIL_BYTES + 64 * 1024, `${statSync(hugeLog).size} bytes`);
      const hugeText = readFileSync(hugeLog, 'utf8');
      assert.match(hugeText, /^first line of the build$/m);
      assert.match(hugeText, /^\[\.\.\. [\d,]+ bytes of output cut \.\.\.\]$/m);
      assert.match(hugeText, /^last line of the build\n\[exit code 0 after/m);
      const shown = spawnSync('sh', ['-c', `"${process.execPath}" "${bin}" log prints-huge-log --state-dir "${state}" | wc -c`], {
        encoding: 'utf8',
      });
      assert.equal(shown.status, 0, shown.stderr);
      assert.ok(Number(shown.stdout.trim()) >= statSync(hugeLog).size);

      // A candidate run: the jobs over the limit are built again (never cached) and are spurious, not regressions.
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
        '--allow-local-sources',
        `http://127.0.0.1:${port}`,
        ...TARGETS,
      ]);
      assert.equal(candidate.code, 0, candidate.stderr);
      const report = JSON.parse(candidate.stdout) as {
        regressionsFound: boolean;
        packages: { key: string; category: string; candidate: { status: string } | null }[];
      };
      const category = new Map(report.packages.map((p) => [p.key, p.category]));
      for (const name of OVER_LIMIT) {
        assert.equal(category.get(name), 'spurious', name);
        assert.equal(report.packages.find((p) => p.key === name)!.candidate!.status, 'disk-limit');
      }
      assert.equal(category.get('well-behaved'), 'still-ok');
      assert.equal(category.get('prints-huge-log'), 'still-ok');
      assert.equal(report.regressionsFound, false);
      const [, run2] = runResults(state);
      for (const name of OVER_LIMIT) assert.equal(run2.get(`${name}.1.0`)?.cached, false, `${name} was built again`);

      // A huge log left by an older version (kept whole): log and export still work, in bounded memory.
      const oldLog = run1.get('fills-build-folder.1.0')!.logPath!;
      appendFileSync(oldLog, 'the old log goes on\n');
      truncateSync(oldLog, 1536 * 1024 * 1024); // 1.5 GiB, more than a string can hold
      appendFileSync(oldLog, '\nthe very end of the old log\n');
      const logOfOld = spawnSync(
        'sh',
        ['-c', `"${process.execPath}" "${bin}" log fills-build-folder --run 1 --state-dir "${state}" | tail -c 100`],
        { encoding: 'utf8' },
      );
      assert.equal(logOfOld.status, 0, logOfOld.stderr);
      assert.match(logOfOld.stdout, /the very end of the old log\n$/);
      const exportFile = join(scratch, 'run1.json');
      const exported = spawnSync(process.execPath, [bin, 'export', '1', '--output', exportFile, '--logs', '--state-dir', state], {
        encoding: 'utf8',
      });
      assert.equal(exported.status, 0, exported.stderr);
      const data = JSON.parse(readFileSync(exportFile, 'utf8')) as { logs: Record<string, string>; missingLogs: string[] };
      assert.deepEqual(data.missingLogs, []);
      const exportedOld = data.logs[oldLog];
      assert.ok(exportedOld.length <= LOG_HEAD_BYTES + LOG_TAIL_BYTES + 1024, `${exportedOld.length}`);
      assert.match(exportedOld, /^# ecocheck /);
      assert.match(exportedOld, /\[\.\.\. [\d,]+ bytes of output cut \.\.\.\]/);
      assert.match(exportedOld, /the very end of the old log\n$/);
      assert.match(data.logs[hugeLog], /last line of the build/);
      // The export merges elsewhere.
      const merged = spawnSync(process.execPath, [bin, 'merge', exportFile, '--state-dir', join(scratch, 'elsewhere')], {
        encoding: 'utf8',
      });
      assert.equal(merged.status, 0, merged.stderr);
    } finally {
      server.close();
      repo.dispose();
      rmSync(scratch, { recursive: true, force: true });
    }
  },
);
