/**
 * Conflict cores of the explanations (src/solve/explain.ts): packages whose dependencies are each
 * installable but not together are explained by the packages whose requirements clash, minimised,
 * each target named for itself even when several targets share one SAT instance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSolver } from '../../src/solve/package-solver.js';
import { packageId, type OpamPackage } from '../../src/opam/package-model.js';
import { compilers, pkg, repo } from '../support/solve-packages.js';

function reasons(load: { packages: Map<string, OpamPackage[]> }): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of createSolver(load, { compiler: '5.3.0' }).installableTargets('all-versions')) {
    out.set(packageId(r.pkg), r.outcome.installable ? 'installable' : r.outcome.reason);
  }
  return out;
}

test('a version clash between two dependencies: the core names the three requirers, not the bystanders', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('c.1'),
    pkg('c.2'),
    pkg('a.1', { depends: '"c" {= "1"}' }),
    pkg('b.1', { depends: '"c" {= "2"}' }),
    pkg('d.1', { depends: '"c"' }),
    // app.1 and app.2 have the same dependency cone (one SAT instance): each is named for itself.
    pkg('app.1', { depends: '"d" "a" "b"' }),
    pkg('app.2', { depends: '"d" "a" "b"' }),
  );
  const r = reasons(load);
  assert.equal(r.get('a.1'), 'installable');
  assert.equal(r.get('b.1'), 'installable');
  assert.equal(r.get('d.1'), 'installable');
  assert.equal(r.get('app.1'), 'conflicting requirements of app.1, a.1, b.1');
  assert.equal(r.get('app.2'), 'conflicting requirements of app.2, a.1, b.1');
});

test('a declared conflict between two dependencies is named with its formula', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('x.1', { conflicts: '"y"' }),
    pkg('y.1'),
    pkg('z.1'),
    pkg('app.1', { depends: '"z" "x" "y"' }),
  );
  const r = reasons(load);
  assert.equal(r.get('x.1'), 'installable');
  assert.equal(r.get('app.1'), 'conflicting requirements of app.1, x.1 conflicts with y');
});

test('a clash with the compiler through two dependencies names the compiler', () => {
  const load = repo(
    ...compilers('4.14.0', '5.3.0'),
    pkg('p.1', { depends: '"ocaml" {>= "4.14"}' }),
    pkg('p.2', { depends: '"ocaml" {>= "5.0"} "q"' }),
    pkg('q.1', { depends: '"r" {= "1"}' }),
    pkg('r.1'),
    pkg('r.2'),
    pkg('s.1', { depends: '"r" {= "2"}' }),
    pkg('app.1', { depends: '"p" {>= "2"} "s"' }),
  );
  const r = reasons(load);
  assert.equal(r.get('p.2'), 'installable');
  assert.equal(r.get('s.1'), 'installable');
  assert.equal(r.get('app.1'), 'conflicting requirements of app.1, p.2, q.1, s.1');
});

test('every version of a dependency that could fit is in the core, with the requirers that exclude them', () => {
  const load = repo(
    ...compilers('5.3.0'),
    pkg('c.1'),
    pkg('c.2'),
    pkg('c.3'),
    pkg('a.1', { depends: '"c" {= "1"}' }),
    pkg('a.2', { depends: '"c" {= "3"}' }),
    pkg('b.1', { depends: '"c" {= "2"}' }),
    pkg('k.1', { depends: '"c" {>= "2"}' }),
    pkg('app.2', { depends: '"k" "a" {= "1"} "b"' }),
    pkg('app.3', { depends: '"b" {= "1"} "k" "a"' }),
  );
  const r = reasons(load);
  assert.equal(r.get('app.2'), 'conflicting requirements of app.2, a.1, k.1');
  assert.equal(r.get('app.3'), 'conflicting requirements of app.3, a.1, a.2, b.1');
});
