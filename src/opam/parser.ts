/**
 * Parser of the opam file format: the grammar of opam-file-format's `opamBaseParser.mly`, by recursive
 * descent with precedence climbing.
 *
 *   file   ::= item*
 *   item   ::= IDENT ':' value | IDENT '{' item* '}' | IDENT STRING '{' item* '}'
 *   value  ::= atom | '(' value* ')' | '[' value* ']' | value '{' value* '}'
 *            | value '&' value | value '|' value | atom RELOP atom | atom ENVOP atom
 *            | PFXOP value | RELOP atom
 *   atom   ::= IDENT | BOOL | INT | STRING
 *
 * Precedence, loosest first: `|` < `&` < `!`/`?` (prefix) < `{ }` options (left) < relops. A chain of
 * one of `|`/`&` is built as a balanced tree (left-nested as opam's for up to three operands; see
 * balancedChain), so no walk over a long formula or filter goes deep.
 * So `!a & b` is `(!a) & b`, `a & b {x}` is `a & (b {x})`, `!a {x}` is `!(a {x})`, `!a = b` is `!(a = b)`.
 * Relational and environment operators only join two atoms: `a = b = c` is an error, and inside a list
 * `[a = b = c]` reads as the two values `a = b` and `= c`; `[a >= b]` is one relop, never `a` then `>= b`.
 *
 * Positions are 1-based; a node's `end` is the position just after its last character (opam's `stop`).
 * Nesting deeper than MAX_NESTING levels is refused with a positioned error instead of exhausting the stack.
 */
import type { EnvUpdateOp, Item, LogOp, OpamFileAst, PfxOp, Position, RelOp, Span, Value } from './ast.js';
import { OpamFormatError } from './parse-error.js';
import {
  OpamLexer,
  TOKEN_AND,
  TOKEN_BOOL,
  TOKEN_COLON,
  TOKEN_ENVOP,
  TOKEN_EOF,
  TOKEN_IDENT,
  TOKEN_INT,
  TOKEN_LBRACE,
  TOKEN_LBRACKET,
  TOKEN_LPAR,
  TOKEN_OR,
  TOKEN_PFXOP,
  TOKEN_RBRACE,
  TOKEN_RBRACKET,
  TOKEN_RELOP,
  TOKEN_RPAR,
  TOKEN_STRING,
} from './lexer.js';

/** Deepest nesting of lists, groups, options, prefix operators and sections accepted. */
export const MAX_NESTING = 1000;

// Binding strength of the infix/postfix forms (higher binds tighter).
const PREC_OR = 1;
const PREC_AND = 2;
const PREC_PFX = 3;

/** Parses a whole opam file. Throws OpamFormatError (and nothing else) on any lexical or syntax error. */
export function parseOpamFile(text: string, file: string): OpamFileAst {
  const parser = new Parser(text, file);
  return parser.guard(() => {
    const items = parser.items();
    parser.expect(TOKEN_EOF);
    return { file, items };
  });
}

/** Parses a single value (the whole text must be one value). Throws OpamFormatError on any error. */
export function parseOpamValue(text: string, file: string): Value {
  const parser = new Parser(text, file);
  return parser.guard(() => {
    const value = parser.value(0);
    parser.expect(TOKEN_EOF);
    return value;
  });
}

class Parser {
  private readonly lx: OpamLexer;
  private depth = 0;

  constructor(
    text: string,
    private readonly file: string,
  ) {
    this.lx = new OpamLexer(text, file);
  }

  /** Runs a parse, turning any stray non-format error into a positioned OpamFormatError. */
  guard<T>(run: () => T): T {
    try {
      this.lx.next();
      return run();
    } catch (err) {
      if (err instanceof OpamFormatError) throw err;
      // Not expected (nesting is bounded); kept so callers only ever see format errors.
      const detail = err instanceof RangeError ? 'input too deeply nested' : `internal parser error: ${String(err)}`;
      throw this.lx.errorHere(detail);
    }
  }

  items(): Item[] {
    const items: Item[] = [];
    while (this.lx.kind === TOKEN_IDENT) items.push(this.item());
    return items;
  }

  expect(kind: number): void {
    if (this.lx.kind !== kind) throw this.unexpected();
  }

  private unexpected(): OpamFormatError {
    return this.lx.errorHere(`syntax error: unexpected ${this.lx.describe()}`);
  }

  /** The current token kind (read through a call so TypeScript does not keep a stale narrowing). */
  private peek(): number {
    return this.lx.kind;
  }

  private start(): Position {
    return { file: this.file, line: this.lx.startLine, column: this.lx.startColumn };
  }

  private end(): Position {
    return { file: this.file, line: this.lx.endLine, column: this.lx.endColumn };
  }

  private enter(): void {
    if (++this.depth > MAX_NESTING) {
      throw this.lx.errorHere(`syntax error: nesting deeper than ${MAX_NESTING} levels`);
    }
  }

  private item(): Item {
    const lx = this.lx;
    const name = lx.text;
    const start = this.start();
    lx.next();
    if (lx.kind === TOKEN_COLON) {
      lx.next();
      const value = this.value(0);
      return { kind: 'variable', name, value, span: { start, end: value.span.end } };
    }
    let sectionName: string | null = null;
    if (lx.kind === TOKEN_STRING) {
      sectionName = lx.text;
      lx.next();
    }
    if (lx.kind !== TOKEN_LBRACE) throw this.unexpected();
    this.enter();
    lx.next();
    const items = this.items();
    this.expect(TOKEN_RBRACE);
    const end = this.end();
    lx.next();
    this.depth--;
    return { kind: 'section', sectionKind: name, sectionName, items, span: { start, end } };
  }

  /** A value, continuing only with operators binding tighter than minPrec. */
  value(minPrec: number): Value {
    const lx = this.lx;
    let left = this.primary();
    for (;;) {
      const kind = lx.kind;
      if (kind === TOKEN_LBRACE) {
        // Options bind tighter than every operator that can precede them here.
        this.enter();
        lx.next();
        const options = this.values(TOKEN_RBRACE);
        const end = this.end();
        lx.next();
        this.depth--;
        left = { kind: 'option', value: left, options, span: { start: left.span.start, end } };
      } else if (kind === TOKEN_AND || kind === TOKEN_OR) {
        const prec = kind === TOKEN_AND ? PREC_AND : PREC_OR;
        if (prec <= minPrec) return left;
        // The whole chain `x op y op z …` at this level, built balanced (see balancedChain).
        const op = lx.text as LogOp;
        const operands = [left];
        while (this.peek() === kind) {
          lx.next();
          operands.push(this.value(prec));
        }
        left = balancedChain(op, operands, 0, operands.length);
      } else {
        return left;
      }
    }
  }

  /** Values up to the closing token `close` (which is left as the current token). */
  private values(close: number): Value[] {
    const lx = this.lx;
    const values: Value[] = [];
    while (lx.kind !== close) {
      if (!startsValue(lx.kind)) throw this.unexpected();
      values.push(this.value(0));
    }
    return values;
  }

  private primary(): Value {
    const lx = this.lx;
    switch (lx.kind) {
      case TOKEN_STRING:
      case TOKEN_IDENT:
      case TOKEN_BOOL:
      case TOKEN_INT: {
        const left = this.atom();
        const next = this.peek();
        if (next === TOKEN_RELOP) {
          const op = lx.text as RelOp;
          lx.next();
          const right = this.expectAtom();
          return { kind: 'relop', op, left, right, span: { start: left.span.start, end: right.span.end } };
        }
        if (next === TOKEN_ENVOP) {
          const op = lx.text as EnvUpdateOp;
          lx.next();
          const value = this.expectAtom();
          return { kind: 'env-binding', name: left, op, value, span: { start: left.span.start, end: value.span.end } };
        }
        return left;
      }
      case TOKEN_LBRACKET:
      case TOKEN_LPAR: {
        const isList = lx.kind === TOKEN_LBRACKET;
        this.enter();
        const start = this.start();
        lx.next();
        const items = this.values(isList ? TOKEN_RBRACKET : TOKEN_RPAR);
        const span: Span = { start, end: this.end() };
        lx.next();
        this.depth--;
        return isList ? { kind: 'list', items, span } : { kind: 'group', items, span };
      }
      case TOKEN_PFXOP: {
        this.enter();
        const op = lx.text as PfxOp;
        const start = this.start();
        lx.next();
        const arg = this.value(PREC_PFX);
        this.depth--;
        return { kind: 'pfxop', op, arg, span: { start, end: arg.span.end } };
      }
      case TOKEN_RELOP: {
        const op = lx.text as RelOp;
        const start = this.start();
        lx.next();
        const arg = this.expectAtom();
        return { kind: 'prefix-relop', op, arg, span: { start, end: arg.span.end } };
      }
      default:
        throw this.unexpected();
    }
  }

  private expectAtom(): Value {
    const k = this.lx.kind;
    if (k === TOKEN_STRING || k === TOKEN_IDENT || k === TOKEN_BOOL || k === TOKEN_INT) return this.atom();
    throw this.unexpected();
  }

  private atom(): Value {
    const lx = this.lx;
    const span: Span = { start: this.start(), end: this.end() };
    let atom: Value;
    switch (lx.kind) {
      case TOKEN_STRING:
        atom = { kind: 'string', value: lx.text, span };
        break;
      case TOKEN_IDENT:
        atom = { kind: 'ident', name: lx.text, span };
        break;
      case TOKEN_BOOL:
        atom = { kind: 'bool', value: lx.num === 1, span };
        break;
      default:
        atom = { kind: 'int', value: lx.num, span };
    }
    lx.next();
    return atom;
  }
}

/**
 * The operands[lo..hi) of one chain of the same operator as a balanced tree (depth log2 n, so that a
 * 100,000-term `a | b | …` is no deeper than 17 levels for every walk downstream). `&` and `|` are
 * associative in opam's semantics (formulas and filters alike, undefined values included), so the shape
 * changes no answer; opam builds the chain left-nested, and so does this for up to three operands (the
 * left half takes the middle one), so small chains keep opam's exact shape. The printer prints a chain
 * of one operator flat, so a printed tree reads back as this same shape.
 */
function balancedChain(op: LogOp, operands: Value[], lo: number, hi: number): Value {
  if (hi - lo === 1) return operands[lo];
  const mid = lo + Math.ceil((hi - lo) / 2);
  const left = balancedChain(op, operands, lo, mid);
  const right = balancedChain(op, operands, mid, hi);
  return { kind: 'logop', op, left, right, span: { start: left.span.start, end: right.span.end } };
}

function startsValue(kind: number): boolean {
  return (
    kind === TOKEN_STRING ||
    kind === TOKEN_IDENT ||
    kind === TOKEN_BOOL ||
    kind === TOKEN_INT ||
    kind === TOKEN_LBRACKET ||
    kind === TOKEN_LPAR ||
    kind === TOKEN_PFXOP ||
    kind === TOKEN_RELOP
  );
}
