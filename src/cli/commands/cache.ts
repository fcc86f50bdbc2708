/**
 * `ecocheck cache import FILE|DIR… [--repo DIR …]`: stores files in the download cache under each of
 * their checksums (md5, sha256, sha512), as a fetch would have stored them, so that builds find them
 * without the network. With `--repo`, says which package versions of those repositories each file
 * serves (their `url` or an `extra-source` names one of its checksums, and every checksum given
 * agrees). A directory is walked; files already there are kept. Exit 1 when nothing was imported.
 */
import { lstatSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { hashFile } from '../../builder/checksum.js';
import { DownloadCache } from '../../builder/download-cache.js';
import type { Checksum, Url } from '../../opam/package-model.js';
import { packageId } from '../../opam/package-model.js';
import { loadRepositories } from '../../opam/repository.js';
import { UsageError } from '../usage-error.js';
import { addRepositoryOptions, addStateOptions } from '../options.js';
import { resolveStatePaths } from '../../session/state-paths.js';
import type { RegisterCommand } from '../command.js';
import { EXIT } from '../exit-codes.js';

interface ImportOptions {
  repo: string[];
  stateDir?: string;
  cacheDir?: string;
  json?: boolean;
}

const ALGORITHMS: Checksum['algorithm'][] = ['md5', 'sha256', 'sha512'];

/** Every regular file given, directories walked (symbolic links not followed). */
function filesOf(paths: string[]): string[] {
  const out: string[] = [];
  const visit = (p: string, given: boolean) => {
    let st;
    try {
      st = lstatSync(p);
    } catch {
      if (given) throw new UsageError(`cache import: ${p}: no such file or directory`);
      return;
    }
    if (st.isDirectory()) for (const e of readdirSync(p).sort()) visit(join(p, e), false);
    else if (st.isFile()) out.push(p);
    else if (given) throw new UsageError(`cache import: ${p}: not a file or directory`);
  };
  for (const p of paths) visit(resolve(p), true);
  return out;
}

interface Imported {
  file: string;
  checksums: Checksum[];
  serves: string[];
}

export const registerCache: RegisterCommand = (program: Command, setExitCode) => {
  const cache = program.command('cache').description('the download cache (an offline mirror of sources)');
  addStateOptions(addRepositoryOptions(cache
    .command('import')
    .description('store files (or every file under directories) in the download cache under all their checksums; with --repo, say which package versions each serves')
    .argument('<paths...>', 'files or directories to import'), false), true)
    .option('--json', 'print one JSON object')
    .action(async (paths: string[], opts: ImportOptions) => {
      const store = new DownloadCache(resolveStatePaths(opts).downloadCache);
      const files = filesOf(paths);
      // checksum (algo=hex) -> the package versions whose sources name it
      const wanted = new Map<string, { id: string; url: Url; what: string }[]>();
      if (opts.repo.length > 0) {
        const load = loadRepositories(opts.repo);
        for (const versions of load.packages.values()) {
          for (const pkg of versions) {
            const sources = [
              ...(pkg.url ? [{ url: pkg.url, what: 'url' }] : []),
              ...pkg.extraSources.map((e) => ({ url: e.url, what: `extra-source ${e.name}` })),
            ];
            for (const s of sources) {
              for (const c of s.url.checksums) {
                const k = `${c.algorithm}=${c.hex.toLowerCase()}`;
                const list = wanted.get(k) ?? [];
                list.push({ id: packageId(pkg), url: s.url, what: s.what });
                wanted.set(k, list);
              }
            }
          }
        }
      }
      const imported: Imported[] = [];
      for (const file of files) {
        const checksums: Checksum[] = [];
        for (const algorithm of ALGORITHMS) checksums.push({ algorithm, hex: await hashFile(file, algorithm) });
        store.store(file, checksums);
        const has = new Map(checksums.map((c) => [c.algorithm, c.hex]));
        const serves = new Set<string>();
        for (const c of checksums) {
          for (const w of wanted.get(`${c.algorithm}=${c.hex}`) ?? []) {
            if (w.url.checksums.every((x) => has.get(x.algorithm) === x.hex.toLowerCase())) {
              serves.add(w.what === 'url' ? w.id : `${w.id} (${w.what})`);
            }
          }
        }
        imported.push({ file, checksums, serves: [...serves].sort() });
      }
      if (imported.length === 0) setExitCode(EXIT.found);
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ cache: store.root, files: imported }, null, 2)}\n`);
        return;
      }
      const lines: string[] = [];
      for (const i of imported) {
        const sha256 = i.checksums.find((c) => c.algorithm === 'sha256')?.hex ?? '';
        lines.push(`${i.file}: sha256=${sha256.slice(0, 16)}…${opts.repo.length > 0 ? `, serves ${i.serves.length > 0 ? i.serves.join(', ') : 'no package version of the repositories'}` : ''}`);
      }
      const serving = imported.filter((i) => i.serves.length > 0).length;
      lines.push(
        `${imported.length} file(s) imported into ${store.root}${opts.repo.length > 0 ? `; ${serving} serve package versions of ${opts.repo.join(', ')}` : ''}`,
      );
      process.stdout.write(`${lines.join('\n')}\n`);
    });
};
