/**
 * `ecocheck plan`: the build plan for a compiler and targets — jobs, edges, critical path, the DAG as
 * JSON. The session layer (and, with --predict, the store) is loaded when the action runs.
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { PreparedPlan } from '../../session/plan-preparation.js';
import type { RegisterCommand } from '../command.js';
import {
  addDurationsOption,
  addPlanOptions,
  addStateOptions,
  planRequest,
  statePaths,
  workspaceRequest,
  type PlanOptions,
  type StateOptions,
} from '../options.js';
import { parsePositiveInt } from '../argument-parsers.js';
import { UsageError } from '../usage-error.js';
import type { MakespanPrediction } from '../../plan/makespan.js';

export const registerPlan: RegisterCommand = (program: Command) => {
  addDurationsOption(
    addStateOptions(
      addPlanOptions(
        program
          .command('plan')
          .description('Show the build plan: jobs, edges, critical path; --json prints the DAG; --predict the wall time on CI runners'),
      ),
    ),
    'with --predict',
  )
    .option('--json', 'print the plan as JSON')
    .option(
      '--predict',
      'predict the wall time on --runners R of --cores C each, and the work the shards duplicate, from --durations FILE or else the durations recorded in the state dir (a stated estimate for jobs never built)',
    )
    .option('--runners <n>', 'with --predict: CI runners, one shard each', '1')
    .option('--cores <n>', 'with --predict: cores of each runner', '2')
    .option(
      '--prebuilt-list <file>',
      "with --predict: write the NAME.VERSION of the jobs the check's first job builds (the compiler, and the shared jobs worth it), one a line; with --wave W --part I, those part I of wave W builds",
    )
    .option(
      '--wave <w>',
      'with --prebuilt-list: the list of wave W (1 to 3) of the runners that build shared jobs between the first job and the shards',
    )
    .option('--part <i>', 'with --wave: the part of runner I (1 to --runners); a wave the check does not have lists nothing')
    .action(
      async (
        targets: string[],
        opts: PlanOptions &
          StateOptions & {
            json?: boolean;
            predict?: boolean;
            runners: string;
            cores: string;
            durations?: string;
            prebuiltList?: string;
            wave?: string;
            part?: string;
          },
      ) => {
        if (opts.durations !== undefined && opts.predict !== true) throw new UsageError('--durations goes with --predict');
        if (opts.prebuiltList !== undefined && opts.predict !== true) throw new UsageError('--prebuilt-list goes with --predict');
        if ((opts.wave === undefined) !== (opts.part === undefined)) throw new UsageError('--wave and --part go together');
        if (opts.wave !== undefined && opts.prebuiltList === undefined) throw new UsageError('--wave goes with --prebuilt-list');
        const wave = opts.wave === undefined ? null : parsePositiveInt(opts.wave, '--wave');
        const part = opts.part === undefined ? null : parsePositiveInt(opts.part, '--part');
        const request = planRequest(targets, opts);
        // A bad durations file is said before the plan is made.
        const durations =
          opts.durations === undefined ? null : (await import('../../plan/durations-file.js')).readDurationsFile(opts.durations);
        const [{ analysePlan, planToJson }, { hasDatabase, withCommandContext }, { announcePlan, preparePlan }, { stderrOutput }] =
          await Promise.all([
            import('../../plan/plan-graph.js'),
            import('../../session/command-context.js'),
            import('../../session/plan-preparation.js'),
            import('../run-progress-output.js'),
          ]);
        const paths = await statePaths(opts);
        const predict =
          opts.predict === true
            ? { runners: parsePositiveInt(opts.runners, '--runners'), cores: parsePositiveInt(opts.cores, '--cores') }
            : null;
        // The recorded durations are read only to predict without a durations file, from a database that exists (a plan records nothing).
        const database = predict !== null && durations === null && hasDatabase(paths) ? 'read' : undefined;
        await withCommandContext({ paths, ...workspaceRequest(opts), database }, async (ctx) => {
          const prepared = preparePlan(ctx, request);
          announcePlan(prepared, stderrOutput);
          if (predict !== null) {
            const [{ predictPlan }, { formatSeconds }] = await Promise.all([
              import('../../session/plan-prediction.js'),
              import('../../units/duration.js'),
            ]);
            const p = predictPlan(ctx, prepared, predict.runners, predict.cores, durations);
            if (opts.prebuiltList !== undefined) {
              if (part !== null && part > predict.runners)
                throw new UsageError(`--part must be between 1 and --runners (${predict.runners})`);
              // The first job's list, or the part of a wave (none when the check has fewer waves).
              const keys = new Set(wave === null ? p.firstJobKeys : (p.waves[wave - 1]?.parts[part! - 1] ?? []));
              const ids = [...new Set([...prepared.plan.jobs.values()].filter((j) => keys.has(j.key)).map((j) => j.id))];
              writeFileSync(opts.prebuiltList, ids.map((id) => `${id}\n`).join(''));
            }
            if (opts.json) {
              // The waves' parts are lists of keys (--prebuilt-list --wave W --part I writes one): sizes only here.
              const waves = p.waves.map(({ parts, ...w }) => ({ ...w, partJobs: parts.map((x) => x.length) }));
              process.stdout.write(`${JSON.stringify({ ...p, waves })}\n`);
              return;
            }
            printPrediction(p, formatSeconds);
            return;
          }
          printPlan(prepared, analysePlan, planToJson, opts.json === true);
        });
      },
    );
};

/** The plan as JSON, or in words: jobs, edges, the critical path, the time each step took. */
function printPlan(
  prepared: PreparedPlan,
  analysePlan: typeof import('../../plan/plan-graph.js').analysePlan,
  planToJson: typeof import('../../plan/plan-graph.js').planToJson,
  json: boolean,
): void {
  const { plan } = prepared;
  const graph = analysePlan(plan);
  if (json) {
    process.stdout.write(
      JSON.stringify({ compiler: prepared.compiler.spec, ...planToJson(plan, graph), timings: roundTimings(prepared.timings) }) + '\n',
    );
    return;
  }
  const out = process.stdout;
  out.write(`targets: ${plan.targets.length} installable, ${plan.notInstallable.length} not installable\n`);
  out.write(`jobs: ${plan.jobs.size}\nedges: ${graph.edgeCount}\n`);
  if (prepared.depexts.mode === 'install')
    out.write(`system packages (depexts) to install: ${prepared.depexts.toInstall.join(' ') || 'none'}\n`);
  out.write(`critical path: ${graph.criticalPath.length} jobs: ${graph.criticalPath.map((k) => plan.jobs.get(k)!.id).join(' -> ')}\n`);
  const t = roundTimings(prepared.timings);
  out.write(`time: load ${t.loadMs} ms, solve ${t.solveMs} ms, plan ${t.planMs} ms\n`);
}

function roundTimings(t: PreparedPlan['timings']) {
  return { loadMs: Math.round(t.loadMs), solveMs: Math.round(t.solveMs), planMs: Math.round(t.planMs) };
}

/** `formatSeconds` of units/duration.ts, loaded with the prediction. */
function printPrediction(p: MakespanPrediction & { partition?: string }, formatSeconds: (seconds: number) => string): void {
  const s = (ms: number) => formatSeconds(Math.round(ms / 1000));
  const out = process.stdout;
  out.write(`predicted wall time on ${p.runners} runner(s) of ${p.cores} core(s): ${s(p.makespanMs)}\n`);
  // The issue-22 measures: how much the shards build twice, and how far the wall time is from what no split beats.
  const bound = Math.max(p.criticalPathMs, p.totalWorkMs / (p.runners * p.cores));
  const duplication = p.totalWorkMs > 0 ? (p.totalWorkMs + p.duplicatedWorkMs) / p.totalWorkMs : 1;
  out.write(
    `duplication: ${duplication.toFixed(2)} (CPU time summed over the first job, the waves and the shards ÷ CPU time on one machine); wall time ${bound > 0 ? (p.makespanMs / bound).toFixed(2) : '1.00'} × max(critical path, work ÷ (runners × cores)) = ${s(bound)}; no split finishes before ${s(p.lowerBoundMs)}\n`,
  );
  if (p.partition !== undefined) out.write(`partition: ${p.partition} (what check --shard I/${p.runners} --durations records)\n`);
  out.write(
    `work: ${s(p.totalWorkMs)} in ${p.jobCount} jobs; built in more than one shard: ${p.duplicatedJobs} jobs; built more than once (two shards, or two parts of a wave): ${s(p.duplicatedWorkMs)}; critical path ${s(p.criticalPathMs)}\n`,
  );
  if (p.prebuiltJobs > 0)
    out.write(
      `first job (the compiler, and the shared jobs worth it), on one runner: ${p.prebuiltJobs} jobs, ${s(p.prebuiltWorkMs)} of work, wall ${s(p.prebuiltMakespanMs)}\n`,
    );
  p.waves.forEach((w, i) =>
    out.write(
      `wave ${i + 1} (shared jobs, in ${p.runners} parts, before the shards): ${w.jobs} jobs, ${s(w.workMs)} of work, wall ${s(w.makespanMs)}\n`,
    ),
  );
  if (p.stageOverheadMs > 0)
    out.write(
      `stages: ${p.waves.length + 2}, one after the other, each counted ${s(p.stageOverheadMs)} more for starting its runners and importing the earlier stages' layers\n`,
    );
  out.write(`estimated: ${p.estimatedJobs.length} job(s) never built here, each ${s(p.estimateMs)} (${p.estimateRule})\n`);
  for (const sh of p.shards)
    out.write(`  shard ${sh.index}: ${sh.targets} targets, ${sh.jobs} jobs, work ${s(sh.workMs)}, wall ${s(sh.makespanMs)}\n`);
}
