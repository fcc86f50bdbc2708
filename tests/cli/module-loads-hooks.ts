/**
 * Module hooks (they run on node's hooks thread) that append the URL of every module loaded through
 * `import` to the file named by ECOCHECK_RECORD_LOADS, one a line. Registered by module-loads-register.ts.
 */
import { appendFileSync } from 'node:fs';

type LoadResult = { format?: string | null; source?: unknown; shortCircuit?: boolean };
type NextLoad = (url: string, context: unknown) => Promise<LoadResult>;

export async function load(url: string, context: unknown, nextLoad: NextLoad): Promise<LoadResult> {
  const file = process.env.ECOCHECK_RECORD_LOADS;
  if (file !== undefined && file !== '') appendFileSync(file, `${url}\n`);
  return nextLoad(url, context);
}
