#!/usr/bin/env node
// The shard partition measured on a saved plan, without planning again: `ecocheck plan --json … > plan.json`,
// then `node scripts/partition-bench.mjs plan.json [--durations FILE] [--runners N] [--cores C] [--dist DIR]`.
// Prints the predicted makespan, the duplication (CPU time summed over the shards ÷ CPU time on one machine),
// the critical path and the issue-22 bound max(critical path, work ÷ (N·C)). --dist: another build's dist/
// (e.g. an older checkout's) to measure its partition on the same plan. --prebuilt-share F: the compiler and
// the jobs at least F of the targets need built once by a first job (0 < F ≤ 1; above 1: the compiler alone).
import { readFileSync } from 'node:fs';
import { resolve, join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i < 0 ? dflt : args[i + 1];
};
const file = args[0];
if (file === undefined || file.startsWith('--')) {
  console.error('usage: partition-bench.mjs PLAN.json [--durations FILE] [--runners N] [--cores C] [--dist DIR]');
  process.exit(2);
}
const dist = resolve(opt('--dist', join(dirname(fileURLToPath(import.meta.url)), '..', 'dist')));
const { predictMakespan } = await import(pathToFileURL(join(dist, 'src/plan/makespan.js')).href);
const shardModule = await import(pathToFileURL(join(dist, 'src/plan/shard.js')).href);
let lookup = { byKey: () => undefined };
const durations = opt('--durations');
if (durations !== undefined) {
  // Read here, not by the dist measured: an older build may not read durations files.
  const d = JSON.parse(readFileSync(durations, 'utf8'));
  lookup = { byKey: (k) => d.byKey?.[k], byPackage: (id) => d.byPackage?.[id] };
}

const data = JSON.parse(readFileSync(file, 'utf8'));
const jobs = new Map();
for (const j of data.jobs) {
  const closure = new Set();
  for (const d of j.dependencies) {
    for (const c of jobs.get(d).closure) closure.add(c);
    closure.add(d);
  }
  // In build order, as the plan keeps it.
  const position = (k) => jobs.get(k).position;
  const ordered = [...closure].sort((a, b) => position(a) - position(b));
  jobs.set(j.key, {
    key: j.key,
    id: j.id,
    package: { name: j.name, version: j.version },
    dependencies: j.dependencies,
    closure: ordered,
    position: jobs.size,
  });
}
const plan = { jobs, targets: data.targets, notInstallable: data.notInstallable };
const runners = Number(opt('--runners', '20'));
const cores = Number(opt('--cores', '4'));
const t0 = performance.now();
const share = opt('--prebuilt-share');
const prebuilt = share === undefined || shardModule.prebuiltJobs === undefined ? undefined : shardModule.prebuiltJobs(plan, Number(share));
const p = predictMakespan(plan, runners, cores, lookup, prebuilt === undefined ? {} : { prebuilt });
const ms = performance.now() - t0;
const h = (x) => `${(x / 3_600_000).toFixed(2)} h`;
const bound = Math.max(p.criticalPathMs, p.totalWorkMs / (runners * cores));
const duplication = (p.totalWorkMs + p.duplicatedWorkMs) / p.totalWorkMs;
console.log(
  `${jobs.size} jobs, ${plan.targets.length} targets; N=${runners} C=${cores}: makespan ${h(p.makespanMs)}, duplication ${duplication.toFixed(3)}, ` +
    `critical path ${h(p.criticalPathMs)}, work ${h(p.totalWorkMs)}${prebuilt === undefined ? '' : `, prebuilt ${p.prebuiltJobs} jobs (${h(p.prebuiltMakespanMs)} first)`}, bound ${h(bound)}, makespan/bound ${(p.makespanMs / bound).toFixed(3)} (split and simulated in ${Math.round(ms)} ms)`,
);
if (args.includes('--shards'))
  for (const s of p.shards)
    console.log(`  shard ${s.index}: ${s.targets} targets, ${s.jobs} jobs, work ${h(s.workMs)}, wall ${h(s.makespanMs)}`);
