/**
 * END TO END (e2e tier): the synthetic ecosystem of a slice of the real opam-repository snapshot, built
 * with the real sandbox. `ecocheck synthesize --names 30` writes the 30 names most depended on and
 * their dependency cone (about 300 names); a baseline check of all of them on Debian's OCaml 4.13.1
 * (`ocaml-system.4.13.1` from fixtures/compilers, `ocaml` and `ocaml-config` from the snapshot) plans
 * about 330 jobs: every installable target is ok and its layer holds the file its trivial build
 * installed; the same check again builds nothing (all cache hits). Before that, two targets solve the same
 * with the overlay in front as on the snapshot alone.
 *
 * Measured on the 2-core machine, loaded by other work: 69 to 103 s for the whole test (synthesize 5 s,
 * the two solves a few seconds, the first check 85 s of which 13 s solving, the second check 17 s).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectRoot, snapshotRepo } from '../../support/snapshot.js';
import { skipWithoutSyntheticSlice } from '../../support/synthetic-slice.js';

const bin = join(projectRoot, 'bin', 'ecocheck');

function ecocheck(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', cwd: projectRoot, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

interface ReportResult {
  id: string;
  name: string;
  version: string;
  status: string;
  jobKey: string | null;
  cached?: boolean;
}

test(
  'e2e: a synthetic slice of the real snapshot (~330 jobs) builds ok in the real sandbox, then is all cache hits',
  { skip: skipWithoutSyntheticSlice(), timeout: 10 * 60_000 },
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'ecocheck-synthetic-e2e-'));
    try {
      const snapshot = snapshotRepo();
      const synth = join(dir, 'synth');
      const state = join(dir, 'state');
      const made = ecocheck(['synthesize', synth, '--repo', snapshot, '--names', '30']);
      assert.equal(made.code, 0, made.stderr);
      assert.match(made.stdout, /^wrote \d+ package version\(s\) of \d+ name\(s\)/);
      assert.match(made.stdout, /left out \d+ compiler name\(s\).* ocaml .*ocaml-system/);
      const targets = readdirSync(join(synth, 'packages')).sort();
      assert.ok(targets.length >= 200, `a slice of hundreds of names: ${targets.length}`);
      assert.ok(!targets.includes('ocaml') && !targets.includes('ocaml-system') && !targets.includes('base-unix'));

      // The overlay keeps the solving semantics: the same solutions as the snapshot itself.
      for (const target of ['utop', 'ppxlib']) {
        const platform = ['--compiler', 'ocaml-system.4.13.1', '--depexts', 'ignore'];
        const real = ecocheck(['solve', target, '--repo', join(projectRoot, 'fixtures', 'compilers'), '--repo', snapshot, ...platform]);
        const overlaid = ecocheck([
          'solve',
          target,
          '--repo',
          synth,
          '--repo',
          join(projectRoot, 'fixtures', 'compilers'),
          '--repo',
          snapshot,
          ...platform,
        ]);
        assert.equal(real.code, 0, real.stderr);
        assert.match(real.stdout, /\d+ packages, in build order/);
        assert.equal(overlaid.stdout, real.stdout, target);
      }

      const args = [
        'check',
        '--baseline',
        ...targets,
        ...['--repo', synth, '--repo', join(projectRoot, 'fixtures', 'compilers'), '--repo', snapshot],
        ...['--compiler', 'ocaml-system.4.13.1', '--depexts', 'ignore', '--state-dir', state, '--format', 'json'],
      ];
      const first = ecocheck([...args, '--output', join(dir, 'first.json')]);
      assert.equal(first.code, 0, first.stderr.slice(-4000));
      const jobs = Number(/(\d+) jobs/.exec(first.stderr)?.[1]);
      assert.ok(jobs >= 200 && jobs <= 600, `a few hundred jobs: ${jobs}`);
      const report = JSON.parse(readFileSync(join(dir, 'first.json'), 'utf8')) as { results: ReportResult[] };
      assert.equal(report.results.length, targets.length);
      const notOk = report.results.filter((r) => r.status !== 'ok' && r.status !== 'not-installable');
      assert.deepEqual(
        notOk.map((r) => `${r.id}: ${r.status}`),
        [],
        'every installable target is ok',
      );
      const ok = report.results.filter((r) => r.status === 'ok');
      assert.ok(ok.length >= 200, `most targets are installable on 4.13.1: ${ok.length}`);
      for (const r of ok) {
        assert.ok(r.jobKey, r.id);
        const file = join(state, 'store', r.jobKey, 'lib', r.name, r.id);
        assert.equal(readFileSync(file, 'utf8'), `${r.id}\n`, `${r.id}'s layer holds its file`);
      }

      const second = ecocheck([...args, '--output', join(dir, 'second.json')]);
      assert.equal(second.code, 0, second.stderr.slice(-4000));
      assert.match(second.stdout + second.stderr, new RegExp(`jobs: 0 built, ${jobs} cached`));
      const again = JSON.parse(readFileSync(join(dir, 'second.json'), 'utf8')) as { results: ReportResult[] };
      assert.deepEqual(
        again.results.map((r) => `${r.id} ${r.status}`),
        report.results.map((r) => `${r.id} ${r.status}`),
      );
      assert.deepEqual(
        again.results.filter((r) => r.status === 'ok' && r.cached !== true).map((r) => r.id),
        [],
        'every ok target from the cache',
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
