/**
 * A wave's fillers that bring their missing dependencies (check-waves.ts pullFillers): a job whose
 * dependencies two parts hold goes to one of them with the other's dependency built there too, when
 * the part has the idle time and the chain ends by the wave's end; a chain that would not is left to
 * the shards.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Job, Plan } from '../../src/plan/job.js';
import type { OpamPackage } from '../../src/opam/package-model.js';
import { jobCosts } from '../../src/plan/job-cost.js';
import { partSchedules, pullFillers } from '../../src/plan/check-waves.js';

const MIN = 60_000;

/** Jobs in the order given (dependencies first), keyed by their ids. */
function plan(deps: [string, string[]][]): Plan {
  const jobs = new Map<string, Job>();
  for (const [id, ds] of deps) {
    const closure = new Set<string>();
    for (const d of ds) {
      for (const c of jobs.get(d)!.closure) closure.add(c);
      closure.add(d);
    }
    const order = [...jobs.keys()];
    jobs.set(id, {
      key: id,
      id,
      package: { name: id.split('.')[0], version: '1' } as OpamPackage,
      dependencies: ds,
      closure: order.filter((k) => closure.has(k)),
    });
  }
  return { jobs, targets: [], notInstallable: [] };
}

test('pulled fillers: a job on two parts’ jobs goes to one part with the other dependency built again; a chain past the wave’s end stays out', () => {
  const p = plan([
    ['ocaml.1', []],
    ['a.1', ['ocaml.1']],
    ['b.1', ['ocaml.1']],
    ['z1.1', ['a.1', 'b.1']],
    ['z2.1', ['a.1', 'b.1']],
    ['long.1', ['a.1', 'b.1']],
  ]);
  const ms: Record<string, number> = {
    'ocaml.1': 10 * MIN,
    'a.1': 5 * MIN,
    'b.1': 5 * MIN,
    'z1.1': 10 * MIN,
    'z2.1': 10 * MIN,
    'long.1': 58 * MIN,
  };
  const costs = jobCosts(p, { byKey: (k) => ms[k] });
  const before = new Set(['ocaml.1']);
  const free = jobCosts(p, { byKey: (k) => (before.has(k) ? 0 : ms[k]) });
  const parts = [new Set(['a.1']), new Set(['b.1'])];
  const sims = partSchedules(
    p,
    parts.map((x) => [...x]),
    4,
    free,
  );
  // The wave lasts an hour (another part's chain, say): the idle cores of both parts are offered.
  const wall = 60 * MIN;
  const out = pullFillers(p, parts, sims, before, wall, 4, costs, new Map([...p.jobs.keys()].map((k, i) => [k, i])));
  for (const z of ['z1.1', 'z2.1']) {
    const holders = out.filter((x) => x.has(z));
    assert.equal(holders.length, 1, `${z} in one part`);
    assert.ok(holders[0].has('a.1') && holders[0].has('b.1'), `${z}'s part builds both its dependencies: ${[...holders[0]]}`);
  }
  // 5 + 58 minutes ends after the wave: left to the shards.
  assert.ok(!out.some((x) => x.has('long.1')));
  // Every part closed under dependencies, except for what was built before.
  for (const part of out)
    for (const k of part) for (const d of p.jobs.get(k)!.closure) assert.ok(part.has(d) || before.has(d), `${k} needs ${d}`);
  // No idle time, nothing pulled.
  const busy = pullFillers(p, parts, sims, before, 5 * MIN, 4, costs, new Map([...p.jobs.keys()].map((k, i) => [k, i])));
  assert.deepEqual(
    busy.map((x) => [...x]),
    [['a.1'], ['b.1']],
  );
});
