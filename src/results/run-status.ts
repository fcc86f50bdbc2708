/**
 * What a run is for and how it ended: words every layer that speaks of runs shares (the store keeps
 * them, the merge of shards and the reports read them). A base module: it imports nothing of ours.
 */

/** What a run is for. The list is also a CHECK constraint of the schema (migration 3): a new kind needs a migration. */
export const RUN_KINDS = ['baseline', 'candidate', 'check', 'retry', 'rerun'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

export const RUN_STATUSES = ['running', 'finished', 'interrupted', 'crashed', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export function isRunKind(value: unknown): value is RunKind {
  return (RUN_KINDS as readonly unknown[]).includes(value);
}
