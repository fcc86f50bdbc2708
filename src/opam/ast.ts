/**
 * The syntax tree of an opam file, as opam-file-format's `OpamParserTypes.FullPos` defines it.
 * Every node carries the position where it starts (1-based line and column) and where it ends.
 */

export interface Position {
  file: string;
  line: number;
  column: number;
}

export interface Span {
  start: Position;
  end: Position;
}

export type RelOp = '=' | '!=' | '<' | '<=' | '>' | '>=' | '~';
export type LogOp = '&' | '|';
export type PfxOp = '!' | '?';
export type EnvUpdateOp = '=' | '+=' | '=+' | ':=' | '=:' | '=+=';

export type Value =
  | { kind: 'bool'; value: boolean; span: Span }
  | { kind: 'int'; value: number; span: Span }
  | { kind: 'string'; value: string; span: Span }
  /** An identifier: `foo`, `pkg:var`, `pkg1+pkg2:var`, `_:var`. */
  | { kind: 'ident'; name: string; span: Span }
  | { kind: 'relop'; op: RelOp; left: Value; right: Value; span: Span }
  /** A prefix relational operator: `>= "1.0"` as used in version constraints. */
  | { kind: 'prefix-relop'; op: RelOp; arg: Value; span: Span }
  | { kind: 'logop'; op: LogOp; left: Value; right: Value; span: Span }
  | { kind: 'pfxop'; op: PfxOp; arg: Value; span: Span }
  | { kind: 'list'; items: Value[]; span: Span }
  | { kind: 'group'; items: Value[]; span: Span }
  /** `value { options }` */
  | { kind: 'option'; value: Value; options: Value[]; span: Span }
  | { kind: 'env-binding'; name: Value; op: EnvUpdateOp; value: Value; span: Span };

export type Item =
  | { kind: 'variable'; name: string; value: Value; span: Span }
  | { kind: 'section'; sectionKind: string; sectionName: string | null; items: Item[]; span: Span };

export interface OpamFileAst {
  file: string;
  items: Item[];
}
