/**
 * opam's environment update operators (`OpamEnv.apply_op_zip`), on a plain environment record, with
 * `:` as the path separator:
 * - `=`   set (an empty value sets the variable to empty);
 * - `+=`  prepend (`VAL` when the variable is unset or empty);
 * - `=+`  append (`VAL` when unset or empty);
 * - `:=`  prepend, leaving a trailing `:` when unset or empty (`VAL:`);
 * - `=:`  append, leaving a leading `:` when unset or empty (`:VAL`);
 * - `=+=` prepend at the place of a previous opam update; with no previous environment to revert
 *   (ecocheck starts from a clean one) it is `+=`.
 * As in opam, an update with an empty value is ignored, except `=`.
 */
import type { EnvUpdateOp } from '../opam/ast.js';

export type Environment = Record<string, string>;

export function applyEnvUpdate(env: Environment, variable: string, op: EnvUpdateOp, value: string): void {
  if (value === '' && op !== '=') return;
  const current = env[variable];
  const empty = current === undefined || current === '';
  switch (op) {
    case '=':
      env[variable] = value;
      return;
    case '+=':
    case '=+=':
      env[variable] = empty ? value : `${value}:${current}`;
      return;
    case '=+':
      env[variable] = empty ? value : `${current}:${value}`;
      return;
    case ':=':
      env[variable] = empty ? `${value}:` : `${value}:${current}`;
      return;
    case '=:':
      env[variable] = empty ? `:${value}` : `${current}:${value}`;
      return;
  }
}
