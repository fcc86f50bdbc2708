/**
 * A damaged database, for every verb that opens it: a file of garbage, a real database cut in half, one
 * with a table dropped, one with a page overwritten. Each verb says one line naming the file and what to
 * do, exits 2 (never 3, "internal error"), and leaves the file's bytes as they were; a verb that reads
 * only intact parts (a page-damaged file) may still answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { projectRoot } from '../../support/snapshot.js';
import { instantiateHostileRepo } from '../../support/hostile-repo.js';
import { sandboxAvailable } from '../../../src/builder/process-runner.js';

const bin = join(projectRoot, 'bin', 'ecocheck');
const sandboxArgs = sandboxAvailable().ok ? [] : ['--no-sandbox'];
const LIMITS = ['--timeout', '5s', '--memory', '256M', '--jobs', '1', ...sandboxArgs];

function ecocheck(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

type Damage = 'garbage' | 'truncated' | 'table missing' | 'page overwritten';

function damage(file: string, how: Damage): void {
  const db = new Database(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const page = (db.prepare(`SELECT rootpage FROM sqlite_master WHERE name = 'results'`).get() as { rootpage: number }).rootpage;
  if (how === 'table missing') db.exec('DROP TABLE run_targets');
  db.close();
  rmSync(`${file}-wal`, { force: true });
  rmSync(`${file}-shm`, { force: true });
  if (how === 'garbage') writeFileSync(file, randomBytes(32_768));
  else if (how === 'truncated') truncateSync(file, Math.floor(statSync(file).size / 2));
  else if (how === 'page overwritten') {
    const fd = openSync(file, 'r+');
    writeSync(fd, randomBytes(pageSize), 0, pageSize, (page - 1) * pageSize);
    closeSync(fd);
  }
}

test('every verb on a damaged database: one line naming it, exit 2, the file untouched', { timeout: 300_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-damaged-db-'));
  try {
    const outside = join(dir, 'outside');
    mkdirSync(outside);
    const repo = instantiateHostileRepo({ marker: 900_000 + Math.floor(Math.random() * 90_000), outside }, dir);
    const healthy = join(dir, 'healthy');
    const first = ecocheck(['check', '--repo', repo.root, '--compiler', '1.0', '--state-dir', healthy, ...LIMITS, 'well-behaved']);
    assert.equal(first.code, 0, first.stderr);
    const exported = join(dir, 'run1.json');
    const ex = ecocheck(['export', '1', '--output', exported, '--state-dir', healthy]);
    assert.equal(ex.code, 0, ex.stderr);

    const verbs = (state: string): string[][] =>
      [
        ['runs'],
        ['report'],
        ['log', 'well-behaved'],
        ['export', '1', '--output', join(state, '..', 'out.json')],
        ['merge', exported],
        ['rerun', ...LIMITS],
        ['check', '--repo', repo.root, '--compiler', '1.0', ...LIMITS, 'well-behaved'],
        ['plan', '--predict', '--repo', repo.root, '--compiler', '1.0', 'well-behaved'],
      ].map((args) => [...args, '--state-dir', state]);

    for (const how of ['garbage', 'truncated', 'table missing', 'page overwritten'] as Damage[]) {
      const state = join(dir, how.replace(' ', '-'), 'state');
      cpSync(healthy, state, { recursive: true });
      const file = join(state, 'ecocheck.sqlite');
      damage(file, how);
      const bytes = readFileSync(file);
      for (const args of verbs(state)) {
        const r = ecocheck(args);
        const what = `${how}: ${args[0]}`;
        assert.doesNotMatch(r.stderr, /internal error|\n\s+at /, `${what}: ${r.stderr}`);
        assert.deepEqual(readFileSync(file), bytes, `${what} left the file's bytes unchanged`);
        // A page-damaged file still answers what reads only intact pages; nothing else may.
        if (how === 'page overwritten' && r.code === 0) continue;
        assert.equal(r.code, 2, `${what}: exit code; stderr: ${r.stderr}`);
        assert.equal(r.stderr.split('\n').length, 2, `${what}: one line: ${r.stderr}`);
        assert.ok(r.stderr.startsWith(`ecocheck: database ${file} is `), `${what}: names the file: ${r.stderr}`);
        assert.match(r.stderr, /; move it away to start a new one\n$/, `${what}: says what to do`);
        if (how !== 'garbage' && how !== 'truncated') assert.match(r.stderr, /is damaged \(.+\); move it away/, what);
        if (how === 'table missing') assert.match(r.stderr, /table run_targets is missing/, what);
      }
    }
    repo.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
