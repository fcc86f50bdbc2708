#!/usr/bin/env node
// Runs the compiled tests (dist/tests) by tier, each tier one `node --test` run with the spec reporter:
//   fast  every *.test.js outside dist/tests/e2e: unit and small integration tests (`npm test`)
//   e2e   dist/tests/e2e: real builds with real compilers, the demo, checks over the whole snapshot,
//         suites of many CLI runs (`npm run test:e2e`)
// Several tiers run one after the other (`npm run test:all` = fast e2e), all of them even when one fails.
// After each tier its files and wall time, then "TIER: N passed, N failed, N skipped"; with several tiers a
// closing line "tests: N passed, N failed, N skipped" over all of them. Exit 1 when any test failed.
//
// Usage: node scripts/run-tests.mjs TIER… [-- extra node --test arguments]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const testsDir = join(root, 'dist', 'tests');
const e2eDir = join(testsDir, 'e2e');

const TIERS = {
  fast: () => testFiles(testsDir).filter((f) => !f.startsWith(e2eDir + '/')),
  e2e: () => testFiles(e2eDir),
};

/** Every `*.test.js` under `dir`, sorted. */
function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.js'))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .sort();
}

const dash = process.argv.indexOf('--');
const tiers = dash < 0 ? process.argv.slice(2) : process.argv.slice(2, dash);
const extra = dash < 0 ? [] : process.argv.slice(dash + 1);
if (tiers.length === 0 || tiers.some((t) => !(t in TIERS))) {
  process.stderr.write(`usage: node scripts/run-tests.mjs TIER… [-- node --test arguments]; tiers: ${Object.keys(TIERS).join(', ')}\n`);
  process.exit(2);
}
if (!existsSync(testsDir)) {
  process.stderr.write(`run-tests: ${relative(root, testsDir)} is missing: run npm run build first\n`);
  process.exit(2);
}

const total = { pass: 0, fail: 0, skipped: 0 };
let failed = false;
for (const tier of tiers) {
  const files = TIERS[tier]();
  if (files.length === 0) {
    process.stderr.write(`run-tests: no test file in the ${tier} tier\n`);
    failed = true;
    continue;
  }
  // The spec reporter for people, TAP into a file for the counts.
  const scratch = mkdtempSync(join(tmpdir(), 'ecocheck-run-tests-'));
  const tap = join(scratch, `${tier}.tap`);
  const t0 = performance.now();
  const r = spawnSync(
    process.execPath,
    [
      '--test',
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...extra,
      ...files,
    ],
    { cwd: root, stdio: 'inherit' },
  );
  const seconds = (performance.now() - t0) / 1000;
  const counts = { pass: 0, fail: 0, skipped: 0 };
  if (existsSync(tap)) {
    const text = readFileSync(tap, 'utf8');
    for (const key of Object.keys(counts)) {
      const m = new RegExp(`^# ${key} (\\d+)$`, 'm').exec(text);
      if (m !== null) counts[key] = Number(m[1]);
    }
  }
  rmSync(scratch, { recursive: true, force: true });
  if (r.status !== 0) failed = true;
  for (const key of Object.keys(total)) total[key] += counts[key];
  process.stdout.write(
    `the ${tier} tier: ${files.length} files in ${seconds.toFixed(0)} s\n${tier}: ${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped\n`,
  );
}
if (tiers.length > 1) process.stdout.write(`tests: ${total.pass} passed, ${total.fail} failed, ${total.skipped} skipped\n`);
process.exit(failed ? 1 : 0);
