/**
 * The CI workflow read as data: its jobs, and the `ecocheck` command lines each job runs, in order, with
 * the `${{ … }}` expressions left in. The workflow test checks them; a local test can run the same
 * commands in the same order, substituting the expressions (shard index, count, paths).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { projectRoot } from './snapshot.js';

export const WORKFLOW_FILE = join(projectRoot, '.github', 'workflows', 'ecocheck-compiler-pr.yml');

export interface WorkflowStep {
  name?: string;
  id?: string;
  if?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  'working-directory'?: string;
}

export interface WorkflowJob {
  name?: string;
  needs?: string | string[];
  if?: string;
  'runs-on': string;
  outputs?: Record<string, string>;
  strategy?: { 'fail-fast'?: boolean; matrix?: Record<string, unknown> };
  steps: WorkflowStep[];
}

export interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  jobs: Record<string, WorkflowJob>;
}

export function readWorkflow(file = WORKFLOW_FILE): Workflow {
  return parse(readFileSync(file, 'utf8'), { prettyErrors: true, uniqueKeys: true }) as Workflow;
}

/** The `ecocheck …` commands of a job's `run:` scripts, in order, each as its words (quotes removed). */
export function ecocheckCommands(job: WorkflowJob): string[][] {
  const out: string[][] = [];
  for (const step of job.steps) {
    if (step.run === undefined) continue;
    for (const line of step.run.split('\n')) {
      // Also inside $(…) and before `||` or `|`.
      for (const m of line.matchAll(/(?:^|\$\(|\s)(ecocheck\s[^|)]*)/g)) out.push(words(m[1].replace(/\s*\|\|.*$/, '')));
    }
  }
  return out;
}

function words(command: string): string[] {
  // A word may hold `${{ … }}` expressions, spaces inside them included.
  return [...command.trim().matchAll(/"([^"]*)"|'([^']*)'|((?:\$\{\{.*?\}\}|[^\s"'])+)/g)].map((m) => m[1] ?? m[2] ?? m[3]);
}

/** `compare --format json`, the part a merged comparison must share with one machine's. */
export interface JsonComparison {
  counts: Record<string, number>;
  total: number;
  packages: { key: string; category: string; rootCause: string | null }[];
}

/** What must be the same on one machine and from the workflow's shards. */
export function comparisonVerdict(c: JsonComparison) {
  return { counts: c.counts, total: c.total, packages: c.packages.map((p) => [p.key, p.category, p.rootCause]).sort() };
}
