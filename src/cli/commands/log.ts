/**
 * `ecocheck log NAME[.VERSION] [--run ID]`: the build log of a package's job in a run (the newest by
 * default). The store is loaded when the action runs. A log file is copied to the output a chunk at a
 * time: a log of any size (an older version kept them whole) is printed in bounded memory.
 */
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import type { Command } from 'commander';
import type { RunJobRecord } from '../../session/package-logs.js';
import { addStateOptions, statePaths } from '../options.js';
import { UsageError } from '../usage-error.js';
import { parseRunId } from '../argument-parsers.js';
import type { RegisterCommand } from '../command.js';

/** Chunks of a log file copied at once. */
const COPY_CHUNK_BYTES = 1024 * 1024;

/** Copies the file to `out` chunk by chunk, waiting for the output to drain. */
async function copyFileTo(path: string, out: NodeJS.WriteStream): Promise<void> {
  const fh = await open(path, 'r');
  try {
    for (;;) {
      const buf = Buffer.alloc(COPY_CHUNK_BYTES);
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      if (!out.write(buf.subarray(0, bytesRead))) await once(out, 'drain');
    }
  } finally {
    await fh.close();
  }
}

async function printRecord(r: RunJobRecord): Promise<void> {
  const out = process.stdout;
  const detail = r.status === 'ok' ? 'ok' : `${r.status}: ${r.reason}`;
  out.write(
    `== ${r.id} (run #${r.runId}, job ${r.jobKey.slice(0, 12)}${r.cached ? ', cached result of an earlier run' : ''}): ${detail}\n`,
  );
  if (r.status === 'dependency-failed') {
    out.write(`not built: its dependency ${r.rootCause} failed; see: ecocheck log ${r.rootCause} --run ${r.runId}\n`);
    return;
  }
  if (r.logPath !== null && existsSync(r.logPath)) {
    await copyFileTo(r.logPath, out);
    return;
  }
  if (r.logPath !== null) out.write(`(the log file ${r.logPath} is gone; its last lines, kept in the database:)\n`);
  out.write(r.logTail.endsWith('\n') || r.logTail === '' ? r.logTail : `${r.logTail}\n`);
}

export const registerLog: RegisterCommand = (program: Command) => {
  addStateOptions(
    program
      .command('log')
      .description("Print the build log of a package's job in a run (the newest run that has one by default)")
      .argument('<package>', 'NAME or NAME.VERSION')
      .option('--run <id>', 'the run to look in'),
  ).action(async (spec: string, opts: { run?: string; stateDir?: string }) => {
    const runId = opts.run === undefined ? null : parseRunId(opts.run, '--run');
    const { parsePackageSpec } = await import('../../opam/package-spec.js');
    const parsed = parsePackageSpec(spec);
    if (parsed === null) throw new UsageError(`${spec}: not a package: expected NAME or NAME.VERSION`);
    const paths = await statePaths({ stateDir: opts.stateDir });
    if (!existsSync(paths.database)) throw new UsageError(`no runs recorded yet (no database at ${paths.database})`);
    const [{ withCommandContext }, { packageLogs }] = await Promise.all([
      import('../../session/command-context.js'),
      import('../../session/package-logs.js'),
    ]);
    await withCommandContext({ paths, database: 'read' }, async (ctx) => {
      const found = packageLogs(ctx.db, spec, parsed.name, parsed.version, runId);
      if (found.kind === 'jobs') for (const r of found.records) await printRecord(r);
      else for (const t of found.targets) process.stdout.write(`== ${t.id} (run #${found.runId}): not-installable: ${t.reason}\n`);
    });
  });
};
