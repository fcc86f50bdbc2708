/**
 * No module of src/session/ keeps state between calls: what a command works with is its context's
 * (command-context.ts), never a module's. A module-level `let` or `var`, or a module-level object
 * (a Map, a Set, an array, an object) that is filled or changed at run time, is refused; constant tables
 * (a literal never written) are fine.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../support/snapshot.js';

/** The text with comments blanked and string contents blanked (quoted code is not read as code), lines kept. */
function codeOf(text: string): string {
  const blank = (s: string) => s.replace(/[^\n]/g, ' ');
  return text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*|'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"|`(?:[^`\\]|\\.)*`/g, (t) =>
    t.startsWith('/') ? blank(t) : `${t[0]}${blank(t.slice(1, -1))}${t[t.length - 1]}`,
  );
}

/** The module-level state of a module's text, one line each (`NAME: why`). */
export function moduleState(text: string): string[] {
  const code = codeOf(text);
  const out: string[] = [];
  for (const m of code.matchAll(/^(?:export\s+)?(let|var)\s+([A-Za-z_$][\w$]*)/gm)) out.push(`${m[2]}: a module-level ${m[1]}`);
  for (const m of code.matchAll(/^(?:export\s+)?const\s+([A-Za-z_$][\w$]*)\s*(?::[^=]+)?=\s*([^\n]*)/gm)) {
    const [, name, init] = m;
    if (/^(new\s+(Map|Set|WeakMap|WeakSet|Array)\s*(<[^>]*>)?\s*\(\s*\)|\[\s*\]|\{\s*\})\s*(as\s[^;]*)?;?\s*$/.test(init)) {
      out.push(`${name}: an empty module-level ${init.replace(/;$/, '').trim()}, to be filled at run time`);
      continue;
    }
    const n = name.replace(/\$/g, '\\$');
    const written = new RegExp(
      `(?<![\\w$.])${n}\\s*(\\.\\s*(set|add|push|pop|shift|unshift|splice|delete|clear|sort|reverse|fill)\\s*\\(|\\[[^\\]]*\\]\\s*(=[^=]|\\+\\+|--|[-+*/]=)|\\.\\s*[A-Za-z_$][\\w$]*\\s*(=[^=]|\\+\\+|--|[-+*/]=))|(\\+\\+|--)\\s*${n}(?![\\w$])|Object\\.assign\\(\\s*${n}\\b`,
    );
    if (written.test(code)) out.push(`${name}: a module-level object changed at run time`);
  }
  return out;
}

test('no module of src/session/ has module-level mutable state', () => {
  const dir = join(projectRoot, 'src', 'session');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 20, 'the session modules were read');
  const found = files.flatMap((f) => moduleState(readFileSync(join(dir, f), 'utf8')).map((s) => `src/session/${f}: ${s}`));
  assert.deepEqual(found, []);
});

test('the scan finds module-level state, and lets constant tables, locals and quoted code be', () => {
  const caught = [
    'let current: string | null = null;',
    'export let counter = 0;',
    'var legacy = 1;',
    'const cache = new Map<string, number>();',
    'const seen: string[] = [];',
    'const byName = {};',
    "const TABLE = new Map([['a', 1]]);\nexport function remember(k: string) { TABLE.set(k, 2); }",
    'const stats = { loads: 0 };\nexport function load() { stats.loads++; }',
    "const NAMES = ['a'];\nexport function add(n: string) { NAMES.push(n); }",
    'const slots = [0, 0];\nexport function bump() { slots[0] += 1; }',
  ];
  for (const sample of caught) assert.equal(moduleState(sample).length, 1, sample);
  const fine = [
    "const ALGORITHMS = ['md5', 'sha256'];",
    "const FIELDS = new Set(['url', 'name']);\nexport function has(f: string) { return FIELDS.has(f); }",
    'const EXIT_ON_SECOND_SIGNAL = 130;',
    "export const FLAGS: Readonly<Record<string, string>> = { repository: '--repo' };",
    'export function f() {\n  let n = 0;\n  const m = new Map();\n  m.set(1, 2);\n  return n++;\n}',
    "const HELP = 'let x = 1; cache.set(a, b)';",
    '/* let old = 1; */\n// var legacy = 2;',
    'const local = 1;\nexport function g(other: { local: number }) { other.local = 2; }',
  ];
  for (const sample of fine) assert.deepEqual(moduleState(sample), [], sample);
});
