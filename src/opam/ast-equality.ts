/**
 * Structural equality of opam syntax trees, ignoring positions (spans) and the file name.
 * Iterative (explicit work list), so arbitrarily deep or long operator chains cannot exhaust the stack.
 */
import type { Item, OpamFileAst, Value } from './ast.js';

type Node = Value | Item | OpamFileAst;

export function astEqual(a: Node, b: Node): boolean {
  const work: Node[] = [a, b];
  while (work.length > 0) {
    const y = work.pop() as Node;
    const x = work.pop() as Node;
    if (!('kind' in x) || !('kind' in y)) {
      if ('kind' in x || 'kind' in y) return false;
      if (!pushAll(work, x.items, y.items)) return false;
      continue;
    }
    if (x.kind !== y.kind) return false;
    switch (x.kind) {
      case 'bool':
      case 'int':
      case 'string':
        if (x.value !== (y as typeof x).value) return false;
        break;
      case 'ident':
        if (x.name !== (y as typeof x).name) return false;
        break;
      case 'relop':
      case 'logop': {
        const z = y as typeof x;
        if (x.op !== z.op) return false;
        work.push(x.left, z.left, x.right, z.right);
        break;
      }
      case 'prefix-relop':
      case 'pfxop': {
        const z = y as typeof x;
        if (x.op !== z.op) return false;
        work.push(x.arg, z.arg);
        break;
      }
      case 'list':
      case 'group':
        if (!pushAll(work, x.items, (y as typeof x).items)) return false;
        break;
      case 'option': {
        const z = y as typeof x;
        if (!pushAll(work, x.options, z.options)) return false;
        work.push(x.value, z.value);
        break;
      }
      case 'env-binding': {
        const z = y as typeof x;
        if (x.op !== z.op) return false;
        work.push(x.name, z.name, x.value, z.value);
        break;
      }
      case 'variable': {
        const z = y as typeof x;
        if (x.name !== z.name) return false;
        work.push(x.value, z.value);
        break;
      }
      case 'section': {
        const z = y as typeof x;
        if (x.sectionKind !== z.sectionKind || x.sectionName !== z.sectionName) return false;
        if (!pushAll(work, x.items, z.items)) return false;
        break;
      }
    }
  }
  return true;
}

function pushAll(work: Node[], xs: readonly Node[], ys: readonly Node[]): boolean {
  if (xs.length !== ys.length) return false;
  for (let i = 0; i < xs.length; i++) work.push(xs[i], ys[i]);
  return true;
}
