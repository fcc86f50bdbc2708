/**
 * When a cached result may stand in for a build: a failure always (it is final: only cacheable
 * statuses are stored); an ok result only while its layer is still complete in the store, since the
 * jobs above it mount that layer. A result that fails this is forgotten and the job built again.
 */
import { existsSync } from 'node:fs';
import { isLayerComplete } from '../builder/layer-store.js';
import type { CachedResult } from '../run/job-record.js';

export function isReusableResult(hit: CachedResult, jobKey: string, storeDir: string): boolean {
  if (hit.status !== 'ok') return true;
  return hit.prefix !== null && existsSync(hit.prefix) && isLayerComplete(storeDir, jobKey);
}
