/** `ecocheck plan`: the build plan for a compiler and targets — jobs, edges, critical path, the DAG as JSON. */
import type { Command } from 'commander';
import { analysePlan, planToJson } from '../../plan/plan-graph.js';
import { announcePlan, preparePlan, type PreparedPlan } from '../../session/plan-preparation.js';
import type { RegisterCommand } from '../command.js';
import { addPlanOptions, planRequest, type PlanOptions } from '../options.js';
import { stderrOutput } from '../run-progress-output.js';

export const registerPlan: RegisterCommand = (program: Command) => {
  addPlanOptions(program.command('plan').description('Show the build plan: jobs, edges, critical path; --json prints the DAG'))
    .option('--json', 'print the plan as JSON')
    .action((targets: string[], opts: PlanOptions & { json?: boolean }) => {
      const prepared = preparePlan(planRequest(targets, opts));
      announcePlan(prepared, stderrOutput);
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
