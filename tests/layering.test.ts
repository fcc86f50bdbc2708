/**
 * src/ reads as the pipeline: each layer imports only the layers before it (and the base modules,
 * results/ and errors/, which import nothing of ours), and no module reaches itself through its
 * imports. These tests read every import of src/ (type-only imports, and `import('…')` expressions
 * that load a module when it is needed, too) and fail on one that reaches forward, and on any cycle.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { projectRoot } from './support/snapshot.js';

const BASE = ['results', 'errors'];
const PIPELINE = ['opam', 'host', 'solve', 'plan', 'builder', 'run', 'store', 'compare', 'report', 'session', 'cli'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The relative specifiers a module imports: `import … from`, `export … from`, and `import('…')`. */
export function importedSpecifiers(text: string): string[] {
  const declared = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?from\s+'(\.[^']+)'/gm)].map((m) => m[1]);
  const dynamic = [...text.matchAll(/\bimport\(\s*'(\.[^']+)'\s*\)/g)].map((m) => m[1]);
  return [...declared, ...dynamic];
}

function layerOf(srcRelative: string): string {
  return srcRelative.split('/')[0];
}

test('every src/ folder is a known layer, and no import reaches a later layer', () => {
  const src = join(projectRoot, 'src');
  const violations: string[] = [];
  for (const file of sources(src)) {
    const from = layerOf(relative(src, file));
    assert.ok([...BASE, ...PIPELINE].includes(from), `${relative(projectRoot, file)}: src/${from} is not a layer of the pipeline`);
    const text = readFileSync(file, 'utf8');
    for (const specifier of importedSpecifiers(text)) {
      const to = layerOf(relative(src, resolve(dirname(file), specifier)));
      const allowed = BASE.includes(to)
        ? !BASE.includes(from) || from === to
        : !BASE.includes(from) && PIPELINE.indexOf(to) <= PIPELINE.indexOf(from);
      if (!allowed) violations.push(`${relative(projectRoot, file)} imports ${specifier} (${from} → ${to})`);
    }
  }
  assert.deepEqual(violations, []);
});

/** Each module of src/ (relative path) → the modules of src/ it imports. */
function importGraph(): Map<string, string[]> {
  const src = join(projectRoot, 'src');
  const graph = new Map<string, string[]>();
  for (const file of sources(src)) {
    const text = readFileSync(file, 'utf8');
    const targets = importedSpecifiers(text).map((specifier) => relative(src, resolve(dirname(file), specifier)).replace(/\.js$/, '.ts'));
    graph.set(relative(src, file), targets);
  }
  return graph;
}

/** The cycles of a graph, each as the path that closes it (Tarjan's strongly connected components). */
export function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  let next = 0;
  const visit = (v: string) => {
    index.set(v, next);
    low.set(v, next++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return out;
}

test('the import graph of src/ has no cycle', () => {
  const graph = importGraph();
  assert.ok(graph.size > 100, 'the graph was read');
  for (const [from, tos] of graph) for (const to of tos) assert.ok(graph.has(to), `${from} imports ${to}, which does not exist`);
  assert.deepEqual(cyclesOf(graph), []);
});

test('the cycle finder finds a cycle of 13 files, and a module importing itself', () => {
  const ring = new Map(Array.from({ length: 13 }, (_, i) => [`m${i}`, [`m${(i + 1) % 13}`]] as const));
  assert.equal(cyclesOf(ring)[0].length, 13);
  assert.deepEqual(cyclesOf(new Map([['a', ['a']], ['b', ['a']]])), [['a']]);
  assert.deepEqual(cyclesOf(new Map([['a', ['b']], ['b', ['c']], ['c', []]])), []);
});

test('an import of a module when it is needed is read like the others', () => {
  const text = [
    "import type { A } from '../session/a.js';",
    "import { b } from './b.js';",
    "export { c } from '../errors/c.js';",
    "  const { d } = await import('../../store/d.js');",
    "  const [e, f] = await Promise.all([import('./e.js'), import( '../run/f.js' )]);",
    "  const g = await import('node:fs');",
  ].join('\n');
  assert.deepEqual(importedSpecifiers(text), ['../session/a.js', './b.js', '../errors/c.js', '../../store/d.js', './e.js', '../run/f.js']);
});

test('the graph holds the imports the CLI makes when an action runs', () => {
  const graph = importGraph();
  assert.ok(graph.get('cli/commands/check.ts')?.includes('session/check.ts'), 'check imports session/check.ts with import()');
  assert.ok(graph.get('cli/commands/solve.ts')?.includes('session/solver-queries.ts'), 'solve imports session/solver-queries.ts with import()');
});
