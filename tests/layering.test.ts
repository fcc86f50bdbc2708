/**
 * Which layer may import which, as a graph: each layer of src/ (a folder), and bench/ and support/ beside
 * it, names the layers it may import (MAY_IMPORT); an import of any other is a violation, printed as
 * `file imports specifier (from → to)`. No module reaches itself through its imports. These tests read
 * every import of src/, support/ and bench/ (type-only imports, and `import('…')` expressions that load a
 * module when it is needed, too). tests/ is not a layer: a test may import anything it checks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { projectRoot } from './support/snapshot.js';

/**
 * The layers of src/, in pipeline order, each with the layers it may import: the fewest the code
 * needs, so that a new arrow is a decision made here. errors/ and results/ are base modules: they
 * import nothing of ours. host/ is the platform (its package manager, depexts answers), apart from
 * the solver as opam keeps OpamSysInteract apart: the solver and the builder both ask it.
 */
const SRC_LAYERS: Readonly<Record<string, readonly string[]>> = {
  errors: [],
  results: [],
  // Quantities as people read them (sizes, durations): every layer prints them.
  units: [],
  opam: ['errors'],
  host: ['opam', 'errors'],
  solve: ['opam', 'host', 'errors'],
  plan: ['opam', 'solve', 'host', 'errors'],
  builder: ['opam', 'plan', 'host', 'results', 'errors', 'units'],
  run: ['plan', 'builder', 'results', 'units'],
  // What runs produced, kept: not how a build ran (builder/), nor what a run is made of (run/).
  store: ['opam', 'plan', 'results', 'errors'],
  compare: ['opam', 'results'],
  // Rendering, over comparisons and results: not over the store.
  report: ['compare', 'results'],
  // The application: one path down the layers for each verb.
  session: ['opam', 'host', 'solve', 'plan', 'builder', 'run', 'store', 'compare', 'results', 'errors', 'units'],
  // Parses arguments into the domain's values (package specs, shards), calls the session, prints
  // (report/, and the domain's own printers); never the builder, a run or the store directly.
  cli: ['session', 'report', 'opam', 'solve', 'plan', 'compare', 'results', 'errors', 'units'],
};

const SRC = Object.keys(SRC_LAYERS);

/** Each layer (a layer of src/, or a top-level folder) → the layers it may import. */
export const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  ...SRC_LAYERS,
  // What tests and bench/ share (the project root, the snapshot, fixture repositories): never tests/.
  support: SRC,
  // The benchmarks measure any layer of the product directly; they share support/ with the tests, never tests/.
  bench: [...SRC, 'support'],
};

/** The folders read, from the project root. */
const ROOTS = ['src', 'support', 'bench'];

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

/** The layer of a path relative to the project root: `src/X/…` → X, else its top-level folder. */
export function layerOf(rootRelative: string): string {
  const [top, sub] = rootRelative.split('/');
  return top === 'src' ? sub : top;
}

interface Violation {
  file: string;
  specifier: string;
  from: string;
  to: string;
}

const shown = (v: Violation) => `${v.file} imports ${v.specifier} (${v.from} → ${v.to})`;

/** The imports of `files` (paths relative to the project root, with their text) that the graph does not allow. */
export function violationsOf(files: ReadonlyMap<string, string>, graph: Readonly<Record<string, readonly string[]>>): Violation[] {
  const out: Violation[] = [];
  for (const [file, text] of files) {
    const from = layerOf(file);
    for (const specifier of importedSpecifiers(text)) {
      const to = layerOf(relative(projectRoot, resolve(projectRoot, dirname(file), specifier)));
      if (to !== from && !(graph[from] ?? []).includes(to)) out.push({ file, specifier, from, to });
    }
  }
  return out;
}

/** Every module read (path relative to the project root) → its text. */
function readModules(): Map<string, string> {
  const out = new Map<string, string>();
  for (const root of ROOTS)
    for (const file of sources(join(projectRoot, root))) out.set(relative(projectRoot, file), readFileSync(file, 'utf8'));
  return out;
}

test('every folder of src/ is a layer of the graph, and the graph names only layers', () => {
  const folders = readdirSync(join(projectRoot, 'src'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  assert.deepEqual([...folders].sort(), [...SRC].sort());
  assert.equal(readdirSync(join(projectRoot, 'src')).filter((n) => n.endsWith('.ts')).length, 0, 'every module of src/ is in a layer');
  for (const [from, tos] of Object.entries(MAY_IMPORT))
    for (const to of tos) assert.ok(to in MAY_IMPORT && to !== from, `${from} may import ${to}: not another layer`);
  for (const base of ['errors', 'results']) assert.deepEqual(MAY_IMPORT[base], [], `${base}/ is a base module`);
});

test('the graph of layers has no cycle: src/ reads as the pipeline, and nothing of src/ imports bench/ or support/', () => {
  assert.deepEqual(cyclesOf(new Map(Object.entries(MAY_IMPORT))), []);
  for (const layer of SRC)
    assert.deepEqual(
      MAY_IMPORT[layer].filter((to) => !SRC.includes(to)),
      [],
      layer,
    );
});

test('no module of src/, support/ or bench/ imports a layer the graph does not allow it', () => {
  const modules = readModules();
  assert.ok(
    [...modules.keys()].some((f) => f.startsWith('bench/')) && [...modules.keys()].some((f) => f.startsWith('support/')),
    'bench/ and support/ were read',
  );
  const violations = violationsOf(modules, MAY_IMPORT);
  assert.deepEqual(violations.map(shown), []);
});

test('a wrong arrow is found and printed with its file, specifier and layers', () => {
  const files = new Map([
    ['src/store/migrations.ts', "import { firstError } from '../builder/first-error.js';\nimport type { Job } from '../plan/job.js';"],
    ['src/cli/commands/log.ts', "  const [{ openDatabase }] = await Promise.all([import('../../store/database.js')]);"],
    ['src/host/depexts.ts', "import { packageLookup } from '../solve/platform-env.js';\nimport { HostError } from './host-error.js';"],
    ['bench/parse.ts', "import { opamFiles } from '../tests/support/snapshot.js';\nimport { parseOpamFile } from '../src/opam/parser.js';"],
    ['support/snapshot.ts', "import { x } from '../bench/sections.js';"],
  ]);
  assert.deepEqual(violationsOf(files, MAY_IMPORT).map(shown), [
    'src/store/migrations.ts imports ../builder/first-error.js (store → builder)',
    'src/cli/commands/log.ts imports ../../store/database.js (cli → store)',
    'src/host/depexts.ts imports ../solve/platform-env.js (host → solve)',
    'bench/parse.ts imports ../tests/support/snapshot.js (bench → tests)',
    'support/snapshot.ts imports ../bench/sections.js (support → bench)',
  ]);
});

/** Each module of src/, support/ and bench/ (path relative to the project root) → the modules it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const [file, text] of readModules()) {
    const targets = importedSpecifiers(text).map((specifier) =>
      relative(projectRoot, resolve(projectRoot, dirname(file), specifier)).replace(/\.js$/, '.ts'),
    );
    graph.set(file, targets);
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

test('the import graph of src/, support/ and bench/ has no cycle', () => {
  const graph = importGraph();
  assert.ok([...graph.keys()].filter((f) => f.startsWith('src/')).length > 100, 'the graph was read');
  for (const [from, tos] of graph)
    for (const to of tos) assert.ok(graph.has(to) || existsSync(join(projectRoot, to)), `${from} imports ${to}, which does not exist`);
  assert.deepEqual(cyclesOf(graph), []);
});

test('the cycle finder finds a cycle of 13 files, and a module importing itself', () => {
  const ring = new Map(Array.from({ length: 13 }, (_, i) => [`m${i}`, [`m${(i + 1) % 13}`]] as const));
  assert.equal(cyclesOf(ring)[0].length, 13);
  assert.deepEqual(
    cyclesOf(
      new Map([
        ['a', ['a']],
        ['b', ['a']],
      ]),
    ),
    [['a']],
  );
  assert.deepEqual(
    cyclesOf(
      new Map([
        ['a', ['b']],
        ['b', ['c']],
        ['c', []],
      ]),
    ),
    [],
  );
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
  assert.ok(graph.get('src/cli/commands/check.ts')?.includes('src/session/check.ts'), 'check imports session/check.ts with import()');
  assert.ok(
    graph.get('src/cli/commands/solve.ts')?.includes('src/session/solver-queries.ts'),
    'solve imports session/solver-queries.ts with import()',
  );
});
