/**
 * `ecocheck gc`: removes the layers of the store that no kept run needs (session/store-gc.ts says which
 * are kept), or with `--dry-run` lists them; prints what went (or would go): count and size, and with
 * `--verbose` or `--json` every layer's key and package. Exit 1 when `--max-size` cannot be met. The
 * session layer is loaded when the action runs.
 */
import type { Command } from 'commander';
import { addGcOptions, statePaths, type GcOptions } from '../options.js';
import { parseBytes, parseCount, parseRunId } from '../argument-parsers.js';
import type { RegisterCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';

export const registerGc: RegisterCommand = (program: Command, setExitCode) => {
  addGcOptions(
    program
      .command('gc')
      .description(
        "remove the store's layers that no kept run needs: kept are the newest baseline (of each repositories, targets and pins), the newest run, and --keep-run's",
      ),
  ).action(async (opts: GcOptions) => {
    const keepRuns = opts.keepRun.map((v) => parseRunId(v, '--keep-run'));
    const keepNewest = parseCount(opts.keepNewest, '--keep-newest');
    const maxBytes = opts.maxSize === undefined ? null : parseBytes(opts.maxSize, '--max-size');
    const paths = await statePaths(opts);
    const [{ collectStoreGarbage }, { formatUsageBytes }] = await Promise.all([
      import('../../session/store-gc.js'),
      import('../../units/byte-size.js'),
    ]);
    const outcome = collectStoreGarbage({ paths, policy: { keepRuns, keepNewest, maxBytes }, dryRun: opts.dryRun === true });
    // A bound that cannot be met is something found (exit 1), as a regression is: what is kept is kept.
    if (!outcome.maxSizeMet) setExitCode(EXIT.found);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(outcome, null, 2)}\n`);
      return;
    }
    const out: string[] = [];
    if (!outcome.recorded) out.push(`no runs recorded (no database at ${paths.database}): nothing removed`);
    else {
      for (const r of outcome.keptRuns)
        out.push(
          `keeping run #${r.id} (${r.why.join(', ')}): ${r.layers} layer(s)${r.missing > 0 ? `, ${r.missing} already missing (built again when needed)` : ''}`,
        );
      if (opts.verbose)
        for (const r of outcome.removed)
          out.push(`${opts.dryRun ? 'would remove' : 'removed'} ${r.name} ${r.packageId ?? '-'} ${formatUsageBytes(r.bytes)} (${r.why})`);
      const verb = opts.dryRun ? 'would remove' : 'removed';
      out.push(
        `${verb} ${outcome.removed.length} layer(s) and leftover(s), ${formatUsageBytes(outcome.removedBytes)}; kept ${outcome.keptLayers} layer(s), ${formatUsageBytes(outcome.keptBytes)} (store ${outcome.storeDir})`,
      );
    }
    if (!outcome.maxSizeMet && outcome.maxBytes !== null)
      out.push(
        `--max-size ${opts.maxSize}: not met: the layers the kept baselines and --keep-run runs need take ${formatUsageBytes(outcome.keptBytes)}`,
      );
    process.stdout.write(`${out.join('\n')}\n`);
  });
};
