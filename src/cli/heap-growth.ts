/**
 * How far V8 lets the JavaScript heap grow past what the last full collection kept, for the verbs that
 * hold a whole repository's plan (`check`, `rerun`, `plan`, `bisect`, `status`).
 *
 * V8 sets the next full collection's threshold at up to 4 times the heap that survived the last one when
 * the machine has memory to spare. Solving thousands of targets keeps a few hundred MiB alive (the
 * solver's encodings, the repository's index) while it makes garbage fast: `plan` of the whole synthetic
 * repository (4,526 targets) kept ~300 MiB alive and peaked at 920-960 MiB resident. At 1.5 times what
 * survived it peaks at ~600 MiB, for the same CPU time (the collections it adds are a few hundred ms of
 * mostly concurrent marking, every several seconds of solving).
 * The one-package verbs (`solve`, `installable`, …) keep V8's default.
 */
import { setFlagsFromString } from 'node:v8';

/** The threshold of the next full collection, in percent over the heap the last one kept. */
export const HEAP_GROWING_PERCENT = 50;

/** The verbs whose process holds a whole plan, and builds it. */
const WHOLE_PLAN_VERBS: ReadonlySet<string> = new Set(['check', 'rerun', 'plan', 'bisect', 'status']);

/** The heap growth a command line asks for: HEAP_GROWING_PERCENT for a whole-plan verb, else null (V8's default). */
export function heapGrowthFor(argv: readonly string[]): number | null {
  return WHOLE_PLAN_VERBS.has(argv[2] ?? '') ? HEAP_GROWING_PERCENT : null;
}

/** Bounds the heap's growth as `heapGrowthFor` says (V8 reads the flag at each full collection). */
export function boundHeapGrowth(argv: readonly string[]): void {
  const percent = heapGrowthFor(argv);
  if (percent !== null) setFlagsFromString(`--heap-growing-percent=${percent}`);
}
