/**
 * Prints opam syntax trees back as opam file text, such that parsing the output gives the same tree
 * (ignoring positions): strings are always `"..."` with `\\`, `"` and carriage returns escaped, and
 * operators are parenthesised by the grammar's precedence where the tree needs it.
 *
 * A tree that came from the parser never needs added parentheses (its groups are explicit nodes). A tree
 * built by hand can nest operators in ways the grammar cannot express without parentheses (say an option on
 * a `!x`, or `a | b` under `&`); those get parentheses, which read back as `group` nodes. A relational or
 * environment operator whose operand is not an atom cannot be written in opam syntax at all (the grammar
 * has no parentheses there): printing one throws a TypeError. A chain of one `&` or `|` operator prints flat
 * whatever its shape (`a | (b | c)` built by hand prints `a | b | c`, which means the same): the parser
 * builds such chains balanced, so a parsed tree reads back as itself.
 */
import type { Item, OpamFileAst, Value } from './ast.js';

export { astEqual } from './ast-equality.js';

// How tightly each form binds, loosest first; a form printed where a tighter one is needed gets parentheses.
const LEVEL_OR = 1;
const LEVEL_AND = 2;
const LEVEL_PFX = 3;
const LEVEL_OPTION = 4;
const LEVEL_RELOP = 5;
const LEVEL_ATOM = 6;

/** Prints a whole file: one item per line, sections and long lists indented by two spaces. */
export function printOpamFile(ast: OpamFileAst): string {
  return printItems(ast.items, '');
}

/** Prints one value on one line (multi-line only where a string holds a line break). */
export function printValue(v: Value): string {
  return value(v, 0);
}

/** Escapes a string's contents for `"..."`. */
export function escapeString(s: string): string {
  let out = '';
  let chunk = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 92 /* \ */ || c === 34 /* " */) {
      out += s.slice(chunk, i) + '\\' + s[i];
      chunk = i + 1;
    } else if (c === 13 /* \r */) {
      // A raw `\r\n` would read back as `\n`.
      out += s.slice(chunk, i) + '\\r';
      chunk = i + 1;
    }
  }
  return chunk === 0 ? s : out + s.slice(chunk);
}

function printItems(items: Item[], indent: string): string {
  let out = '';
  for (const item of items) {
    if (item.kind === 'variable') {
      out += `${indent}${item.name}: ${fieldValue(item.value, indent)}\n`;
    } else {
      const name = item.sectionName === null ? '' : ` "${escapeString(item.sectionName)}"`;
      out += `${indent}${item.sectionKind}${name} {\n${printItems(item.items, `${indent}  `)}${indent}}\n`;
    }
  }
  return out;
}

/** A field's value: lists of lists or of values with options go one element per line, as opam does. */
function fieldValue(v: Value, indent: string): string {
  if (v.kind !== 'list' || !v.items.some((x) => x.kind === 'list' || (x.kind === 'option' && x.options.length > 0))) {
    return value(v, 0);
  }
  const inner = `${indent}  `;
  let out = '[\n';
  const items = sequence(v.items);
  for (const item of items) out += `${inner}${item}\n`;
  return `${out}${indent}]`;
}

function level(v: Value): number {
  switch (v.kind) {
    case 'logop':
      return v.op === '|' ? LEVEL_OR : LEVEL_AND;
    case 'pfxop':
      return LEVEL_PFX;
    case 'option':
      return LEVEL_OPTION;
    case 'relop':
    case 'prefix-relop':
    case 'env-binding':
      return LEVEL_RELOP;
    default:
      return LEVEL_ATOM;
  }
}

function isAtom(v: Value): boolean {
  return v.kind === 'bool' || v.kind === 'int' || v.kind === 'string' || v.kind === 'ident';
}

/** Prints v so that it reads back as one value binding at least as tightly as `need`. */
function value(v: Value, need: number): string {
  if (level(v) < need) return `(${value(v, 0)})`;
  switch (v.kind) {
    case 'bool':
      return v.value ? 'true' : 'false';
    case 'int':
      return String(v.value);
    case 'string':
      return `"${escapeString(v.value)}"`;
    case 'ident':
      return v.name;
    case 'relop':
      return `${operand(v.left)} ${v.op} ${operand(v.right)}`;
    case 'env-binding':
      return `${operand(v.name)} ${v.op} ${operand(v.value)}`;
    case 'prefix-relop':
      return `${v.op} ${operand(v.arg)}`;
    case 'pfxop': {
      const arg = value(v.arg, LEVEL_PFX);
      // `!` then `=` would read as the `!=` operator.
      return arg.charCodeAt(0) === 61 /* = */ ? `${v.op} ${arg}` : `${v.op}${arg}`;
    }
    case 'logop': {
      // A chain of one operator prints flat, whatever its shape (the parser builds long chains balanced,
      // and both operators are associative): walked with a work list, so no chain can exhaust the stack.
      const op = v.op;
      const need = op === '|' ? LEVEL_AND : LEVEL_PFX;
      const parts: string[] = [];
      const work: Value[] = [v];
      while (work.length > 0) {
        const node = work.pop() as Value;
        if (node.kind === 'logop' && node.op === op) work.push(node.right, node.left);
        else parts.push(value(node, need));
      }
      return parts.join(` ${op} `);
    }
    case 'option': {
      const chain: Value[][] = [];
      let node: Value = v;
      while (node.kind === 'option') {
        chain.push(node.options);
        node = node.value;
      }
      let out = value(node, LEVEL_OPTION);
      for (let i = chain.length - 1; i >= 0; i--) out += ` {${sequence(chain[i]).join(' ')}}`;
      return out;
    }
    case 'list':
      return `[${sequence(v.items).join(' ')}]`;
    case 'group':
      return `(${sequence(v.items).join(' ')})`;
  }
}

/**
 * An operand of a relational or environment operator. The grammar only has atoms there (not even a
 * parenthesised group), so any other tree has no opam syntax at all: that is a caller's bug, thrown.
 */
function operand(v: Value): string {
  if (!isAtom(v)) throw new TypeError(`opam syntax cannot express a ${v.kind} as an operand of a relational or environment operator`);
  return value(v, LEVEL_ATOM);
}

/**
 * Prints the values of a list, group or option. A value starting with a relational operator right after
 * one ending in a bare atom would read back as one relop (`[a >= b]`), so it gets parentheses then.
 */
function sequence(items: Value[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item.kind === 'prefix-relop' && i > 0 && endsWithBareAtom(items[i - 1])) out.push(`(${value(item, 0)})`);
    else out.push(value(item, 0));
  }
  return out;
}

function endsWithBareAtom(v: Value): boolean {
  for (;;) {
    if (isAtom(v)) return true;
    if (v.kind === 'logop') v = v.right;
    else if (v.kind === 'pfxop') v = v.arg;
    else return false;
  }
}
