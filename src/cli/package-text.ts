/**
 * How `ecocheck show` prints a package: as plain JSON, formulas, filters and commands printed back in
 * opam syntax, and as text lines (src/cli/commands/show.ts loads it when its action runs).
 */
import type { Command, CommandArg, Depext, EnvUpdate, Filter, OpamPackage, Url } from '../opam/package-model.js';
import { packageFormulaToString, printFilter, quoteString } from '../opam/filter.js';
import { printValue } from '../opam/printer.js';

function withFilter(text: string, filter: Filter | undefined): string {
  return filter ? `${text} {${printFilter(filter)}}` : text;
}

function argToString(a: CommandArg): string {
  return withFilter(a.kind === 'string' ? quoteString(a.value) : a.value, a.filter);
}

/** A command in opam syntax: `["make" "-j" jobs {x}] {filter}`. */
export function commandToString(c: Command): string {
  return withFilter(`[${c.args.map(argToString).join(' ')}]`, c.filter);
}

function envToString(e: EnvUpdate): string {
  return `${e.variable} ${e.op} ${quoteString(e.value)}`;
}

function depextToString(d: Depext): string {
  return withFilter(`[${d.packages.map(quoteString).join(' ')}]`, d.filter);
}

function urlToJson(u: Url): { src: string; checksums: string[]; mirrors: string[] } {
  return { src: u.src, checksums: u.checksums.map((c) => `${c.algorithm}=${c.hex}`), mirrors: u.mirrors };
}

/** The package as plain JSON, formulas and filters printed in opam syntax. */
export function packageToJson(p: OpamPackage, allVersions: string[]): Record<string, unknown> {
  return {
    name: p.name,
    version: p.version,
    versions: allVersions,
    file: p.file,
    repository: p.repository,
    filesDir: p.filesDir,
    contentHash: p.contentHash,
    opamVersion: p.opamVersion,
    synopsis: p.synopsis,
    depends: packageFormulaToString(p.depends),
    depopts: packageFormulaToString(p.depopts),
    conflicts: packageFormulaToString(p.conflicts),
    conflictClass: p.conflictClass,
    available: printFilter(p.available),
    flags: p.flags,
    build: p.build.map(commandToString),
    install: p.install.map(commandToString),
    remove: p.remove.map(commandToString),
    runTest: p.runTest.map(commandToString),
    patches: p.patches.map((x) => withFilter(quoteString(x.value), x.filter)),
    substs: p.substs,
    extraFiles: p.extraFiles.map((f) => ({ name: f.name, checksum: `${f.checksum.algorithm}=${f.checksum.hex}` })),
    extraSources: p.extraSources.map((s) => ({ name: s.name, ...urlToJson(s.url) })),
    url: p.url ? urlToJson(p.url) : null,
    depexts: p.depexts.map(depextToString),
    setenv: p.setenv.map(envToString),
    buildEnv: p.buildEnv.map(envToString),
    extensions: Object.fromEntries(Object.entries(p.extensions).map(([k, v]) => [k, printValue(v)])),
  };
}

export function textLines(j: Record<string, unknown>): string[] {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(j)) {
    if (Array.isArray(value)) {
      if (value.length === 0) continue;
      if (value.every((v) => typeof v === 'string') && key !== 'build' && key !== 'install' && key !== 'remove' && key !== 'runTest') {
        lines.push(`${key}: ${(value as string[]).join(' ')}`);
      } else {
        lines.push(`${key}:`);
        for (const v of value) lines.push(`  ${typeof v === 'string' ? v : JSON.stringify(v)}`);
      }
    } else if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value as Record<string, unknown>);
      if (entries.length === 0) continue;
      lines.push(`${key}:`);
      for (const [k, v] of entries) {
        if (Array.isArray(v) && v.length === 0) continue;
        lines.push(`  ${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`);
      }
    } else if (value !== null && value !== '') {
      lines.push(`${key}: ${String(value)}`);
    }
  }
  return lines;
}
