/**
 * When a cached result may stand in for a build: a failure always (it is final: only cacheable
 * statuses are stored); an ok result only while the layer store holds its key's layer complete, since
 * the jobs above it mount that layer. A result names its layer by key only, so the answer is the same
 * wherever the result was recorded (another machine, a moved state folder). A result that fails this is
 * forgotten and the job built again.
 */
import type { LayerStore } from '../builder/layer-store.js';
import type { CachedResult } from '../results/job-record.js';

export function isReusableResult(hit: CachedResult, jobKey: string, layers: Pick<LayerStore, 'complete'>): boolean {
  return hit.status !== 'ok' || layers.complete(jobKey);
}
