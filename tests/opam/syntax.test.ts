import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOpamFile, parseOpamValue, MAX_NESTING } from '../../src/opam/parser.js';
import { OpamFormatError } from '../../src/opam/parse-error.js';
import type { Value } from '../../src/opam/ast.js';

/** The tree without positions, for comparing with hand-written expectations. */
function bare(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x, (k, v) => (k === 'span' ? undefined : v)));
}

const val = (text: string): unknown => bare(parseOpamValue(text, 't.opam'));
const id = (name: string) => ({ kind: 'ident', name });
const str = (value: string) => ({ kind: 'string', value });
const int = (value: number) => ({ kind: 'int', value });

/** Asserts that parsing fails with an OpamFormatError at file:line:column whose message contains `detail`. */
function rejects(text: string, line: number, column: number, detail: string, parse: 'file' | 'value' = 'file'): void {
  assert.throws(
    () => (parse === 'file' ? parseOpamFile(text, 'bad.opam') : parseOpamValue(text, 'bad.opam')),
    (err: unknown) => {
      assert.ok(err instanceof OpamFormatError, `not an OpamFormatError: ${String(err)}`);
      assert.equal(err.message.startsWith(`bad.opam:${line}:${column}: `), true, `got "${err.message}"`);
      assert.match(err.detail, new RegExp(detail.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
      assert.deepEqual(err.position, { file: 'bad.opam', line, column });
      return true;
    },
  );
}

test('atoms: strings, booleans, integers, identifiers', () => {
  assert.deepEqual(val('"abc"'), str('abc'));
  assert.deepEqual(val('true'), { kind: 'bool', value: true });
  assert.deepEqual(val('false'), { kind: 'bool', value: false });
  assert.deepEqual(val('42'), int(42));
  assert.deepEqual(val('-7'), int(-7));
  assert.deepEqual(val('1_000_'), int(1000));
  assert.deepEqual(val('foo-bar_2'), id('foo-bar_2'));
  assert.deepEqual(val('pkg:var'), id('pkg:var'));
  assert.deepEqual(val('pkg1+pkg2:var'), id('pkg1+pkg2:var'));
  assert.deepEqual(val('_:var'), id('_:var'));
  assert.deepEqual(val('a+_+b'), id('a+_+b'));
  // Longest match: these are identifiers, not keywords or integers.
  assert.deepEqual(val('truex'), id('truex'));
  assert.deepEqual(val('12ab'), id('12ab'));
  assert.deepEqual(val('-12ab'), id('-12ab'));
  assert.deepEqual(val('true:x'), id('true:x'));
});

test('integers follow OCaml int_of_string: leading digit, underscores, 63-bit range', () => {
  // max_int: held as the nearest JavaScript number (2^62), as every int of the AST is.
  assert.deepEqual(val('4611686018427387903'), int(Number('4611686018427387903')));
  assert.deepEqual(val('-4611686018427387904'), int(-4611686018427387904));
  rejects('x: 4611686018427387904', 1, 4, 'out of range');
  rejects('x: -4611686018427387905', 1, 4, 'out of range');
  rejects('x: _', 1, 4, "invalid integer '_'");
  rejects('x: _1', 1, 4, "invalid integer '_1'");
  rejects('x: -_1', 1, 4, 'invalid integer');
  // `1-2` is the integers 1 and -2, so two values where one is expected.
  assert.deepEqual(val('[1-2]'), { kind: 'list', items: [int(1), int(-2)] });
});

test('string escapes', () => {
  assert.deepEqual(val(String.raw`"a\\b"`), str('a\\b'));
  assert.deepEqual(val(String.raw`"say \"hi\""`), str('say "hi"'));
  assert.deepEqual(val(String.raw`"it\'s"`), str("it's"));
  assert.deepEqual(val(String.raw`"\n\r\t\b"`), str('\n\r\t\b'));
  assert.deepEqual(val(String.raw`"a\ b"`), str('a b'));
  assert.deepEqual(val(String.raw`"\065\066\255\000"`), str('AB\u00ff\u0000'));
  assert.deepEqual(val(String.raw`"\x41\x6a\x6A\xff"`), str('Ajj\u00ff'));
  // Backslash-newline skips the line end and the blanks opening the next line (not later ones).
  assert.deepEqual(val('"one \\\n   \t two"'), str('one two'));
  assert.deepEqual(val('"one \\\r\n  two"'), str('one two'));
  // A raw line end inside a string is kept, and `\r\n` reads as `\n`.
  assert.deepEqual(val('"a\nb"'), str('a\nb'));
  assert.deepEqual(val('"a\r\nb"'), str('a\nb'));
  assert.deepEqual(val('"a\rb"'), str('a\rb'));
});

test('bad escapes are positioned at the backslash', () => {
  rejects('x: "\\q"', 1, 5, 'illegal escape sequence');
  rejects('x: "ab\\256"', 1, 7, 'illegal escape sequence');
  rejects('x: "\\12"', 1, 5, 'illegal escape sequence');
  rejects('x: "\\x4G"', 1, 5, 'illegal escape sequence');
  rejects('x: "\\\rz"', 1, 5, 'illegal escape sequence');
  rejects('x: "line1\nline2 \\z"', 2, 7, 'illegal escape sequence');
});

test('triple-quoted strings', () => {
  assert.deepEqual(val('"""a "quoted" b"""'), str('a "quoted" b'));
  assert.deepEqual(val('"""a""b"""'), str('a""b'));
  assert.deepEqual(val('"""multi\nline"""'), str('multi\nline'));
  assert.deepEqual(val('"""esc\\n"""'), str('esc\n'));
  assert.deepEqual(val('""'), str(''));
  assert.deepEqual(val('""""""'), str(''));
  // The first `"""` closes, so a fourth quote opens a new (here unterminated) string.
  rejects('x: """a""""', 1, 11, 'unterminated string');
});

test('comments: line comments and nested block comments', () => {
  const ast = parseOpamFile(
    '# header comment\nopam-version: "2.0" # trailing\n(* block (* nested *) still comment\n *)\nname: "x" (* " not a string *)\n',
    'c.opam',
  );
  assert.deepEqual(bare(ast.items), [
    { kind: 'variable', name: 'opam-version', value: str('2.0') },
    { kind: 'variable', name: 'name', value: str('x') },
  ]);
  assert.equal(ast.items[1].span.start.line, 5);
  rejects('a: 1\n(* open (* nested *)\n', 2, 1, 'unterminated comment');
  // Quotes mean nothing inside a comment: it ends at the first `*)`, and the second quote opens a string.
  rejects('a: 1 (* "*)" *)', 1, 12, 'unterminated string');
});

test('precedence: | below &, below prefix ops, below options, below relops', () => {
  assert.deepEqual(val('a | b & c'), {
    kind: 'logop',
    op: '|',
    left: id('a'),
    right: { kind: 'logop', op: '&', left: id('b'), right: id('c') },
  });
  assert.deepEqual(val('a & b | c'), {
    kind: 'logop',
    op: '|',
    left: { kind: 'logop', op: '&', left: id('a'), right: id('b') },
    right: id('c'),
  });
  // Left associative.
  assert.deepEqual(val('a | b | c'), {
    kind: 'logop',
    op: '|',
    left: { kind: 'logop', op: '|', left: id('a'), right: id('b') },
    right: id('c'),
  });
  assert.deepEqual(val('!a & b'), {
    kind: 'logop',
    op: '&',
    left: { kind: 'pfxop', op: '!', arg: id('a') },
    right: id('b'),
  });
  assert.deepEqual(val('!a = b'), {
    kind: 'pfxop',
    op: '!',
    arg: { kind: 'relop', op: '=', left: id('a'), right: id('b') },
  });
  assert.deepEqual(val('?a'), { kind: 'pfxop', op: '?', arg: id('a') });
  assert.deepEqual(val('!?a'), { kind: 'pfxop', op: '!', arg: { kind: 'pfxop', op: '?', arg: id('a') } });
  assert.deepEqual(val('!a {x}'), {
    kind: 'pfxop',
    op: '!',
    arg: { kind: 'option', value: id('a'), options: [id('x')] },
  });
  assert.deepEqual(val('a & b {x}'), {
    kind: 'logop',
    op: '&',
    left: id('a'),
    right: { kind: 'option', value: id('b'), options: [id('x')] },
  });
  assert.deepEqual(val('a {x} {y}'), {
    kind: 'option',
    value: { kind: 'option', value: id('a'), options: [id('x')] },
    options: [id('y')],
  });
  assert.deepEqual(val('a = b {x}'), {
    kind: 'option',
    value: { kind: 'relop', op: '=', left: id('a'), right: id('b') },
    options: [id('x')],
  });
  assert.deepEqual(val('(a | b) & c'), {
    kind: 'logop',
    op: '&',
    left: { kind: 'group', items: [{ kind: 'logop', op: '|', left: id('a'), right: id('b') }] },
    right: id('c'),
  });
});

test('relational operators, prefix relops and dependency formulas', () => {
  for (const op of ['=', '!=', '<', '<=', '>', '>=', '~'] as const) {
    assert.deepEqual(val(`a ${op} "1"`), { kind: 'relop', op, left: id('a'), right: str('1') });
    assert.deepEqual(val(`${op} "1"`), { kind: 'prefix-relop', op, arg: str('1') });
  }
  assert.deepEqual(val('"ocaml" {>= "4.08" & < "5.0"}'), {
    kind: 'option',
    value: str('ocaml'),
    options: [
      {
        kind: 'logop',
        op: '&',
        left: { kind: 'prefix-relop', op: '>=', arg: str('4.08') },
        right: { kind: 'prefix-relop', op: '<', arg: str('5.0') },
      },
    ],
  });
  // Relops join atoms only; in a list a second relop starts a new prefix value.
  assert.deepEqual(val('[a = b = c]'), {
    kind: 'list',
    items: [
      { kind: 'relop', op: '=', left: id('a'), right: id('b') },
      { kind: 'prefix-relop', op: '=', arg: id('c') },
    ],
  });
  assert.deepEqual(val('[a >= b c]'), {
    kind: 'list',
    items: [{ kind: 'relop', op: '>=', left: id('a'), right: id('b') }, id('c')],
  });
  rejects('a = b = c', 1, 7, "unexpected '='", 'value');
  rejects('x: a = !b', 1, 8, "unexpected '!'");
  rejects('x: (a) = b', 1, 8, "unexpected '='");
  rejects('x: >= (a)', 1, 7, "unexpected '('");
});

test('environment update operators', () => {
  for (const op of ['+=', '=+', ':=', '=:', '=+='] as const) {
    assert.deepEqual(val(`[FOO ${op} "x"]`), {
      kind: 'list',
      items: [{ kind: 'env-binding', name: id('FOO'), op, value: str('x') }],
    });
  }
  // A bare `=` is always the relational operator (opam reads `[FOO = "x"]` as a relop).
  assert.deepEqual(val('[FOO = "x"]'), {
    kind: 'list',
    items: [{ kind: 'relop', op: '=', left: id('FOO'), right: str('x') }],
  });
  assert.deepEqual(val('FOO+="x"'), { kind: 'env-binding', name: id('FOO'), op: '+=', value: str('x') });
  const file = parseOpamFile('setenv: [[PATH += "%{lib}%"] [V = "1"]]\nbuild-env: [X := "2"]\n', 'e.opam');
  assert.equal(file.items.length, 2);
  rejects('x: a += !b', 1, 9, "unexpected '!'");
});

test('lists, groups, options and empty forms', () => {
  assert.deepEqual(val('[]'), { kind: 'list', items: [] });
  assert.deepEqual(val('()'), { kind: 'group', items: [] });
  assert.deepEqual(val('a {}'), { kind: 'option', value: id('a'), options: [] });
  assert.deepEqual(val('[[a] (b c) "d" {e f}]'), {
    kind: 'list',
    items: [
      { kind: 'list', items: [id('a')] },
      { kind: 'group', items: [id('b'), id('c')] },
      { kind: 'option', value: str('d'), options: [id('e'), id('f')] },
    ],
  });
});

test('items: fields and sections, with and without names', () => {
  const ast = parseOpamFile(
    [
      'opam-version: "2.0"',
      'url {',
      '  src: "https://x/y.tgz"',
      '  checksum: ["md5=00"]',
      '}',
      'extra-source "p.patch" {src: "https://x/p.patch"}',
      'empty {}',
      'pkg:var: true',
    ].join('\n'),
    's.opam',
  );
  assert.deepEqual(bare(ast), {
    file: 's.opam',
    items: [
      { kind: 'variable', name: 'opam-version', value: str('2.0') },
      {
        kind: 'section',
        sectionKind: 'url',
        sectionName: null,
        items: [
          { kind: 'variable', name: 'src', value: str('https://x/y.tgz') },
          { kind: 'variable', name: 'checksum', value: { kind: 'list', items: [str('md5=00')] } },
        ],
      },
      {
        kind: 'section',
        sectionKind: 'extra-source',
        sectionName: 'p.patch',
        items: [{ kind: 'variable', name: 'src', value: str('https://x/p.patch') }],
      },
      { kind: 'section', sectionKind: 'empty', sectionName: null, items: [] },
      { kind: 'variable', name: 'pkg:var', value: { kind: 'bool', value: true } },
    ],
  });
  assert.deepEqual(bare(parseOpamFile('', 'e.opam')), { file: 'e.opam', items: [] });
  assert.deepEqual(bare(parseOpamFile('  # only a comment\n\n', 'e.opam')), { file: 'e.opam', items: [] });
  // A field's value ends where the next item's identifier starts, even on the same line.
  assert.equal(parseOpamFile('a: b c: d', 'e.opam').items.length, 2);
  // `name:"x"` is a field, but `name:x` lexes as the one identifier `name:x` (like `pkg:var`).
  assert.deepEqual(bare(parseOpamFile('name:"x"', 'e.opam').items), [{ kind: 'variable', name: 'name', value: str('x') }]);
  rejects('name:x', 1, 7, 'unexpected end of file');
  rejects('name:x y', 1, 8, "unexpected identifier 'y'");
  // `true` and `false` are never identifiers, so never field names.
  rejects('true: 1', 1, 1, "unexpected 'true'");
});

test('positions: 1-based start of each node, end just after its last character', () => {
  const ast = parseOpamFile('opam-version: "2.0"\ndepends: [\n  "ocaml" {>= "4.08"}\n]\nurl {\n  src: """a\nb"""\n}\n', 'p.opam');
  const [version, depends, url] = ast.items;
  assert.deepEqual(version.span, {
    start: { file: 'p.opam', line: 1, column: 1 },
    end: { file: 'p.opam', line: 1, column: 20 },
  });
  assert.equal(depends.kind, 'variable');
  if (depends.kind !== 'variable' || depends.value.kind !== 'list') throw new Error('shape');
  assert.deepEqual(depends.value.span.start, { file: 'p.opam', line: 2, column: 10 });
  assert.deepEqual(depends.value.span.end, { file: 'p.opam', line: 4, column: 2 });
  const dep = depends.value.items[0];
  if (dep.kind !== 'option') throw new Error('shape');
  assert.deepEqual([dep.span.start.line, dep.span.start.column, dep.span.end.line, dep.span.end.column], [3, 3, 3, 22]);
  const constraint = dep.options[0] as Extract<Value, { kind: 'prefix-relop' }>;
  assert.deepEqual([constraint.span.start.column, constraint.arg.span.start.column, constraint.arg.span.end.column], [12, 15, 21]);
  if (url.kind !== 'section') throw new Error('shape');
  assert.deepEqual([url.span.start.line, url.span.end.line, url.span.end.column], [5, 8, 2]);
  const src = url.items[0];
  assert.deepEqual([src.span.start.line, src.span.start.column, src.span.end.line, src.span.end.column], [6, 3, 7, 5]);
  // Lines after a multi-line string and after a CRLF line end are counted right.
  const crlf = parseOpamFile('a: "x\r\ny"\r\nb: 1\r\n', 'p.opam');
  assert.deepEqual(crlf.items[1].span.start, { file: 'p.opam', line: 3, column: 1 });
});

test('lexical errors are positioned at the offending character or opening delimiter', () => {
  rejects('a: "x\nb: 1\n', 1, 4, 'unterminated string');
  rejects('a: """x" ""\n', 1, 4, 'unterminated string');
  rejects('a: 1\nb: 2 $', 2, 6, "'$' is not a valid token");
  rejects('a: 1\rb: 2', 1, 5, "'\\r' is not a valid token");
  rejects('a: x + y', 1, 6, "'+' is not a valid token");
  rejects('a: -', 1, 4, "'-' is not a valid token");
  rejects('a: 1.0', 1, 5, "'.' is not a valid token");
  rejects('a: b *)', 1, 6, "'*' is not a valid token");
  rejects('a: "é" é', 1, 8, 'character U+00E9 is not a valid token');
});

test('syntax errors: unbalanced brackets, stray tokens, truncated input', () => {
  rejects('a: [b c', 1, 8, 'unexpected end of file');
  rejects('a: [b c\n', 2, 1, 'unexpected end of file');
  rejects('a: [b c)', 1, 8, "unexpected ')'");
  rejects('a: (b]', 1, 6, "unexpected ']'");
  rejects('a: b]', 1, 5, "unexpected ']'");
  rejects('a: b {c', 1, 8, 'unexpected end of file');
  rejects('url {\n  src: "x"\n', 3, 1, 'unexpected end of file');
  rejects('url {\n  src: "x"\n}}', 3, 2, "unexpected '}'");
  rejects('a:', 1, 3, 'unexpected end of file');
  rejects('a', 1, 2, 'unexpected end of file');
  rejects('"a": 1', 1, 1, 'unexpected string "a"');
  rejects('a: 1 2', 1, 6, 'unexpected integer 2');
  rejects('a: "x" "y"', 1, 8, 'unexpected string "y"');
  rejects('a: b :', 1, 6, "unexpected ':'");
  rejects('a "n" b', 1, 7, "unexpected identifier 'b'");
  rejects('a: & b', 1, 4, "unexpected '&'");
  rejects('a: b &', 1, 7, 'unexpected end of file');
  rejects('a: b | | c', 1, 8, "unexpected '|'");
  rejects('a: += b', 1, 4, "unexpected '+='");
  rejects('a: b c', 1, 7, 'unexpected end of file');
  rejects('', 1, 1, 'unexpected end of file', 'value');
  rejects('a b', 1, 3, "unexpected identifier 'b'", 'value');
});

test('nesting deeper than the limit is a positioned error, not a stack overflow', () => {
  const ok = `x: ${'['.repeat(MAX_NESTING)}${']'.repeat(MAX_NESTING)}`;
  assert.equal(parseOpamFile(ok, 'd.opam').items.length, 1);
  rejects(`x: ${'['.repeat(MAX_NESTING + 1)}${']'.repeat(MAX_NESTING + 1)}`, 1, 4 + MAX_NESTING, 'nesting deeper than');
  rejects(`x: ${'!'.repeat(100_000)}a`, 1, 4 + MAX_NESTING, 'nesting deeper than');
  rejects(`${'s {'.repeat(5000)}`, 1, 1 + 3 * MAX_NESTING + 2, 'nesting deeper than');
  rejects(`x: ${'a {'.repeat(5000)}`, 1, 6 + 3 * MAX_NESTING, 'nesting deeper than');
  // Long flat chains are not nesting: they parse iteratively.
  const chain = parseOpamValue(Array.from({ length: 50_000 }, (_, i) => `a${i}`).join(' | '), 'c.opam');
  assert.equal(chain.kind, 'logop');
});
