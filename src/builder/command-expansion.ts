/**
 * Turning `build:` / `install:` commands into argument vectors (`OpamFilter.commands`): a command or
 * argument whose filter is false or undefined is dropped; a string argument is interpolated
 * (undefined variables expand to nothing); a bare identifier argument expands to its value (a list
 * gives one argument per item, a boolean `true`/`false`, an undefined one an empty argument); a
 * command left with no argument is dropped.
 */
import type { Command } from '../opam/package-model.js';
import { evalFilterToBool, type VariableLookup } from '../opam/filter.js';
import { interpolate, parseFilterIdent, resolveIdentRaw } from '../opam/interpolation.js';

export function expandCommand(command: Command, lookup: VariableLookup): string[] | null {
  if (command.filter && !evalFilterToBool(command.filter, lookup, false)) return null;
  const argv: string[] = [];
  for (const arg of command.args) {
    if (arg.filter && !evalFilterToBool(arg.filter, lookup, false)) continue;
    if (arg.kind === 'string') {
      argv.push(interpolate(arg.value, lookup));
      continue;
    }
    const v = resolveIdentRaw(lookup, parseFilterIdent(arg.value));
    if (v === undefined) argv.push('');
    else if (typeof v === 'boolean') argv.push(String(v));
    else if (Array.isArray(v)) argv.push(...v);
    else argv.push(v);
  }
  return argv.length > 0 ? argv : null;
}

export function expandCommands(commands: Command[], lookup: VariableLookup): string[][] {
  const out: string[][] = [];
  for (const c of commands) {
    const argv = expandCommand(c, lookup);
    if (argv) out.push(argv);
  }
  return out;
}
