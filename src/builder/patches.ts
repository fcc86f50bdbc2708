/**
 * `patches:` applied in the build directory with `patch -p1`, in order, each only when its filter
 * holds (an undefined filter counts as false, `OpamFilter.opt_eval_to_bool`). Like opam, every patch
 * is tried and the failures are reported together. `--forward --force`: patch never asks (there is no
 * terminal) and never silently reverses an already applied patch, which `-t` would do.
 */
import type { FilteredString } from '../opam/package-model.js';
import { evalFilterToBool, type VariableLookup } from '../opam/filter.js';
import type { ToolRunner } from './archive-extraction.js';
import type { ProcessResult } from './process-runner.js';
import { resolveConfined, UnsafePathError } from './confined-path.js';

export interface PatchFailure {
  patch: string;
  message: string;
  result: ProcessResult | null;
}

/** The patches whose filter holds, in order. */
export function selectedPatches(patches: FilteredString[], lookup: VariableLookup): string[] {
  return patches.filter((p) => !p.filter || evalFilterToBool(p.filter, lookup, false)).map((p) => p.value);
}

export async function applyPatches(
  patches: string[],
  buildDir: string,
  run: ToolRunner,
  log: (line: string) => void,
  seenAt?: string,
): Promise<PatchFailure[]> {
  const failures: PatchFailure[] = [];
  for (const name of patches) {
    // Only checked here (patch reads it in the sandbox): a link leading out of the build directory is refused.
    let found;
    try {
      found = resolveConfined({ dir: buildDir, seenAt, label: 'the build directory' }, name);
    } catch (e) {
      if (!(e instanceof UnsafePathError)) throw e;
      log(`patch ${e.message}`);
      failures.push({ patch: name, message: `patch ${e.message}`, result: null });
      continue;
    }
    if (found === null) {
      log(`patch ${name}: no such file in the build directory`);
      failures.push({ patch: name, message: `patch ${name} not found`, result: null });
      continue;
    }
    log(`applying patch ${name}`);
    // Relative to the build directory (the command's cwd): the sandbox sees it at another path.
    const result = await run(['patch', '-p1', '--forward', '--force', '-i', name], buildDir);
    if (result.exitCode !== 0) {
      failures.push({ patch: name, message: `patch ${name} did not apply (exit ${result.signal ?? result.exitCode})`, result });
    }
  }
  return failures;
}
