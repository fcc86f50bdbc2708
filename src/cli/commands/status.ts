/**
 * `ecocheck status`: what the state folders hold on disk — the store's layers and which the newest
 * baselines and the newest run need, leftovers, the download cache, the logs, the database — the free
 * space of the store's file system, and an estimate of what a whole run will add to the store: of the
 * plan given (targets, `--repo`, `--compiler`, `--config` as `plan` takes them), else of the newest
 * run's plan. A verb of its own rather than `runs --disk`: it is about the store, which runs share.
 */
import type { Command } from 'commander';
import {
  addPlanOptions,
  addStateOptions,
  planRequest,
  statePaths,
  workspaceRequest,
  type PlanOptions,
  type StateOptions,
} from '../options.js';
import type { RegisterCommand } from '../command.js';

export const registerStatus: RegisterCommand = (program: Command) => {
  addStateOptions(
    addPlanOptions(
      program
        .command('status')
        .description(
          "what the store, download cache, logs and database hold on disk, the free space, and an estimate of a whole run's layers (of the plan given, else of the newest run's)",
        ),
    ),
    true,
  )
    .option('--json', 'print one JSON object')
    .action(async (targets: string[], opts: PlanOptions & StateOptions & { json?: boolean }) => {
      const paths = await statePaths(opts);
      const givenPlan = targets.length > 0 || opts.repo.length > 0 || opts.compiler !== undefined || opts.config !== undefined;
      let plan: Map<string, string> | null = null;
      if (givenPlan) {
        const [{ openCommandContext }, { announcePlan, preparePlan }, { stderrOutput }] = await Promise.all([
          import('../../session/command-context.js'),
          import('../../session/plan-preparation.js'),
          import('../run-progress-output.js'),
        ]);
        const ctx = await openCommandContext({ paths, ...workspaceRequest(opts) });
        const prepared = preparePlan(ctx, planRequest(targets, opts));
        announcePlan(prepared, stderrOutput);
        plan = new Map([...prepared.plan.jobs.values()].map((j) => [j.key, j.id]));
      }
      const [{ storeStatus }, { formatUsageBytes: size }] = await Promise.all([
        import('../../session/store-status.js'),
        import('../../units/byte-size.js'),
      ]);
      const s = storeStatus(paths, plan);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify(s, null, 2)}\n`);
        return;
      }
      const runs = (ids: number[]) => (ids.length === 0 ? 'none' : ids.map((id) => `#${id}`).join(', '));
      const out = [
        `store ${s.storeDir}: ${s.layers.count} layer(s), ${size(s.layers.bytes)}`,
        `  needed by the newest baseline(s) (${runs(s.neededByNewestBaseline.runs)}): ${s.neededByNewestBaseline.count}, ${size(s.neededByNewestBaseline.bytes)}`,
        `  needed by the newest run (${runs(s.neededByNewestRun.runs)}): ${s.neededByNewestRun.count}, ${size(s.neededByNewestRun.bytes)}`,
        `  needed by neither (ecocheck gc removes them): ${s.neededByNothing.count}, ${size(s.neededByNothing.bytes)}`,
        `  empty switch layers: ${s.base.count}, ${size(s.base.bytes)}; leftovers of interrupted builds: ${s.leftovers.count}, ${size(s.leftovers.bytes)}; builds in flight: ${size(s.work.bytes)}`,
        `download cache ${s.downloads.dir}: ${size(s.downloads.bytes)}`,
        `logs ${s.logs.dir}: ${size(s.logs.bytes)}`,
        `database ${s.database.file}: ${size(s.database.bytes)}`,
        `free space on the store's file system: ${s.freeBytes === null ? 'unknown' : size(s.freeBytes)}`,
      ];
      const e = s.estimate;
      if (e === null) out.push('estimate: no plan given and no run recorded');
      else
        out.push(
          `a whole run of ${e.plan}: ${e.jobs} job(s); ${e.stored} layer(s) already stored (${size(e.storedBytes)}), ${e.failedCached} failure(s) cached; ` +
            `${e.byPackage + e.byMedian} to build, about ${size(e.newBytes)} more ` +
            `(${e.byPackage} sized by stored layers of the same package, ${e.byMedian} by the median stored layer, ${size(e.medianBytes)})`,
        );
      process.stdout.write(`${out.join('\n')}\n`);
    });
};
