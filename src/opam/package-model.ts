/**
 * The typed model of one opam package definition (opam 2.x `opam` file semantics).
 * Built from the syntax tree by `package-from-ast.ts`; everything above the format layer reads this.
 */
import type { OpamFileAst, RelOp, Span, Value, EnvUpdateOp } from './ast.js';

/** Where a pinned package's source comes from (`opam pin NAME DIR|URL`). */
export type PinSource = { kind: 'dir'; path: string } | { kind: 'url'; url: string };

/** opam's generic formula (`OpamFormula.formula`). `block` is a parenthesised group kept for printing. */
export type Formula<A> =
  | { kind: 'empty' }
  | { kind: 'atom'; atom: A }
  | { kind: 'block'; inner: Formula<A> }
  | { kind: 'and'; left: Formula<A>; right: Formula<A> }
  | { kind: 'or'; left: Formula<A>; right: Formula<A> };

/**
 * opam's filter language (`OpamTypes.filter`). Identifiers name a variable, optionally qualified by
 * packages (`pkg:var`, `a+b:var`, `_:var` where `_` is the package itself); `converter` is the
 * `?then:else` part of an interpolation `%{var?then:else}%`.
 */
export type Filter =
  | { kind: 'bool'; value: boolean }
  | { kind: 'string'; value: string }
  | { kind: 'ident'; packages: string[] | null; variable: string; converter?: [string, string] }
  | { kind: 'op'; op: RelOp; left: Filter; right: Filter }
  | { kind: 'and'; left: Filter; right: Filter }
  | { kind: 'or'; left: Filter; right: Filter }
  | { kind: 'not'; arg: Filter }
  | { kind: 'defined'; arg: Filter }
  | { kind: 'undef' };

/** An element of a dependency's constraint: a filter (`with-test`) or a version constraint (`>= "1.0"`). */
export type FilterOrConstraint = { kind: 'filter'; filter: Filter } | { kind: 'constraint'; op: RelOp; version: Filter };

/** `"name" { constraints }` in depends / depopts / conflicts. */
export interface PackageAtom {
  name: string;
  constraint: Formula<FilterOrConstraint>;
}

/** A command argument: a string (may hold `%{…}%`) or a bare variable, with an optional filter. */
export interface CommandArg {
  kind: 'string' | 'ident';
  value: string;
  filter?: Filter;
}

export interface Command {
  args: CommandArg[];
  filter?: Filter;
}

export interface FilteredString {
  value: string;
  filter?: Filter;
}

export interface Checksum {
  algorithm: 'md5' | 'sha256' | 'sha512';
  hex: string;
}

export interface Url {
  src: string;
  checksums: Checksum[];
  mirrors: string[];
}

export interface ExtraSource {
  /** The file name the source is saved under, in the build directory. */
  name: string;
  url: Url;
}

export interface ExtraFile {
  /** Path relative to the package's `files/` folder. */
  name: string;
  checksum: Checksum;
}

export interface EnvUpdate {
  variable: string;
  op: EnvUpdateOp;
  value: string;
}

export interface Depext {
  packages: string[];
  filter?: Filter;
}

export interface OpamPackage {
  name: string;
  version: string;
  /** Path of the opam file that defined this package. */
  file: string;
  /** Root of the repository this package came from. */
  repository: string;
  /** The package's `files/` folder, when it exists. */
  filesDir: string | null;
  /** sha256 (hex) of the opam file's bytes: part of every build key. */
  contentHash: string;
  opamVersion: string | null;
  depends: Formula<PackageAtom>;
  depopts: Formula<PackageAtom>;
  conflicts: Formula<PackageAtom>;
  conflictClass: string[];
  /** `available:`; a missing field is `{kind:'bool', value:true}`. */
  available: Filter;
  flags: string[];
  build: Command[];
  install: Command[];
  remove: Command[];
  runTest: Command[];
  patches: FilteredString[];
  substs: string[];
  extraFiles: ExtraFile[];
  extraSources: ExtraSource[];
  url: Url | null;
  depexts: Depext[];
  setenv: EnvUpdate[];
  buildEnv: EnvUpdate[];
  synopsis: string | null;
  /** `x-…` extension fields, raw. */
  extensions: Record<string, Value>;
  /** The whole syntax tree, for fields the model does not type. */
  ast: OpamFileAst;
  /** Where each typed field was defined, for error messages. */
  fieldSpans: Record<string, Span>;
  /**
   * Set on a pinned package (`pinned-repository.ts`): where its source comes from. Its `url` is then
   * that source, without checksums, and it is the only version of its name.
   */
  pin?: PinSource;
}

/** `NAME.VERSION`, the way opam names a package version. */
export function packageId(p: { name: string; version: string }): string {
  return `${p.name}.${p.version}`;
}

/** `flags: avoid-version`: opam 2.1 prefers any other version (it knows no `deprecated` flag). */
export function isAvoidVersion(p: Pick<OpamPackage, 'flags'>): boolean {
  return p.flags.includes('avoid-version');
}
