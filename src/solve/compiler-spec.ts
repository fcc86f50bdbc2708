/**
 * `--compiler SPEC`: the switch invariant, read the way `opam switch create SPEC` reads it
 * (`OpamSwitchCommand.guess_compiler_invariant`):
 * - a package atom naming an existing package: `ocaml-variants.5.5.0+trunk`, `ocaml-system`,
 *   `ocaml-base-compiler>=5.3`;
 * - otherwise a bare version (`5.3.0`): any package flagged `compiler` with exactly that version and
 *   not flagged `avoid-version` (opam ≥ 2.2 drops avoided versions here; today this is
 *   `ocaml-base-compiler {= "5.3.0"}`);
 * - or a whole opam formula: `"ocaml-base-compiler" {>= "5.3"} | "ocaml-variants" {= "5.3.0+options"}`.
 * The invariant holds in every solution, so whatever conflicts with it is uninstallable.
 */
import type { OpamPackage, Formula } from '../opam/package-model.js';
import { filterDependencyFormula, isValidPackageName, packageFormulaFromValue, type DependencyAtom } from '../opam/filter.js';
import { atoms, formulaToString, ors } from '../opam/formula.js';
import { parseOpamValue } from '../opam/parser.js';
import { OpamFormatError } from '../opam/parse-error.js';
import type { RelOp } from '../opam/ast.js';
import { namesWithVersion, packageAtVersion } from '../opam/repository.js';
import { SolveError } from './solve-error.js';
import { versionSatisfies } from './universe.js';

export interface CompilerInvariant {
  /** The spec as given. */
  spec: string;
  formula: Formula<DependencyAtom>;
  /** Packages that can satisfy some atom of the formula. */
  candidates: OpamPackage[];
  /** opam syntax of the formula, for messages. */
  text: string;
}

type PackagesByName = ReadonlyMap<string, readonly OpamPackage[]>;

export function invariantToString(f: Formula<DependencyAtom>): string {
  return formulaToString(
    f,
    (a) => (a.constraint.kind === 'empty' ? a.name : `${a.name} {${formulaToString(a.constraint, (c) => `${c.op} "${c.version}"`, '')}}`),
    '',
  );
}

function atomFormula(name: string, op: RelOp | null, version: string | null): Formula<DependencyAtom> {
  return {
    kind: 'atom',
    atom: { name, constraint: op === null || version === null ? { kind: 'empty' } : { kind: 'atom', atom: { op, version } } },
  };
}

function candidatesOf(packages: PackagesByName, f: Formula<DependencyAtom>): OpamPackage[] {
  const out: OpamPackage[] = [];
  for (const a of atoms(f)) {
    for (const p of packages.get(a.name) ?? []) if (versionSatisfies(p.version, a.constraint)) out.push(p);
  }
  return out;
}

/** `OpamFormula.atom_of_string`: `name`, `name.version`, `name<op>version`. */
function parseAtom(spec: string): { name: string; op: RelOp | null; version: string | null } | null {
  const m = /^([^.<>=!]+)(?:(\.)(.+)|(>=|<=|!=|=|<|>)(.+))?$/.exec(spec);
  if (m === null || !isValidPackageName(m[1])) return null;
  if (m[2] !== undefined) return { name: m[1], op: '=', version: m[3] };
  if (m[4] !== undefined) return { name: m[1], op: m[4] as RelOp, version: m[5] };
  return { name: m[1], op: null, version: null };
}

export function resolveCompilerSpec(load: { packages: PackagesByName }, spec: string): CompilerInvariant {
  const packages = load.packages;
  const trimmed = spec.trim();
  if (trimmed === '') throw new SolveError('empty compiler specification', 'input', { setting: 'compiler' });
  const done = (formula: Formula<DependencyAtom>): CompilerInvariant => {
    const candidates = candidatesOf(packages, formula);
    if (candidates.length === 0) {
      throw new SolveError(`no package of the repository matches ${invariantToString(formula)}`, 'input', {
        setting: 'compiler',
        value: spec,
      });
    }
    return { spec, formula, candidates, text: invariantToString(formula) };
  };
  if (/["{(&|\s]/.test(trimmed)) {
    let value;
    try {
      value = parseOpamValue(trimmed, 'compiler spec');
    } catch (err) {
      if (err instanceof OpamFormatError) throw new SolveError(err.message, 'input', { setting: 'compiler' });
      throw err;
    }
    let formula: Formula<DependencyAtom>;
    try {
      formula = filterDependencyFormula(packageFormulaFromValue(value, 'conj'), () => undefined, false);
    } catch (err) {
      if (err instanceof OpamFormatError) throw new SolveError(err.detail, 'input', { setting: 'compiler', value: spec });
      throw err;
    }
    for (const a of atoms(formula)) {
      if (!packages.has(a.name)) throw new SolveError(`unknown package ${a.name}`, 'input', { setting: 'compiler', value: spec });
    }
    return done(formula);
  }
  const atom = parseAtom(trimmed);
  if (atom !== null && packages.has(atom.name)) {
    const f = atomFormula(atom.name, atom.op, atom.version);
    if (candidatesOf(packages, f).length > 0) return done(f);
  }
  if (!/^[A-Za-z0-9+.~_-]+$/.test(trimmed)) {
    throw new SolveError('not a package, a version or an opam formula', 'input', { setting: 'compiler', value: spec });
  }
  const compilers: OpamPackage[] = [];
  // (One version per name can be spelled `trimmed`: the loader keeps one of equal versions.)
  for (const name of namesWithVersion(packages, trimmed)) {
    const p = packageAtVersion(packages, name, trimmed);
    if (p !== undefined && p.flags.includes('compiler') && !p.flags.includes('avoid-version')) compilers.push(p);
  }
  if (compilers.length === 0) {
    throw new SolveError(`no compiler package with version ${trimmed} (nor a package of that name)`, 'input', {
      setting: 'compiler',
      value: spec,
    });
  }
  compilers.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return done(ors(compilers.map((p) => atomFormula(p.name, '=', p.version))));
}
