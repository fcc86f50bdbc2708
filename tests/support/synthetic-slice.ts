/**
 * What the e2e tests over a synthetic slice of the snapshot (`ecocheck synthesize`, built with the real
 * sandbox on ocaml-system.4.13.1) need.
 */
import { spawnSync } from 'node:child_process';
import { sandboxAvailable } from '../../src/builder/process-runner.js';
import { skipWithout, skipWithoutSnapshot } from './missing-setup.js';

/** Debian's OCaml (ocaml-nox), which fixtures/compilers' ocaml-system.4.13.1 stands for. */
function hostOcaml(): string | null {
  const r = spawnSync('ocamlc', ['-vnum'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** The skip reason of a synthetic-slice test: the snapshot, the sandbox and the host's OCaml 4.13.1. */
export function skipWithoutSyntheticSlice(): string | false {
  const sandbox = sandboxAvailable();
  return (
    skipWithoutSnapshot() ||
    skipWithout('bubblewrap', sandbox.ok ? false : `no sandbox on this machine: ${JSON.stringify(sandbox)}`) ||
    skipWithout(
      'system-ocaml',
      hostOcaml() === '4.13.1' ? false : `ocaml-system.4.13.1 needs the host's OCaml 4.13.1 (ocamlc -vnum: ${hostOcaml() ?? 'none'})`,
    )
  );
}
