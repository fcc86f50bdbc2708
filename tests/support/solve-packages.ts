/**
 * Small in-memory repositories for the solver tests: packages written with opam syntax for their
 * formula fields, everything else defaulted.
 */
import type { OpamPackage } from '../../src/opam/package-model.js';
import { parseOpamFile } from '../../src/opam/parser.js';
import { packageFromAst } from '../../src/opam/package-from-ast.js';

export interface PackageSpec {
  depends?: string;
  depopts?: string;
  conflicts?: string;
  available?: string;
  flags?: string[];
  conflictClass?: string[];
  url?: string;
}

/** `NAME.VERSION` with the given fields, read through the real parser and package model. */
export function pkg(id: string, spec: PackageSpec = {}): OpamPackage {
  const dot = id.indexOf('.');
  const name = id.slice(0, dot);
  const version = id.slice(dot + 1);
  const file = `packages/${name}/${id}/opam`;
  const lines = ['opam-version: "2.0"'];
  if (spec.depends !== undefined) lines.push(`depends: [${spec.depends}]`);
  if (spec.depopts !== undefined) lines.push(`depopts: [${spec.depopts}]`);
  if (spec.conflicts !== undefined) lines.push(`conflicts: [${spec.conflicts}]`);
  if (spec.available !== undefined) lines.push(`available: ${spec.available}`);
  if (spec.flags !== undefined) lines.push(`flags: [${spec.flags.join(' ')}]`);
  if (spec.conflictClass !== undefined) lines.push(`conflict-class: [${spec.conflictClass.map((c) => JSON.stringify(c)).join(' ')}]`);
  if (spec.url !== undefined) lines.push(`url { src: ${JSON.stringify(spec.url)} }`);
  const ast = parseOpamFile(`${lines.join('\n')}\n`, file);
  return packageFromAst(ast, { name, version, file, repository: 'test', filesDir: null, contentHash: id });
}

/** A load-like object: packages by name, ascending version (as the repository loader returns). */
export function repo(...packages: OpamPackage[]): { packages: Map<string, OpamPackage[]> } {
  const m = new Map<string, OpamPackage[]>();
  for (const p of packages) {
    let l = m.get(p.name);
    if (l === undefined) m.set(p.name, (l = []));
    l.push(p);
  }
  return { packages: m };
}

/** A tiny compiler family: ocaml-base-compiler versions with the `ocaml` virtual package. */
export function compilers(...versions: string[]): OpamPackage[] {
  const out: OpamPackage[] = [];
  for (const v of versions) {
    out.push(pkg(`ocaml-base-compiler.${v}`, { flags: ['compiler'], conflictClass: ['ocaml-core-compiler'] }));
    out.push(pkg(`ocaml.${v}`, { depends: `"ocaml-base-compiler" {= "${v}"} | "ocaml-system" {= "${v}"}` }));
  }
  return out;
}

/** How `randomPackages` draws a repository: names, versions per name, odds of each kind of edge. */
export interface RandomRepositoryShape {
  names: string[];
  maxVersions: number;
  /** Below `depend`: a dependency; below `alternative`: a dependency or another name; below `conflict`: a conflict. */
  depend: number;
  alternative: number;
  conflict: number;
  /** Odds that a version is flagged avoid-version (no draw at all when absent). */
  avoidVersion?: number;
}

/** Random packages (constraints on up to `maxVersions` versions of the other names), for brute-force checks. */
export function randomPackages(rand: () => number, shape: RandomRepositoryShape): OpamPackage[] {
  const { names } = shape;
  const all: OpamPackage[] = [];
  for (const n of names) {
    const nv = 1 + Math.floor(rand() * shape.maxVersions);
    for (let v = 1; v <= nv; v++) {
      const deps: string[] = [];
      const conf: string[] = [];
      for (const m of names) {
        if (m === n) continue;
        const r = rand();
        const op = rand() < 0.5 ? '>=' : '<';
        const ver = 1 + Math.floor(rand() * shape.maxVersions);
        if (r < shape.depend) deps.push(`"${m}" {${op} "${ver}"}`);
        else if (r < shape.alternative) deps.push(`("${m}" {${op} "${ver}"} | "${names[Math.floor(rand() * names.length)]}")`);
        else if (r < shape.conflict) conf.push(`"${m}" {${op} "${ver}"}`);
      }
      const flags = shape.avoidVersion === undefined ? undefined : rand() < shape.avoidVersion ? ['avoid-version'] : [];
      all.push(pkg(`${n}.${v}`, { depends: deps.join(' '), conflicts: conf.join(' '), ...(flags === undefined ? {} : { flags }) }));
    }
  }
  return all;
}
