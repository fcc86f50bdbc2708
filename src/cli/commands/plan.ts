/** `ecocheck plan`: the build plan for a compiler and targets — jobs, edges, critical path, the DAG as JSON. */
import type { Command } from 'commander';
import { analysePlan, planToJson } from '../../plan/plan-graph.js';
import { announcePlan, preparePlan, type PreparedPlan } from '../../session/plan-preparation.js';
import type { RegisterCommand } from '../command.js';
import { addPlanOptions, addStateOptions, planRequest, statePaths, type PlanOptions, type StateOptions } from '../options.js';
import { parsePositiveInt } from '../argument-parsers.js';
import { predictPlan } from '../../session/plan-prediction.js';
import type { MakespanPrediction } from '../../plan/makespan.js';
import { formatSeconds } from '../../run/progress.js';
import { stderrOutput } from '../run-progress-output.js';

export const registerPlan: RegisterCommand = (program: Command) => {
  addStateOptions(addPlanOptions(program.command('plan').description('Show the build plan: jobs, edges, critical path; --json prints the DAG; --predict the wall time on CI runners')))
    .option('--json', 'print the plan as JSON')
    .option('--predict', 'predict the wall time on --runners R of --cores C each, from the durations recorded in the state dir (a stated estimate for jobs never built)')
    .option('--runners <n>', 'with --predict: CI runners, one shard each', '1')
    .option('--cores <n>', 'with --predict: cores of each runner', '2')
    .action((targets: string[], opts: PlanOptions & StateOptions & { json?: boolean; predict?: boolean; runners: string; cores: string }) => {
      const prepared = preparePlan(planRequest(targets, opts));
      announcePlan(prepared, stderrOutput);
      if (opts.predict === true) {
        const p = predictPlan(prepared, parsePositiveInt(opts.runners, '--runners'), parsePositiveInt(opts.cores, '--cores'), statePaths(opts));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(p)}\n`);
          return;
        }
        printPrediction(p);
        return;
      }
      const { plan } = prepared;
      const graph = analysePlan(plan);
      if (opts.json) {
        process.stdout.write(JSON.stringify({ compiler: prepared.compiler.spec, ...planToJson(plan, graph), timings: roundTimings(prepared.timings) }) + '\n');
        return;
      }
      const out = process.stdout;
      out.write(`targets: ${plan.targets.length} installable, ${plan.notInstallable.length} not installable\n`);
      out.write(`jobs: ${plan.jobs.size}\nedges: ${graph.edgeCount}\n`);
      if (prepared.depexts.mode === 'install') out.write(`system packages (depexts) to install: ${prepared.depexts.toInstall.join(' ') || 'none'}\n`);
      out.write(`critical path: ${graph.criticalPath.length} jobs: ${graph.criticalPath.map((k) => plan.jobs.get(k)!.id).join(' -> ')}\n`);
      const t = roundTimings(prepared.timings);
      out.write(`time: load ${t.loadMs} ms, solve ${t.solveMs} ms, plan ${t.planMs} ms\n`);
    });
};

function roundTimings(t: PreparedPlan['timings']) {
  return { loadMs: Math.round(t.loadMs), solveMs: Math.round(t.solveMs), planMs: Math.round(t.planMs) };
}

function printPrediction(p: MakespanPrediction): void {
  const s = (ms: number) => formatSeconds(Math.round(ms / 1000));
  const out = process.stdout;
  out.write(`predicted wall time on ${p.runners} runner(s) of ${p.cores} core(s): ${s(p.makespanMs)}\n`);
  out.write(`work: ${s(p.totalWorkMs)} in ${p.jobCount} jobs; built in more than one shard: ${p.duplicatedJobs} jobs, ${s(p.duplicatedWorkMs)}; critical path ${s(p.criticalPathMs)}\n`);
  out.write(`estimated: ${p.estimatedJobs.length} job(s) never built here, each ${s(p.estimateMs)} (${p.estimateRule})\n`);
  for (const sh of p.shards) out.write(`  shard ${sh.index}: ${sh.targets} targets, ${sh.jobs} jobs, work ${s(sh.workMs)}, wall ${s(sh.makespanMs)}\n`);
}
