/**
 * Which of ecocheck's modules a command loads: runs bin/ecocheck with module hooks that record every
 * module loaded through `import` (module-loads-hooks.ts). Also a script, after `npm run build`:
 *
 *     node dist/tests/cli/module-loads.js solve cmdliner --repo /tmp/snap --compiler 5.3.0
 *
 * prints the count of src/ modules loaded by layer and the node_modules packages (VERBOSE=1: every
 * src/ module).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRoot } from '../support/snapshot.js';

export interface ModuleLoads {
  status: number | null;
  stdout: string;
  stderr: string;
  /** The modules of src/ loaded, as paths under src/ (`cli/main.js`). */
  sources: string[];
  /** The packages of node_modules loaded (their entry modules went through `import`). */
  packages: string[];
}

export function moduleLoads(args: readonly string[], env: NodeJS.ProcessEnv = {}): ModuleLoads {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-loads-'));
  const record = join(dir, 'loads.txt');
  try {
    const r = spawnSync(
      process.execPath,
      ['--import', fileURLToPath(new URL('./module-loads-register.js', import.meta.url)), join(projectRoot, 'bin', 'ecocheck'), ...args],
      {
        env: { ...process.env, ...env, ECOCHECK_RECORD_LOADS: record },
        encoding: 'utf8',
      },
    );
    const urls = readFileSync(record, 'utf8')
      .split('\n')
      .filter((u) => u.startsWith('file:'))
      .map((u) => fileURLToPath(u));
    const srcDir = join(projectRoot, 'dist', 'src') + '/';
    const sources = [...new Set(urls.filter((f) => f.startsWith(srcDir)).map((f) => f.slice(srcDir.length)))];
    const packages = [
      ...new Set(urls.filter((f) => f.includes('/node_modules/')).map((f) => packageOf(f.slice(f.lastIndexOf('/node_modules/') + 14)))),
    ];
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, sources, packages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function packageOf(path: string): string {
  const parts = path.split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

/** The layers (folders of src/) among loaded modules, with their counts. */
export function layerCounts(sources: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const s of sources) counts[s.split('/')[0]] = (counts[s.split('/')[0]] ?? 0) + 1;
  return counts;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = moduleLoads(process.argv.slice(2));
  if (process.env.VERBOSE === '1') for (const s of r.sources) process.stdout.write(`${s}\n`);
  process.stdout.write(
    `exit ${r.status}; ${r.sources.length} modules of src/: ${Object.entries(layerCounts(r.sources))
      .map(([l, n]) => `${l} ${n}`)
      .join(', ')}\n`,
  );
  process.stdout.write(`packages: ${r.packages.join(', ') || 'none'}\n`);
}
