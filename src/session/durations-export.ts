/**
 * `ecocheck durations`: the build durations recorded in this state (of the given runs, else of every
 * run), as the durations file every shard of a later check splits its plan with (plan/durations-file.ts).
 */
import { NO_DURATIONS, type Durations } from '../plan/durations-file.js';
import { recordedDurationTable } from '../store/duration-table.js';
import type { CommandContext } from './command-context.js';
import { requireRun } from './run-lookup.js';

/** `ctx` has the state's database open (`database: 'read'`) when there is one; without one, no durations. */
export function recordedDurationsFile(ctx: CommandContext, runIds: readonly number[] | null): Durations {
  if (!ctx.hasDatabase) return NO_DURATIONS;
  for (const id of runIds ?? []) requireRun(ctx.db, id, 'run');
  return recordedDurationTable(ctx.db, runIds);
}
