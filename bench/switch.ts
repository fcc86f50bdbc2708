/**
 * Composing a job's switch (src/builder/switch-mount.ts): what it costs to give a job the union of a
 * 150-layer closure, with overlayfs (the builder's way: numbered links, one mount per command in a
 * private namespace) and, for comparison, with a hardlink farm (every file of every layer linked into
 * a fresh tree, the alternative the builder does not take). The closure is synthetic but shaped like
 * a real one: a compiler layer of 3,000 files under lib/ocaml, then 149 libraries of 60 files each.
 */
import { spawnSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { BenchSection } from './bench-section.js';
import { reportFigure } from './report-figure.js';
import { prepareSwitchMount, removeSwitchMount, switchMountSupport } from '../src/builder/switch-mount.js';
import { emptySwitchLayer, removeTree } from '../src/builder/layer-store.js';
import { bubblewrap } from '../src/builder/bubblewrap.js';
import { SWITCH_PREFIX } from '../src/builder/switch-layout.js';

const LAYERS = 150;
const ROUNDS = 10;

function makeLayers(root: string): { layers: string[]; files: number } {
  const layers: string[] = [];
  let files = 0;
  for (let i = 0; i < LAYERS; i++) {
    const dir = join(root, `layer-${i}`);
    const lib = i === 0 ? join(dir, 'lib', 'ocaml') : join(dir, 'lib', `pkg${i}`);
    mkdirSync(lib, { recursive: true });
    const n = i === 0 ? 3000 : 60;
    for (let f = 0; f < n; f++) writeFileSync(join(lib, `m${f}.cmi`), `layer ${i} file ${f}\n`);
    files += n;
    layers.push(dir);
  }
  return { layers, files };
}

/** Links every file of `layers` (bottom first; upper layers win) into `dest`. */
function hardlinkFarm(layers: string[], dest: string): void {
  const visit = (src: string, dst: string) => {
    for (const name of readdirSync(src)) {
      const s = join(src, name);
      const d = join(dst, name);
      if (lstatSync(s).isDirectory()) {
        mkdirSync(d, { recursive: true });
        visit(s, d);
      } else {
        rmSync(d, { force: true });
        linkSync(s, d);
      }
    }
  };
  for (const l of layers) visit(l, dest);
}

export const switchSection: BenchSection = {
  name: 'switch',
  run: async () => {
    const mountOk = switchMountSupport();
    const bwrapOk = bubblewrap.detect();
    if (!mountOk.ok || !bwrapOk.ok) {
      process.stdout.write(`  skipped: ${!mountOk.ok ? mountOk.message : (bwrapOk as { message: string }).message}\n`);
      return;
    }
    const root = mkdtempSync(join(tmpdir(), 'ecocheck-bench-switch-'));
    try {
      const store = join(root, 'store');
      const { layers, files } = makeLayers(join(root, 'layers'));
      const stack = [emptySwitchLayer(store), ...layers];
      process.stdout.write(`  closure: ${stack.length} layers, ${files} files\n`);

      // overlayfs: prepare the links and directories, then one command that sees the whole switch.
      let prepareMs = 0;
      let commandMs = 0;
      let plainMs = 0;
      for (let r = 0; r < ROUNDS; r++) {
        const job = join(root, `job-${r}`);
        const t0 = performance.now();
        const mount = prepareSwitchMount(job, stack);
        prepareMs += performance.now() - t0;
        const spec = {
          writable: [],
          readonly: [],
          network: false,
          cwd: '/',
          mounts: [{ source: mount.mountPoint, target: SWITCH_PREFIX, writable: true }],
        };
        const sb = bubblewrap.wrap(spec, job, { PATH: '/usr/bin:/bin' });
        const t1 = performance.now();
        const seen = spawnSync(
          mount.wrapperArgv[0],
          [...mount.wrapperArgv.slice(1), ...sb.argv, '/bin/sh', '-c', `ls ${SWITCH_PREFIX}/lib | wc -l`],
          { encoding: 'utf8', env: sb.env },
        );
        commandMs += performance.now() - t1;
        if (seen.status !== 0 || Number(seen.stdout.trim()) < LAYERS)
          throw new Error(`the composed switch is wrong: ${seen.stderr || seen.stdout}`);
        // The same command in the sandbox without a switch: what the composition adds to it.
        const bare = bubblewrap.wrap({ writable: [], readonly: [], network: false, cwd: '/' }, job, { PATH: '/usr/bin:/bin' });
        const t2 = performance.now();
        spawnSync(bare.argv[0], [...bare.argv.slice(1), '/bin/sh', '-c', 'true']);
        plainMs += performance.now() - t2;
        removeSwitchMount(mount);
        removeTree(job);
      }
      reportFigure('overlayfs: prepare a 150-layer switch (links, upper, work)', prepareMs / ROUNDS, 'ms', 50);
      reportFigure('overlayfs: one command in it (unshare + mount + bwrap)', commandMs / ROUNDS, 'ms');
      reportFigure('the same command in the sandbox without a switch', plainMs / ROUNDS, 'ms');
      reportFigure('  what the switch adds per command', Math.max(0, commandMs - plainMs) / ROUNDS, 'ms', 100);

      // A hardlink farm of the same closure, for comparison.
      let farmMs = 0;
      let farmRmMs = 0;
      for (let r = 0; r < 3; r++) {
        const dest = join(root, `farm-${r}`);
        const t0 = performance.now();
        hardlinkFarm(stack, dest);
        farmMs += performance.now() - t0;
        const t1 = performance.now();
        removeTree(dest);
        farmRmMs += performance.now() - t1;
      }
      reportFigure('hardlink farm: link the same switch', farmMs / 3, 'ms');
      reportFigure('hardlink farm: remove it afterwards', farmRmMs / 3, 'ms');
    } finally {
      removeTree(root);
    }
  },
};
