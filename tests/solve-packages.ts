/**
 * Small in-memory repositories for the solver tests: packages written with opam syntax for their
 * formula fields, everything else defaulted.
 */
import type { OpamPackage } from '../src/opam/package-model.js';
import { parseOpamValue } from '../src/opam/parser.js';
import { filterFromValue, packageFormulaFromValue } from '../src/opam/filter.js';

export interface PackageSpec {
  depends?: string;
  depopts?: string;
  conflicts?: string;
  available?: string;
  flags?: string[];
  conflictClass?: string[];
  url?: string;
}

export function pkg(id: string, spec: PackageSpec = {}): OpamPackage {
  const dot = id.indexOf('.');
  const name = id.slice(0, dot);
  const version = id.slice(dot + 1);
  const file = `packages/${name}/${id}/opam`;
  const formula = (text: string | undefined, kind: 'conj' | 'disj') =>
    text === undefined ? ({ kind: 'empty' } as const) : packageFormulaFromValue(parseOpamValue(`[${text}]`, file), kind);
  return {
    name,
    version,
    file,
    repository: 'test',
    filesDir: null,
    contentHash: id,
    opamVersion: '2.0',
    depends: formula(spec.depends, 'conj'),
    depopts: formula(spec.depopts, 'disj'),
    conflicts: formula(spec.conflicts, 'disj'),
    conflictClass: spec.conflictClass ?? [],
    available: spec.available === undefined ? { kind: 'bool', value: true } : filterFromValue(parseOpamValue(spec.available, file)),
    flags: spec.flags ?? [],
    build: [],
    install: [],
    remove: [],
    runTest: [],
    patches: [],
    substs: [],
    extraFiles: [],
    extraSources: [],
    url: spec.url === undefined ? null : { src: spec.url, checksums: [], mirrors: [] },
    depexts: [],
    setenv: [],
    buildEnv: [],
    synopsis: null,
    extensions: {},
    ast: { file, items: [] },
    fieldSpans: {},
  };
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
