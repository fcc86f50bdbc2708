/**
 * Builds the typed package model from an opam file's syntax tree, field by field as opam 2.1's
 * `OpamFile.OPAM` reads them (same accepted shapes, same list-depth leniency: `build: ["make"]` is a
 * one-command list). A field of the wrong shape, or a `name:`/`version:` contradicting the folder, is
 * an OpamFormatError at that field's position. Unknown fields stay in the syntax tree and are ignored.
 */
import type { Item, OpamFileAst, Span, Value } from './ast.js';
import type {
  Checksum,
  Command,
  CommandArg,
  Depext,
  EnvUpdate,
  ExtraFile,
  ExtraSource,
  Filter,
  FilteredString,
  Formula,
  OpamPackage,
  Url,
} from './package-model.js';
import { OpamFormatError } from './parse-error.js';
import { compareVersions, versionsEqual } from './version.js';
import { filterFromValues, isValidPackageName, packageFormulaFromValue } from './filter.js';
import { atoms, ors, orsToList } from './formula.js';

/** What the syntax tree does not say: where the file came from and who it is (from its folder). */
export type PackageMeta = Pick<OpamPackage, 'name' | 'version' | 'file' | 'repository' | 'filesDir' | 'contentHash'>;

/**
 * Package flags opam 2.1 knows (`pkg_flag_of_string`). Others are kept, as opam keeps them
 * (`Pkgflag_Unknown`), with a lint warning: `deprecated` (opam 2.2's) among them, which the solver
 * treats like avoid-version.
 */
export const KNOWN_FLAGS = ['light-uninstall', 'verbose', 'plugin', 'compiler', 'conf', 'avoid-version'] as const;

function err(span: Span, message: string): OpamFormatError {
  return new OpamFormatError(span.start, message);
}

function kindName(v: Value): string {
  switch (v.kind) {
    case 'env-binding':
      return 'environment update';
    case 'prefix-relop':
      return 'version constraint';
    case 'pfxop':
    case 'logop':
    case 'relop':
      return `'${v.op}' expression`;
    case 'option':
      return 'value with options';
    case 'group':
      return 'parenthesised group';
    default:
      return v.kind;
  }
}

/** `Pp.V.list_depth`: the nesting of lists, looking at first elements and through options. */
function listDepth(v: Value): number {
  if (v.kind === 'list') return v.items.length === 0 ? 1 : 1 + listDepth(v.items[0]!);
  if (v.kind === 'option') return listDepth(v.value);
  return 0;
}

function wrapToDepth(v: Value, depth: number): Value {
  let out = v;
  for (let n = depth - listDepth(v); n > 0; n--) out = { kind: 'list', items: [out], span: v.span };
  return out;
}

/** `Pp.V.map_list ~depth`: the items of the field's list, after wrapping a too-shallow value. */
function listItems(v: Value, depth: number, what: string): Value[] {
  const w = wrapToDepth(v, depth);
  if (w.kind !== 'list') throw err(v.span, `expected a list of ${what}, found a ${kindName(v)}`);
  return w.items;
}

/** `Pp.V.list`: a list's items, or the single value. */
function asList(v: Value): Value[] {
  return v.kind === 'list' ? v.items : [v];
}

function str(v: Value, what: string): string {
  if (v.kind !== 'string') throw err(v.span, `expected ${what} (a string), found a ${kindName(v)}`);
  return v.value;
}

function splitOption(v: Value): { value: Value; options: Value[] | null } {
  return v.kind === 'option' ? { value: v.value, options: v.options } : { value: v, options: null };
}

function optionalFilter(options: Value[] | null, span: Span): Filter | undefined {
  if (options === null || options.length === 0) return undefined;
  return filterFromValues(options, span);
}

function commandArg(v: Value): CommandArg {
  const { value, options } = splitOption(v);
  let arg: CommandArg;
  if (value.kind === 'string') arg = { kind: 'string', value: value.value };
  else if (value.kind === 'ident') arg = { kind: 'ident', value: value.name };
  else throw err(value.span, `expected a command argument (a string or a variable), found a ${kindName(value)}`);
  const filter = optionalFilter(options, v.span);
  if (filter) arg.filter = filter;
  return arg;
}

function command(v: Value): Command {
  const { value, options } = splitOption(v);
  if (value.kind !== 'list') throw err(value.span, `expected a command (a list of arguments), found a ${kindName(value)}`);
  const cmd: Command = { args: value.items.map(commandArg) };
  const filter = optionalFilter(options, v.span);
  if (filter) cmd.filter = filter;
  return cmd;
}

function commands(v: Value): Command[] {
  return listItems(v, 2, 'commands').map(command);
}

const CHECKSUM_LENGTH = { md5: 32, sha256: 64, sha512: 128 } as const;

/** `OpamHash.of_string`: `md5=…`, `sha256=…`, `sha512=…`, or a bare md5. */
export function parseChecksum(s: string): Checksum | null {
  const eq = s.indexOf('=');
  const algorithm = eq < 0 ? 'md5' : s.slice(0, eq);
  const hex = eq < 0 ? s : s.slice(eq + 1);
  if (algorithm !== 'md5' && algorithm !== 'sha256' && algorithm !== 'sha512') return null;
  if (hex.length !== CHECKSUM_LENGTH[algorithm] || !/^[0-9a-fA-F]*$/.test(hex)) return null;
  return { algorithm, hex: hex.toLowerCase() };
}

function checksum(v: Value): Checksum {
  const c = parseChecksum(str(v, 'a checksum'));
  if (!c) throw err(v.span, `invalid checksum ${JSON.stringify((v as { value: string }).value)}`);
  return c;
}

function envUpdate(v: Value): EnvUpdate {
  // Each element is `[VAR op "value"]`-like: a list holding exactly one binding (`list -| singleton`).
  const items = asList(v);
  if (items.length !== 1) throw err(v.span, 'expected one environment update per list');
  const b = items[0]!;
  if (b.kind === 'env-binding' && b.name.kind === 'ident' && b.value.kind === 'string') {
    return { variable: b.name.name, op: b.op, value: b.value.value };
  }
  if (b.kind === 'relop' && b.op === '=' && b.left.kind === 'ident' && b.right.kind === 'string') {
    return { variable: b.left.name, op: '=', value: b.right.value };
  }
  throw err(b.span, `expected an environment update (VAR = "value", +=, =+, :=, =:, =+=), found a ${kindName(b)}`);
}

function envUpdates(v: Value): EnvUpdate[] {
  return listItems(v, 2, 'environment updates').map(envUpdate);
}

function pkgName(v: Value): string {
  const s = str(v, 'a package name');
  if (!isValidPackageName(s)) throw err(v.span, `invalid package name ${JSON.stringify(s)}`);
  return s;
}

function depexts(v: Value): Depext[] {
  // opam 2 form: [["pkg1" "pkg2"] {filter}]; legacy 1.2 form: [[["tag" …] ["pkg" …]] …].
  try {
    return listItems(v, 2, 'system packages').map((item) => {
      const { value, options } = splitOption(item);
      const packages = listItems(value, 0, 'system package names').map((p) => str(p, 'a system package name'));
      const d: Depext = { packages };
      const filter = optionalFilter(options, item.span);
      if (filter) d.filter = filter;
      return d;
    });
  } catch (first) {
    try {
      return listItems(v, 3, 'tagged system packages').map((pair) => {
        if (pair.kind !== 'list' || pair.items.length !== 2) throw err(pair.span, 'expected [[tags] [packages]]');
        const tags = asList(pair.items[0]!).map((t) => str(t, 'a tag'));
        const packages = asList(pair.items[1]!).map((p) => str(p, 'a system package name'));
        // The tags joined by `&`, balanced so that a long list is not a deep tree.
        const tagAnd = (lo: number, hi: number): Filter => {
          if (hi - lo === 1) return { kind: 'string', value: tags[lo]! };
          const mid = lo + Math.ceil((hi - lo) / 2);
          return { kind: 'and', left: tagAnd(lo, mid), right: tagAnd(mid, hi) };
        };
        const filter: Filter = tags.length === 0 ? { kind: 'bool', value: true } : tagAnd(0, tags.length);
        return { packages, filter };
      });
    } catch {
      throw first;
    }
  }
}

function urlFromItems(items: Item[], where: Span): Url {
  let src: string | null = null;
  let checksums: Checksum[] = [];
  let mirrors: string[] = [];
  for (const it of items) {
    if (it.kind !== 'variable') continue;
    switch (it.name) {
      case 'src':
      case 'archive':
      case 'http':
      case 'git':
      case 'darcs':
      case 'hg':
      case 'local':
        if (src !== null) throw err(it.span, 'too many URLs in this section');
        src = str(it.value, 'a URL');
        break;
      case 'checksum':
        checksums = listItems(it.value, 1, 'checksums').map(checksum);
        break;
      case 'mirrors':
        mirrors = listItems(it.value, 1, 'URLs').map((m) => str(m, 'a URL'));
        break;
      default:
        break;
    }
  }
  if (src === null) throw err(where, 'missing URL (src:) in this section');
  return { src, checksums, mirrors };
}

/** Whether `f` is a plain disjunction of atoms. */
function isPureDisjunction<A>(f: Formula<A>): boolean {
  return orsToList(f).every((g) => g.kind === 'atom');
}

/** Field readers; each returns nothing and fills `p`. */
type FieldReader = (v: Value, p: OpamPackage, ctx: ReadContext) => void;

interface ReadContext {
  meta: PackageMeta;
  warnings: string[];
  tags: string[];
  deprecatedBuildTest: Command[];
}

const FIELDS: Record<string, FieldReader> = {
  'opam-version': (v, p) => {
    p.opamVersion = str(v, 'an opam version');
  },
  name: (v, p, ctx) => {
    const n = pkgName(v);
    if (n !== ctx.meta.name) {
      throw err(v.span, `name field ${JSON.stringify(n)} contradicts the package folder's name ${JSON.stringify(ctx.meta.name)}`);
    }
  },
  version: (v, p, ctx) => {
    const s = str(v, 'a version').trim();
    if (!versionsEqual(s, ctx.meta.version)) {
      throw err(v.span, `version field ${JSON.stringify(s)} contradicts the package folder's version ${JSON.stringify(ctx.meta.version)}`);
    }
  },
  synopsis: (v, p) => {
    p.synopsis = str(v, 'a synopsis').trim();
  },
  depends: (v, p) => {
    p.depends = packageFormulaFromValue(v, 'conj');
  },
  depopts: (v, p, ctx) => {
    const f = packageFormulaFromValue(v, 'disj');
    if (isPureDisjunction(f) || (p.opamVersion !== null && compareVersions(p.opamVersion, '1.2') < 0)) {
      p.depopts = f;
    } else {
      ctx.warnings.push('Optional dependencies must be a disjunction. Treated as such.');
      p.depopts = ors(atoms(f).map((a) => ({ kind: 'atom' as const, atom: a })));
    }
  },
  conflicts: (v, p, ctx) => {
    const f = packageFormulaFromValue(v, 'disj');
    if (isPureDisjunction(f)) {
      p.conflicts = f;
    } else {
      ctx.warnings.push("Conflicts must be a disjunction, '&' is not supported (treated as '|').");
      p.conflicts = andToOr(f);
    }
  },
  'conflict-class': (v, p) => {
    p.conflictClass = listItems(v, 1, 'package names').map(pkgName);
  },
  available: (v, p) => {
    p.available = filterFromValues(asList(wrapToDepth(v, 1)), v.span);
  },
  flags: (v, p, ctx) => {
    const flags = listItems(v, 1, 'flags').map((f) => {
      if (f.kind !== 'ident') throw err(f.span, `expected a flag (an identifier), found a ${kindName(f)}`);
      return f.name;
    });
    const unknown = flags.filter((f) => !(KNOWN_FLAGS as readonly string[]).includes(f));
    if (unknown.length > 0) ctx.warnings.push(`Unknown package flags ${unknown.join(', ')} (opam 2.1 gives them no meaning)`);
    for (const f of flags) if (!p.flags.includes(f)) p.flags.push(f);
  },
  tags: (v, _p, ctx) => {
    ctx.tags = listItems(v, 1, 'tags').map((t) => str(t, 'a tag'));
  },
  build: (v, p) => {
    p.build = commands(v);
  },
  install: (v, p) => {
    p.install = commands(v);
  },
  remove: (v, p) => {
    p.remove = commands(v);
  },
  'run-test': (v, p) => {
    p.runTest = commands(v);
  },
  'build-test': (v, _p, ctx) => {
    ctx.deprecatedBuildTest = commands(v);
  },
  patches: (v, p) => {
    p.patches = listItems(v, 1, 'patch files').map((item): FilteredString => {
      const { value, options } = splitOption(item);
      const fs: FilteredString = { value: str(value, 'a patch file name') };
      const filter = optionalFilter(options, item.span);
      if (filter) fs.filter = filter;
      return fs;
    });
  },
  substs: (v, p) => {
    p.substs = listItems(v, 1, 'file names').map((s) => str(s, 'a file name'));
  },
  'extra-files': (v, p) => {
    p.extraFiles = listItems(v, 2, 'extra files').map((pair): ExtraFile => {
      if (pair.kind !== 'list' || pair.items.length !== 2) throw err(pair.span, 'expected ["file" "checksum"]');
      return { name: str(pair.items[0]!, 'a file name'), checksum: checksum(pair.items[1]!) };
    });
  },
  depexts: (v, p) => {
    p.depexts = depexts(v);
  },
  setenv: (v, p) => {
    p.setenv = envUpdates(v);
  },
  'build-env': (v, p) => {
    p.buildEnv = envUpdates(v);
  },
};

/** `OpamFormula.map_formula (And → Or)`: opam's rewrite of a conflicts conjunction. */
function andToOr<A>(f: Formula<A>): Formula<A> {
  switch (f.kind) {
    case 'and':
    case 'or':
      return { kind: 'or', left: andToOr(f.left), right: andToOr(f.right) };
    case 'block':
      return { kind: 'block', inner: andToOr(f.inner) };
    default:
      return f;
  }
}

/** The package's typed model, plus opam's non-fatal warnings about it. */
export function packageFromAstWithWarnings(ast: OpamFileAst, meta: PackageMeta): { pkg: OpamPackage; warnings: string[] } {
  const p: OpamPackage = {
    name: meta.name,
    version: meta.version,
    file: meta.file,
    repository: meta.repository,
    filesDir: meta.filesDir,
    contentHash: meta.contentHash,
    opamVersion: null,
    depends: { kind: 'empty' },
    depopts: { kind: 'empty' },
    conflicts: { kind: 'empty' },
    conflictClass: [],
    available: { kind: 'bool', value: true },
    flags: [],
    build: [],
    install: [],
    remove: [],
    runTest: [],
    patches: [],
    substs: [],
    extraFiles: [],
    extraSources: [],
    url: null,
    depexts: [],
    setenv: [],
    buildEnv: [],
    synopsis: null,
    extensions: {},
    ast,
    fieldSpans: {},
  };
  const ctx: ReadContext = { meta, warnings: [], tags: [], deprecatedBuildTest: [] };
  // opam-version first: other fields' reading may depend on it.
  const first = ast.items.findIndex(isOpamVersion);
  const ordered = first <= 0 ? ast.items : [ast.items[first]!, ...ast.items.filter((_, i) => i !== first)];
  const seen = new Set<string>();
  for (const item of ordered) {
    if (item.kind === 'variable') {
      if (item.name.startsWith('x-')) {
        p.extensions[item.name] = item.value;
        continue;
      }
      const reader = FIELDS[item.name];
      if (!reader) continue;
      if (seen.has(item.name)) throw err(item.span, `duplicate field ${item.name}`);
      seen.add(item.name);
      p.fieldSpans[item.name] = item.span;
      reader(item.value, p, ctx);
    } else if (item.sectionKind === 'url') {
      if (p.url !== null) throw err(item.span, 'duplicate url section');
      p.url = urlFromItems(item.items, item.span);
      p.fieldSpans.url = item.span;
    } else if (item.sectionKind === 'extra-source') {
      if (item.sectionName === null) throw err(item.span, 'missing extra-source name');
      const es: ExtraSource = { name: item.sectionName, url: urlFromItems(item.items, item.span) };
      p.extraSources.push(es);
      p.fieldSpans[`extra-source ${item.sectionName}`] = item.span;
    }
  }
  for (const tag of ctx.tags) {
    if (tag.startsWith('flags:')) {
      const flag = tag.slice('flags:'.length);
      if (!p.flags.includes(flag)) p.flags.push(flag);
    }
  }
  if (ctx.deprecatedBuildTest.length > 0) p.runTest = [...ctx.deprecatedBuildTest, ...p.runTest];
  return { pkg: p, warnings: ctx.warnings };
}

function isOpamVersion(item: Item): boolean {
  return item.kind === 'variable' && item.name === 'opam-version';
}

/** The package's typed model (see `packageFromAstWithWarnings` for opam's warnings). */
export function packageFromAst(ast: OpamFileAst, meta: PackageMeta): OpamPackage {
  return packageFromAstWithWarnings(ast, meta).pkg;
}
