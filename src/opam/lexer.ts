/**
 * The tokens of the opam file format, as opam-file-format's `opamLexer.mll` defines them, read by a
 * hand-written scanner over char codes (pulled one token at a time by the parser, so the first error in
 * reading order is the one reported, as with opam).
 *
 * Lexical rules worth knowing (all checked against opamLexer.mll):
 * - blanks are space and tab; a line ends with `\n` or `\r\n`; a lone `\r` is an invalid token;
 * - `#` starts a comment up to the end of the line; `(* ... *)` comments nest and ignore quotes;
 * - ocamllex takes the longest match, and on a tie the earliest rule: `true`/`false`, then integers, then
 *   identifiers. So `_` alone is an integer lexeme (and an invalid integer), `12ab` is an identifier,
 *   `1-2` is the integers `1` and `-2`, `truex` is an identifier;
 * - integers are `-`? [0-9_]+ read by OCaml's `int_of_string`: the first character after the sign must be
 *   a digit, underscores are ignored after it, and the value must fit a 63-bit OCaml int;
 * - identifiers are `(id | _) (+ (id | _))* (: id)?` where `id` is a run of [A-Za-z0-9_-] holding a
 *   letter: `foo`, `pkg:var`, `pkg1+pkg2:var`, `_:var`;
 * - relational operators `= != < <= > >= ~`, prefix operators `! ?`, logical `& |`, and environment update
 *   operators `+= := =+ =: =+=` (a bare `=` is always the relational `=`);
 * - strings are `"..."` or `"""..."""` (the first `"""` closes a triple-quoted string); a line end inside
 *   a string (either `\n` or `\r\n`) becomes `\n`; escapes are `\\ \" \' \n \r \t \b \space`, `\DDD`
 *   (decimal, at most 255), `\xHH`, and backslash-newline which skips the blanks starting the next line;
 *   anything else after a backslash is an error.
 */
import { OpamFormatError } from './parse-error.js';

export const TOKEN_EOF = 0;
export const TOKEN_STRING = 1;
export const TOKEN_IDENT = 2;
export const TOKEN_BOOL = 3;
export const TOKEN_INT = 4;
export const TOKEN_LBRACKET = 5;
export const TOKEN_RBRACKET = 6;
export const TOKEN_LPAR = 7;
export const TOKEN_RPAR = 8;
export const TOKEN_LBRACE = 9;
export const TOKEN_RBRACE = 10;
export const TOKEN_COLON = 11;
export const TOKEN_RELOP = 12;
export const TOKEN_AND = 13;
export const TOKEN_OR = 14;
export const TOKEN_PFXOP = 15;
export const TOKEN_ENVOP = 16;

const TOKEN_NAMES = [
  'end of file',
  'string',
  'identifier',
  'boolean',
  'integer',
  "'['",
  "']'",
  "'('",
  "')'",
  "'{'",
  "'}'",
  "':'",
  'operator',
  "'&'",
  "'|'",
  'operator',
  'operator',
];

// Character classes, by char code (ASCII only; everything else is in no class).
const IDENT_CHAR = 1;
const ALPHA = 2;
const DIGIT = 4;
const charClass = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const isAlpha = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
  const isDigit = c >= 48 && c <= 57;
  if (isAlpha) charClass[c] |= ALPHA | IDENT_CHAR;
  if (isDigit) charClass[c] |= DIGIT | IDENT_CHAR;
  if (c === 95 /* _ */ || c === 45 /* - */) charClass[c] |= IDENT_CHAR;
}

const C_TAB = 9;
const C_LF = 10;
const C_CR = 13;
const C_SPACE = 32;
const C_BANG = 33;
const C_QUOTE = 34;
const C_HASH = 35;
const C_AMP = 38;
const C_LPAR = 40;
const C_RPAR = 41;
const C_STAR = 42;
const C_PLUS = 43;
const C_MINUS = 45;
const C_COLON = 58;
const C_LT = 60;
const C_EQ = 61;
const C_GT = 62;
const C_QUESTION = 63;
const C_LBRACKET = 91;
const C_BACKSLASH = 92;
const C_RBRACKET = 93;
const C_UNDERSCORE = 95;
const C_LBRACE = 123;
const C_BAR = 124;
const C_RBRACE = 125;
const C_TILDE = 126;

/** OCaml's max_int on 64-bit machines, 2^62 - 1, as opam reads integers with `int_of_string`. */
const OCAML_MAX_INT = (1n << 62n) - 1n;

export class OpamLexer {
  /** The current token's kind (one of the TOKEN_* constants). */
  kind = TOKEN_EOF;
  /** Text of the current string, identifier or operator token. */
  text = '';
  /** Value of the current integer or boolean (1/0) token. */
  num = 0;
  startLine = 1;
  startColumn = 1;
  endLine = 1;
  endColumn = 1;

  private pos = 0;
  private line = 1;
  private lineStart = 0;
  private readonly length: number;

  constructor(
    private readonly src: string,
    readonly file: string,
  ) {
    this.length = src.length;
  }

  /** Reads the next token into kind/text/num and the start/end fields. */
  next(): void {
    const src = this.src;
    const n = this.length;
    for (;;) {
      let p = this.pos;
      if (p >= n) {
        this.setStart(p);
        this.kind = TOKEN_EOF;
        this.finish(p);
        return;
      }
      const c = src.charCodeAt(p);
      switch (c) {
        case C_SPACE:
        case C_TAB:
          this.pos = p + 1;
          continue;
        case C_LF:
          this.pos = p + 1;
          this.line++;
          this.lineStart = p + 1;
          continue;
        case C_CR:
          if (src.charCodeAt(p + 1) === C_LF) {
            this.pos = p + 2;
            this.line++;
            this.lineStart = p + 2;
            continue;
          }
          throw this.errorAt(p, `'\\r' is not a valid token`);
        case C_HASH:
          while (p < n && src.charCodeAt(p) !== C_LF) p++;
          this.pos = p;
          continue;
        case C_LPAR:
          if (src.charCodeAt(p + 1) === C_STAR) {
            this.skipComment(p);
            continue;
          }
          return this.simple(p, TOKEN_LPAR, 1);
        case C_RPAR:
          return this.simple(p, TOKEN_RPAR, 1);
        case C_LBRACKET:
          return this.simple(p, TOKEN_LBRACKET, 1);
        case C_RBRACKET:
          return this.simple(p, TOKEN_RBRACKET, 1);
        case C_LBRACE:
          return this.simple(p, TOKEN_LBRACE, 1);
        case C_RBRACE:
          return this.simple(p, TOKEN_RBRACE, 1);
        case C_COLON:
          if (src.charCodeAt(p + 1) === C_EQ) return this.operator(p, TOKEN_ENVOP, ':=');
          return this.simple(p, TOKEN_COLON, 1);
        case C_AMP:
          return this.operator(p, TOKEN_AND, '&');
        case C_BAR:
          return this.operator(p, TOKEN_OR, '|');
        case C_BANG:
          if (src.charCodeAt(p + 1) === C_EQ) return this.operator(p, TOKEN_RELOP, '!=');
          return this.operator(p, TOKEN_PFXOP, '!');
        case C_QUESTION:
          return this.operator(p, TOKEN_PFXOP, '?');
        case C_EQ: {
          const c1 = src.charCodeAt(p + 1);
          if (c1 === C_PLUS) {
            if (src.charCodeAt(p + 2) === C_EQ) return this.operator(p, TOKEN_ENVOP, '=+=');
            return this.operator(p, TOKEN_ENVOP, '=+');
          }
          if (c1 === C_COLON) return this.operator(p, TOKEN_ENVOP, '=:');
          return this.operator(p, TOKEN_RELOP, '=');
        }
        case C_LT:
          if (src.charCodeAt(p + 1) === C_EQ) return this.operator(p, TOKEN_RELOP, '<=');
          return this.operator(p, TOKEN_RELOP, '<');
        case C_GT:
          if (src.charCodeAt(p + 1) === C_EQ) return this.operator(p, TOKEN_RELOP, '>=');
          return this.operator(p, TOKEN_RELOP, '>');
        case C_TILDE:
          return this.operator(p, TOKEN_RELOP, '~');
        case C_PLUS:
          if (src.charCodeAt(p + 1) === C_EQ) return this.operator(p, TOKEN_ENVOP, '+=');
          throw this.errorAt(p, `'+' is not a valid token`);
        case C_QUOTE:
          if (src.charCodeAt(p + 1) === C_QUOTE && src.charCodeAt(p + 2) === C_QUOTE) return this.string(p, true);
          return this.string(p, false);
        default:
          if (c < 128 && (charClass[c] & IDENT_CHAR) !== 0) return this.word(p);
          throw this.errorAt(p, `${describeChar(src, p)} is not a valid token`);
      }
    }
  }

  /** Describes the current token for error messages. */
  describe(): string {
    switch (this.kind) {
      case TOKEN_STRING:
        return `string ${JSON.stringify(this.text.length > 40 ? `${this.text.slice(0, 40)}...` : this.text)}`;
      case TOKEN_IDENT:
        return `identifier '${this.text.length > 40 ? `${this.text.slice(0, 40)}...` : this.text}'`;
      case TOKEN_BOOL:
        return `'${this.num === 1 ? 'true' : 'false'}'`;
      case TOKEN_INT:
        return `integer ${this.num}`;
      case TOKEN_RELOP:
      case TOKEN_PFXOP:
      case TOKEN_ENVOP:
        return `'${this.text}'`;
      default:
        return TOKEN_NAMES[this.kind];
    }
  }

  /** An error positioned at the start of the current token. */
  errorHere(detail: string): OpamFormatError {
    return new OpamFormatError({ file: this.file, line: this.startLine, column: this.startColumn }, detail);
  }

  private errorAt(offset: number, detail: string): OpamFormatError {
    return new OpamFormatError({ file: this.file, line: this.line, column: offset - this.lineStart + 1 }, detail);
  }

  private setStart(p: number): void {
    this.startLine = this.line;
    this.startColumn = p - this.lineStart + 1;
  }

  private finish(end: number): void {
    this.pos = end;
    this.endLine = this.line;
    this.endColumn = end - this.lineStart + 1;
  }

  private simple(p: number, kind: number, len: number): void {
    this.setStart(p);
    this.kind = kind;
    this.finish(p + len);
  }

  private operator(p: number, kind: number, op: string): void {
    this.setStart(p);
    this.kind = kind;
    this.text = op;
    this.finish(p + op.length);
  }

  private skipComment(p: number): void {
    const src = this.src;
    const n = this.length;
    const openLine = this.line;
    const openColumn = p - this.lineStart + 1;
    let depth = 1;
    p += 2;
    while (p < n) {
      const c = src.charCodeAt(p);
      if (c === C_STAR && src.charCodeAt(p + 1) === C_RPAR) {
        p += 2;
        if (--depth === 0) {
          this.pos = p;
          return;
        }
      } else if (c === C_LPAR && src.charCodeAt(p + 1) === C_STAR) {
        p += 2;
        depth++;
      } else {
        if (c === C_LF) {
          this.line++;
          this.lineStart = p + 1;
        }
        p++;
      }
    }
    throw new OpamFormatError({ file: this.file, line: openLine, column: openColumn }, 'unterminated comment');
  }

  /** A `"..."` or `"""..."""` string starting at p. */
  private string(p: number, triple: boolean): void {
    const src = this.src;
    const n = this.length;
    this.setStart(p);
    const openLine = this.startLine;
    const openColumn = this.startColumn;
    p += triple ? 3 : 1;
    let out = '';
    let chunk = p;
    for (;;) {
      if (p >= n) {
        throw new OpamFormatError({ file: this.file, line: openLine, column: openColumn }, 'unterminated string');
      }
      const c = src.charCodeAt(p);
      if (c === C_QUOTE) {
        if (!triple) {
          out += src.slice(chunk, p);
          p += 1;
          break;
        }
        if (src.charCodeAt(p + 1) === C_QUOTE && src.charCodeAt(p + 2) === C_QUOTE) {
          out += src.slice(chunk, p);
          p += 3;
          break;
        }
        p++;
      } else if (c === C_LF) {
        p++;
        this.line++;
        this.lineStart = p;
      } else if (c === C_CR && src.charCodeAt(p + 1) === C_LF) {
        // `\r\n` inside a string reads as `\n`.
        out += src.slice(chunk, p);
        chunk = p + 1;
        p += 2;
        this.line++;
        this.lineStart = p;
      } else if (c === C_BACKSLASH) {
        out += src.slice(chunk, p);
        p = this.escape(p);
        out += this.text;
        chunk = p;
      } else {
        p++;
      }
    }
    this.kind = TOKEN_STRING;
    this.text = out;
    this.finish(p);
  }

  /** Reads the escape whose backslash is at p into this.text; returns the offset after it. */
  private escape(p: number): number {
    const src = this.src;
    const c = src.charCodeAt(p + 1);
    switch (c) {
      case C_LF:
      case C_CR: {
        let q = p + 1;
        if (c === C_CR) {
          if (src.charCodeAt(p + 2) !== C_LF) break;
          q++;
        }
        q++;
        this.line++;
        this.lineStart = q;
        for (let b = src.charCodeAt(q); b === C_SPACE || b === C_TAB; b = src.charCodeAt(q)) q++;
        this.text = '';
        return q;
      }
      case C_BACKSLASH:
      case C_QUOTE:
      case 39 /* ' */:
      case C_SPACE:
        this.text = String.fromCharCode(c);
        return p + 2;
      case 110 /* n */:
        this.text = '\n';
        return p + 2;
      case 114 /* r */:
        this.text = '\r';
        return p + 2;
      case 116 /* t */:
        this.text = '\t';
        return p + 2;
      case 98 /* b */:
        this.text = '\b';
        return p + 2;
      case 120 /* x */: {
        const h1 = hexValue(src.charCodeAt(p + 2));
        const h2 = hexValue(src.charCodeAt(p + 3));
        if (h1 < 0 || h2 < 0) break;
        this.text = String.fromCharCode(h1 * 16 + h2);
        return p + 4;
      }
      default:
        if (isDigit(c) && isDigit(src.charCodeAt(p + 2)) && isDigit(src.charCodeAt(p + 3))) {
          const code = (c - 48) * 100 + (src.charCodeAt(p + 2) - 48) * 10 + (src.charCodeAt(p + 3) - 48);
          if (code > 255) break;
          this.text = String.fromCharCode(code);
          return p + 4;
        }
    }
    throw this.errorAt(p, 'illegal escape sequence');
  }

  /** An integer, boolean or identifier starting at p (longest match, ties to the earlier rule). */
  private word(p: number): void {
    const src = this.src;
    const n = this.length;
    // int: '-'? ['0'-'9' '_']+
    let intEnd = p;
    {
      let q = p;
      if (src.charCodeAt(q) === C_MINUS) q++;
      let r = q;
      while (r < n) {
        const d = src.charCodeAt(r);
        if (isDigit(d) || d === C_UNDERSCORE) r++;
        else break;
      }
      if (r > q) intEnd = r;
    }
    const identEnd = this.identEnd(p);
    this.setStart(p);
    if (identEnd > intEnd) {
      const lexeme = src.slice(p, identEnd);
      if (lexeme === 'true' || lexeme === 'false') {
        this.kind = TOKEN_BOOL;
        this.num = lexeme === 'true' ? 1 : 0;
      } else {
        this.kind = TOKEN_IDENT;
        this.text = lexeme;
      }
      this.finish(identEnd);
      return;
    }
    if (intEnd === p) throw this.errorAt(p, `${describeChar(src, p)} is not a valid token`);
    this.kind = TOKEN_INT;
    this.num = this.intValue(p, intEnd);
    this.finish(intEnd);
  }

  /** Reads an integer lexeme as OCaml's int_of_string does. */
  private intValue(p: number, end: number): number {
    const src = this.src;
    const negative = src.charCodeAt(p) === C_MINUS;
    const first = negative ? p + 1 : p;
    if (!isDigit(src.charCodeAt(first))) {
      throw this.errorAt(p, `invalid integer '${src.slice(p, end)}'`);
    }
    let digits = '';
    let chunk = first;
    for (let q = first; q < end; q++) {
      if (src.charCodeAt(q) === C_UNDERSCORE) {
        digits += src.slice(chunk, q);
        chunk = q + 1;
      }
    }
    digits += src.slice(chunk, end);
    if (digits.length <= 15) {
      const v = Number(digits);
      return negative ? -v : v;
    }
    const big = BigInt(digits);
    if (big > (negative ? OCAML_MAX_INT + 1n : OCAML_MAX_INT)) {
      throw this.errorAt(p, `integer '${src.slice(p, end)}' is out of range`);
    }
    return Number(negative ? -big : big);
  }

  /** End offset of the longest identifier starting at p, or p if none. */
  private identEnd(p: number): number {
    const src = this.src;
    let e = this.segmentEnd(p);
    if (e === p) return p;
    // A segment that stopped inside a run of identifier characters cannot be continued.
    if (this.isIdentCharAt(e)) return e;
    while (src.charCodeAt(e) === C_PLUS) {
      const s = this.segmentEnd(e + 1);
      if (s === e + 1) break;
      e = s;
      if (this.isIdentCharAt(e)) return e;
    }
    if (src.charCodeAt(e) === C_COLON) {
      const r = this.runEnd(e + 1);
      if (this.hasAlpha(e + 1, r)) e = r;
    }
    return e;
  }

  /** End of `id | '_'` at q: the whole identifier-character run if it holds a letter, else just `_`. */
  private segmentEnd(q: number): number {
    const r = this.runEnd(q);
    if (r > q && this.hasAlpha(q, r)) return r;
    if (this.src.charCodeAt(q) === C_UNDERSCORE) return q + 1;
    return q;
  }

  private runEnd(q: number): number {
    const src = this.src;
    const n = this.length;
    while (q < n) {
      const c = src.charCodeAt(q);
      if (c < 128 && (charClass[c] & IDENT_CHAR) !== 0) q++;
      else break;
    }
    return q;
  }

  private hasAlpha(q: number, r: number): boolean {
    const src = this.src;
    for (; q < r; q++) {
      const c = src.charCodeAt(q);
      if ((charClass[c] & ALPHA) !== 0) return true;
    }
    return false;
  }

  private isIdentCharAt(q: number): boolean {
    const c = this.src.charCodeAt(q);
    return c < 128 && (charClass[c] & IDENT_CHAR) !== 0;
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

function describeChar(src: string, p: number): string {
  const cp = src.codePointAt(p) ?? 0;
  if (cp >= 33 && cp < 127) return `'${String.fromCharCode(cp)}'`;
  return `character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}
