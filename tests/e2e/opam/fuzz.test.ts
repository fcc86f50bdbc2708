/**
 * Corrupted and extreme inputs: each must either parse (and then round-trip through the printer) or fail
 * with an OpamFormatError positioned inside the text; never another exception, never a hang.
 * The corruptions come from a seeded PRNG, so a failure names its seed and case and can be replayed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseOpamFile, parseOpamValue } from '../../../src/opam/parser.js';
import { astEqual, printOpamFile } from '../../../src/opam/printer.js';
import { OpamFormatError } from '../../../src/opam/parse-error.js';
import { opamFiles, snapshotRepo } from '../../support/snapshot.js';
import { seededRandom as prng } from '../../support/prng.js';
import { skipWithout, skipWithoutSnapshot } from '../../support/missing-setup.js';

const SEED = 0x0ca3117;
/**
 * Most CPU time one parse may take (the largest inputs here need well under 300 ms); a quadratic blow-up
 * goes far beyond it. CPU time, not wall time, so a busy machine does not make the test flaky. A real hang
 * is caught by the per-test timeouts.
 */
const MAX_CPU_MS_PER_PARSE = 3000;
const TEST_TIMEOUT_MS = 300_000;

type Outcome = 'parsed' | 'rejected';

/** Runs one parse, checking its CPU time whether it returns or throws. */
function timed<T>(parse: () => T, label: string): T {
  const cpu0 = process.cpuUsage();
  try {
    return parse();
  } finally {
    const cpu = process.cpuUsage(cpu0);
    const ms = (cpu.user + cpu.system) / 1000;
    assert.ok(ms < MAX_CPU_MS_PER_PARSE, `${label}: one parse took ${ms.toFixed(0)} ms of CPU`);
  }
}

/** Parses text, checking the contract; returns what happened. */
function check(text: string, label: string, as: 'file' | 'value' = 'file'): Outcome {
  const file = `fuzz/${label}`;
  let outcome: Outcome;
  try {
    if (as === 'file') {
      const ast = timed(() => parseOpamFile(text, file), label);
      const again = parseOpamFile(printOpamFile(ast), file);
      assert.ok(astEqual(again, ast), `${label}: printed form does not read back equal`);
    } else {
      timed(() => parseOpamValue(text, file), label);
    }
    outcome = 'parsed';
  } catch (err) {
    if (err instanceof assert.AssertionError) throw err;
    assert.ok(err instanceof OpamFormatError, `${label}: threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    const { line, column } = err.position;
    assert.equal(err.position.file, file, label);
    assert.ok(Number.isInteger(line) && line >= 1 && Number.isInteger(column) && column >= 1, `${label}: ${err.message}`);
    const lines = text.split('\n');
    assert.ok(line <= lines.length, `${label}: line ${line} past the end (${lines.length} lines): ${err.message}`);
    assert.ok(column <= lines[line - 1].length + 1, `${label}: column ${column} past the end of line ${line}: ${err.message}`);
    assert.ok(err.message.startsWith(`${file}:${line}:${column}: `), err.message);
    assert.ok(!err.message.includes('\n    at '), `${label}: message holds a stack trace`);
    // The parser's safety net turns unexpected exceptions into format errors; none may ever reach it.
    assert.doesNotMatch(err.detail, /internal parser error|too deeply nested/, label);
    outcome = 'rejected';
  }
  return outcome;
}

const SPECIAL = [
  '[',
  ']',
  '{',
  '}',
  '(',
  ')',
  '"',
  '"""',
  '\\',
  '(*',
  '*)',
  '#',
  '\n',
  '\r',
  '\r\n',
  ':',
  '&',
  '|',
  '!',
  '?',
  '=',
  '>=',
  '+=',
  '=+=',
  '~',
  '-',
  '_',
  '+',
  '\t',
  ' ',
  'é',
  '\u0000',
  '\ud83d',
  '0',
  '9',
  'x',
  '\\x',
  '\\2',
];

function corrupt(text: string, rand: () => number): { text: string; how: string } {
  const at = () => Math.floor(rand() * (text.length + 1));
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  switch (Math.floor(rand() * 5)) {
    case 0: {
      const cut = at();
      return { text: text.slice(0, cut), how: `truncate@${cut}` };
    }
    case 1: {
      let out = text;
      const flips = 1 + Math.floor(rand() * 8);
      for (let i = 0; i < flips; i++) {
        const p = Math.floor(rand() * out.length);
        const c = rand() < 0.5 ? String.fromCharCode(Math.floor(rand() * 128)) : pick(SPECIAL);
        out = out.slice(0, p) + c + out.slice(p + 1);
      }
      return { text: out, how: `flip×${flips}` };
    }
    case 2: {
      let out = text;
      const n = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < n; i++) {
        const p = Math.floor(rand() * (out.length + 1));
        out = out.slice(0, p) + pick(['[', ']', '{', '}', '(', ')', '"', '"""']) + out.slice(p);
      }
      return { text: out, how: `insert×${n}` };
    }
    case 3: {
      const positions: number[] = [];
      for (let i = 0; i < text.length; i++) if ('[]{}()"'.includes(text[i])) positions.push(i);
      if (positions.length === 0) return { text, how: 'none' };
      const p = pick(positions);
      return { text: text.slice(0, p) + text.slice(p + 1), how: `remove@${p}` };
    }
    default: {
      // Swap two random slices: shuffles whole tokens and lines around.
      const a = at();
      const b = at();
      const [lo, hi] = a < b ? [a, b] : [b, a];
      const mid = lo + Math.floor((hi - lo) / 2);
      return { text: text.slice(0, lo) + text.slice(mid, hi) + text.slice(lo, mid) + text.slice(hi), how: `swap@${lo}-${hi}` };
    }
  }
}

test(
  'randomly corrupted real opam files parse or fail with a positioned OpamFormatError',
  { skip: skipWithoutSnapshot(), timeout: TEST_TIMEOUT_MS },
  () => {
    const rand = prng(SEED);
    const files = opamFiles(snapshotRepo());
    const counts = { parsed: 0, rejected: 0 };
    const CASES = 2000;
    for (let i = 0; i < CASES; i++) {
      const source = files[Math.floor(rand() * files.length)];
      const { text, how } = corrupt(readFileSync(source, 'utf8'), rand);
      counts[check(text, `seed ${SEED} case ${i} ${how} of ${source.split('/').slice(-2).join('/')}`)]++;
    }
    assert.equal(counts.parsed + counts.rejected, CASES);
    // The corruptions must exercise both outcomes, or the test proves little.
    assert.ok(counts.rejected > CASES / 4, JSON.stringify(counts));
    assert.ok(counts.parsed > CASES / 20, JSON.stringify(counts));
  },
);

test('every truncation of one real file parses or fails cleanly', { skip: skipWithoutSnapshot(), timeout: TEST_TIMEOUT_MS }, () => {
  const text = readFileSync(join(snapshotRepo(), 'packages', 'num', 'num.1.6', 'opam'), 'utf8');
  for (let cut = 0; cut <= text.length; cut++) check(text.slice(0, cut), `num.1.6 truncated at ${cut}`);
});

test('huge inputs: megabyte strings and comments, long lists and chains', { timeout: TEST_TIMEOUT_MS }, () => {
  const mb = 'x'.repeat(1 << 20);
  assert.equal(check(`description: "${mb}"\n`, '1 MB string'), 'parsed');
  assert.equal(check(`description: """${mb}"""\n`, '1 MB triple string'), 'parsed');
  assert.equal(check(`description: "${'\\n'.repeat(1 << 19)}"\n`, '1 MB of escapes'), 'parsed');
  assert.equal(check(`description: "${mb}`, 'unterminated 1 MB string'), 'rejected');
  assert.equal(check(`(* ${'(* '.repeat(100_000)}${' *)'.repeat(100_000)} *) a: 1`, 'deeply nested comment'), 'parsed');
  assert.equal(check(`(* ${'(* '.repeat(100_000)}`, 'unterminated nested comment'), 'rejected');
  assert.equal(check(`x: [${' "a"'.repeat(200_000)}]`, '200k-item list'), 'parsed');
  assert.equal(check(`x: ${Array.from({ length: 100_000 }, (_, i) => `v${i}`).join(' | ')}`, '100k-long | chain'), 'parsed');
  assert.equal(check(`x: a ${'{b} '.repeat(50_000)}`, '50k chained options'), 'parsed');
  assert.equal(check(`${'\n'.repeat(500_000)}x: $`, 'error after 500k lines'), 'rejected');
  assert.equal(check('#'.repeat(1 << 20), '1 MB comment line'), 'parsed');
  assert.equal(check(`x: ${'9'.repeat(1 << 16)}`, '64 KB integer'), 'rejected');
  assert.equal(check(`x: ${'a'.repeat(1 << 20)}`, '1 MB identifier'), 'parsed');
  assert.equal(check(`x: ${'-'.repeat(1 << 20)}`, '1 MB of dashes'), 'rejected');
  assert.equal(check(`x: ${'a+'.repeat(1 << 18)}`, 'identifier ending in +'), 'rejected');
});

test('10,000-deep nesting of every nesting form fails with a positioned error, not a stack overflow', { timeout: TEST_TIMEOUT_MS }, () => {
  const depth = 10_000;
  const forms: Array<[string, string, string]> = [
    ['[', ']', 'list'],
    ['(', ')', 'group'],
    ['a {', '}', 'option'],
    ['!', '', 'not'],
    ['?', '', 'defined'],
    ['[!(', ')]', 'mixed'],
    ['s {', '}', 'section'],
  ];
  for (const [open, close, name] of forms) {
    const inner = name === 'section' ? 'x: 1' : 'a';
    const text =
      name === 'section' ? open.repeat(depth) + inner + close.repeat(depth) : `x: ${open.repeat(depth)}${inner}${close.repeat(depth)}`;
    assert.equal(check(text, `${depth}-deep ${name}`), 'rejected');
    assert.equal(check(text.slice(0, text.length / 2), `${depth}-deep ${name}, truncated`), 'rejected');
    if (name !== 'section') {
      const value = `${open.repeat(depth)}${inner}${close.repeat(depth)}`;
      assert.equal(check(value, `${depth}-deep ${name} value`, 'value'), 'rejected');
    }
  }
  // Just inside the limit still parses (and prints back).
  assert.equal(check(`x: ${'['.repeat(999)}a${']'.repeat(999)}`, '999-deep list'), 'parsed');
});

const opamAvailable = spawnSync('opam', ['--version'], { encoding: 'utf8' }).status === 0;

/**
 * Differential check against the real opam (2.1.2 here) as oracle: `opam lint` reports "error 2: File
 * format error [at line L, column C]: ..." exactly when opam's own lexer or parser rejects a file, with a
 * 0-based column. Files keep their `opam-version: "2.0"` first line so opam 2.1's header logic stays out
 * of the way. We must agree on accept/reject for every file, and on the position of every syntax error
 * and invalid token (escapes: opam points just after the backslash, we at it, which is the same number;
 * unterminated strings and comments: opam points at the end of the file, we at the opening delimiter).
 */
test(
  'corrupted files: same verdicts and error positions as opam lint',
  {
    skip: skipWithoutSnapshot() || skipWithout('opam', opamAvailable ? false : 'opam is not installed (Debian package: opam)'),
    timeout: TEST_TIMEOUT_MS,
  },
  () => {
    const rand = prng(SEED + 1);
    const files = opamFiles(snapshotRepo()).filter((_, i) => i % 7 === 0);
    const dir = mkdtempSync(join(tmpdir(), 'ecocheck-opam-oracle-'));
    try {
      const ours = new Map<string, OpamFormatError | null>();
      const header = 'opam-version: "2.0"\n';
      const inserts = [
        '[',
        ']',
        '{',
        '}',
        '(',
        ')',
        '"',
        '"""',
        '\\',
        '(*',
        '*)',
        '#',
        '\n',
        ':',
        '&',
        '|',
        '!',
        '?',
        '=',
        '>=',
        '+=',
        '=+=',
        '~',
        '-',
        '_',
        '+',
        '0',
        'x',
        '\\x',
        '\\2',
        'true',
        '_:',
        ':x',
        '.',
        '@',
      ];
      while (ours.size < 400) {
        const text = readFileSync(files[Math.floor(rand() * files.length)], 'utf8');
        if (!text.startsWith(header)) continue;
        let body = text.slice(header.length);
        for (let k = 1 + Math.floor(rand() * 3); k > 0; k--) {
          const p = Math.floor(rand() * (body.length + 1));
          const r = rand();
          const ins = inserts[Math.floor(rand() * inserts.length)];
          body = body.slice(0, p) + (r < 0.3 ? '' : ins) + body.slice(r < 0.6 ? p : p + 1);
        }
        const file = join(dir, `f${ours.size}.opam`);
        writeFileSync(file, header + body);
        try {
          parseOpamFile(header + body, file);
          ours.set(file, null);
        } catch (err) {
          assert.ok(err instanceof OpamFormatError);
          ours.set(file, err);
        }
      }
      // null: opam read the file; otherwise its error (line and column null when it gives none).
      const verdicts = new Map<string, { line: number | null; column: number | null; message: string } | null>();
      const names = [...ours.keys()];
      for (let i = 0; i < names.length; i += 100) {
        const run = spawnSync('opam', ['lint', ...names.slice(i, i + 100)], {
          env: { ...process.env, OPAMROOT: join(dir, 'root'), OPAMNOENVNOTICE: '1' },
          encoding: 'latin1',
          timeout: 120_000,
        });
        let current = '';
        for (const line of `${run.stdout}${run.stderr}`.split('\n')) {
          const head = /^(\S+\.opam):/.exec(line);
          if (head) {
            current = head[1];
            verdicts.set(current, null);
          }
          const err = /error +2: File format error(?: at line (\d+), column (\d+))?: (.*)$/.exec(line);
          if (err && current) {
            verdicts.set(current, { line: err[1] ? Number(err[1]) : null, column: err[2] ? Number(err[2]) : null, message: err[3] });
          }
        }
      }
      let rejected = 0;
      for (const [file, err] of ours) {
        const theirs = verdicts.get(file);
        assert.ok(theirs !== undefined, `opam lint said nothing about ${file}`);
        const shown = theirs === null ? 'ok' : `${theirs.line}:${theirs.column}: ${theirs.message}`;
        assert.equal(err === null, theirs === null, `${file}: ours ${err?.message ?? 'ok'}, opam ${shown}`);
        if (err === null || theirs === null) continue;
        rejected++;
        if (theirs.line === null || theirs.column === null || theirs.message.startsWith('unterminated')) continue;
        const expectedColumn = theirs.message.startsWith('illegal escape') ? theirs.column : theirs.column + 1;
        assert.deepEqual(
          [err.position.line, err.position.column],
          [theirs.line, expectedColumn],
          `${file}: ours ${err.message}, opam ${shown}`,
        );
      }
      assert.ok(rejected > 50, `only ${rejected} rejected files`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
