/**
 * The test tiers and what CI runs, held together: the npm scripts of each tier, .ci/run running the
 * linter, the formatter's check and both tiers (the README's "all the tests" command), the tiers'
 * split of tests/, skips that go through tests/support/missing-setup.ts, and test state kept out of
 * the machine-wide cache folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { projectRoot } from '../support/snapshot.js';

const read = (...p: string[]) => readFileSync(join(projectRoot, ...p), 'utf8');

/** Every .ts file under tests/, relative to the project. */
function testSources(): string[] {
  return readdirSync(join(projectRoot, 'tests'), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => relative(projectRoot, join(e.parentPath, e.name)))
    .sort();
}

test('npm test is the fast tier, test:e2e the end-to-end one, test:all both, fast first; lint and format:check exist', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  assert.match(scripts.test, /node scripts\/run-tests\.mjs fast$/);
  assert.match(scripts['test:e2e'], /node scripts\/run-tests\.mjs e2e$/);
  assert.match(scripts['test:all'], /node scripts\/run-tests\.mjs fast e2e$/);
  for (const s of ['test', 'test:e2e', 'test:all']) assert.match(scripts[s], /^npm run build && /, s);
  assert.match(scripts.lint, /^eslint /);
  assert.match(scripts['format:check'], /^prettier --check /);
  assert.match(scripts.format, /^prettier --write /);
});

test(".ci/run installs, then runs the linter, the formatter's check and the README's test command", () => {
  const lines = read('.ci', 'run')
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#'));
  const at = (re: RegExp) => lines.findIndex((l) => re.test(l));
  const order = [
    at(/install-system-deps\.sh/),
    at(/^npm ci\b/),
    at(/npm run --silent lint\b/),
    at(/npm run --silent format:check\b/),
    at(/npm run test:all\b/),
  ];
  assert.ok(
    order.every((i) => i >= 0),
    `every step is there: ${order}`,
  );
  assert.deepEqual(
    [...order].sort((a, b) => a - b),
    order,
    'in that order',
  );
  // The README's two commands: the demo, and all the tests, which is what CI runs.
  const block = /## Two commands[\s\S]*?```sh\n([\s\S]*?)```/.exec(read('README.md'));
  assert.ok(block !== null);
  assert.match(block[1], /^npm run test:all\b/m);
});

test('the tiers split tests/: end-to-end files under tests/e2e, and the heaviest ones are there', () => {
  const files = testSources().filter((f) => f.endsWith('.test.ts'));
  const e2e = files.filter((f) => f.startsWith('tests/e2e/'));
  for (const heavy of ['demo-e2e', 'real-packages', 'opam-install-oracle', 'synthetic-ecosystem-e2e', 'hostile']) {
    assert.ok(
      e2e.some((f) => f.includes(`/${heavy}.test.ts`)),
      `${heavy} is in the e2e tier`,
    );
    assert.ok(!files.some((f) => !f.startsWith('tests/e2e/') && f.includes(`/${heavy}.test.ts`)), `${heavy} is not in the fast tier`);
  }
  assert.ok(files.length - e2e.length > e2e.length, 'most files are fast');
});

test('a skip for something missing goes through skipWithout (so that CI=true can refuse it)', () => {
  // The shapes a hand-made skip had: `skip: !available()`, `cond ? false : 'reason'`, `cond && 'reason'`.
  const handMade = [/\bskip: !/, /[sS]kip\w* = [^;]*\? false : ['"`]/, /[sS]kip: [^,}]*&& ['"`]/];
  const offenders: string[] = [];
  for (const f of testSources()) {
    if (f === 'tests/support/missing-setup.ts' || f === 'tests/ci/test-tiers.test.ts') continue;
    read(f)
      .split('\n')
      .forEach((line, i) => {
        if (handMade.some((re) => re.test(line)) && !line.includes('skipWithout')) offenders.push(`${f}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(offenders, []);
});

test("tests keep no state in the machine's cache folder outside tests/support/test-state.ts", () => {
  const offenders = testSources().filter(
    (f) => f !== 'tests/support/test-state.ts' && /homedir\(\), '\.cache'|process\.env\.XDG_CACHE_HOME\b/.test(read(f)),
  );
  assert.deepEqual(offenders, []);
});
