#!/usr/bin/env node
// The shard partition measured on a saved plan, without planning again: `ecocheck plan --json … > plan.json`,
// then `node scripts/partition-bench.mjs plan.json [--durations FILE] [--runners N] [--cores C] [--dist DIR]`.
// Prints the predicted makespan, the duplication (CPU time summed over the shards ÷ CPU time on one machine),
// the critical path and the issue-22 bound max(critical path, work ÷ (N·C)). --dist: another build's dist/
// (e.g. an older checkout's) to measure its partition on the same plan. --prebuilt-share F: the compiler and
// the jobs at least F of the targets need built once by a first job (0 < F ≤ 1; above 1: the compiler alone);
// default: the check's own choice (check-partition.ts), as `check --shard` makes it (an older dist without
// it: no first job). --synthetic: day10-like costs instead of the stated estimate (the compilers 10 minutes,
// every other NAME.VERSION lognormal, median 5 s, sigma 1.186, drawn from a hash of its name: ~17 CPU-hours on
// the whole snapshot); --write-durations FILE writes them as a durations file (for `plan --predict --durations`).
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
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
if (args.includes('--synthetic')) {
  const byPackage = {};
  for (const j of jobs.values()) {
    if (/^ocaml-(base-compiler|variants|system|compiler)$/.test(j.package.name)) byPackage[j.id] = 600_000;
    else {
      const h = createHash('sha256').update(`ecocheck:${j.id}`).digest();
      const u1 = (h.readUInt32BE(0) + 1) / 4294967297;
      const u2 = h.readUInt32BE(4) / 4294967296;
      byPackage[j.id] = Math.round(5000 * Math.exp(1.186 * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2)));
    }
  }
  lookup = { byKey: () => undefined, byPackage: (id) => byPackage[id] };
  const out = opt('--write-durations');
  if (out !== undefined) {
    const sorted = Object.fromEntries(Object.entries(byPackage).sort(([a], [b]) => (a < b ? -1 : 1)));
    writeFileSync(out, JSON.stringify({ format: 'ecocheck-durations', version: 1, byPackage: sorted, byKey: {} }, null, 1) + '\n');
  }
}
const runners = Number(opt('--runners', '20'));
const cores = Number(opt('--cores', '4'));
const t0 = performance.now();
const share = opt('--prebuilt-share');
let prebuilt;
if (share !== undefined && shardModule.prebuiltJobs !== undefined) prebuilt = shardModule.prebuiltJobs(plan, Number(share));
else if (share === undefined) prebuilt = shardModule.selectShard === undefined ? 'choose' : shardModule.prebuiltJobs?.(plan);
const p = predictMakespan(plan, runners, cores, lookup, prebuilt === undefined ? {} : { prebuilt });
const ms = performance.now() - t0;
const h = (x) => (x < 3 * 3_600_000 ? `${(x / 60_000).toFixed(1)} min` : `${(x / 3_600_000).toFixed(2)} h`);
const bound = Math.max(p.criticalPathMs, p.totalWorkMs / (runners * cores));
const duplication = (p.totalWorkMs + p.duplicatedWorkMs) / p.totalWorkMs;
console.log(
  `${jobs.size} jobs, ${plan.targets.length} targets; N=${runners} C=${cores}: makespan ${h(p.makespanMs)}, duplication ${duplication.toFixed(3)}, ` +
    `critical path ${h(p.criticalPathMs)}, work ${h(p.totalWorkMs)}${prebuilt === undefined ? '' : `, prebuilt ${p.prebuiltJobs} jobs (${h(p.prebuiltMakespanMs)} first)`}, bound ${h(bound)}, makespan/bound ${(p.makespanMs / bound).toFixed(4)}${p.lowerBoundMs === undefined ? '' : `, lower bound ${h(p.lowerBoundMs)}, makespan/lower bound ${(p.makespanMs / p.lowerBoundMs).toFixed(3)}`} (split and simulated in ${Math.round(ms)} ms)`,
);
if (p.waves !== undefined && p.waves.length > 0)
  console.log(
    `  stages (each +${h(p.stageOverheadMs)}): first job ${h(p.prebuiltMakespanMs)}, ` +
      p.waves.map((w, i) => `wave ${i + 1} ${w.jobs} jobs ${h(w.makespanMs)} (work ${h(w.workMs)})`).join(', ') +
      `, shards ${h(Math.max(...p.shards.map((s) => s.makespanMs)))} (work ${h(p.shards.reduce((s, x) => s + x.workMs, 0))})`,
  );
if (args.includes('--shards'))
  for (const s of p.shards)
    console.log(`  shard ${s.index}: ${s.targets} targets, ${s.jobs} jobs, work ${h(s.workMs)}, wall ${h(s.makespanMs)}`);
