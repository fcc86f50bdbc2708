/**
 * Scratch folders left by crashed runs: a builder created later removes those whose owner process is gone
 * (pid and start time in the name), keeps a live process's, and removes read-only directories and
 * symbolic links without ever touching what a link points to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ownerIsGone, removeStaleScratch, scratchPrefix } from '../../src/builder/stale-scratch.js';
import { createOpamBuilder, type OpamBuilderOptions } from '../../src/builder/opam-builder.js';

function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

/** A pid that was just used and is gone. */
function deadPid(): number {
  const r = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' });
  return Number(r.stdout.trim());
}

/** A scratch folder as a build of a crashed run leaves it: read-only directories, links out of it. */
function hostileScratch(path: string, victim: string): void {
  mkdirSync(join(path, 'build', 'src', 'deep'), { recursive: true });
  writeFileSync(join(path, 'build', 'src', 'deep', 'f.ml'), 'x');
  symlinkSync(victim, join(path, 'build', 'src', 'to-victim'));
  symlinkSync(join(victim, 'precious'), join(path, 'build', 'to-victim-file'));
  symlinkSync(victim, join(path, 'home'));
  chmodSync(join(path, 'build', 'src', 'deep'), 0o500);
  chmodSync(join(path, 'build', 'src'), 0o500);
  chmodSync(join(path, 'build'), 0o500);
}

test('a builder removes the scratch folders of dead processes, keeps live ones, never follows a link', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ecocheck-stale-scratch-'));
  const sleeper = spawn('sleep', ['60']);
  try {
    const buildRoot = join(dir, 'build');
    const storeDir = join(dir, 'store');
    mkdirSync(buildRoot);
    const victim = join(dir, 'victim');
    mkdirSync(victim);
    writeFileSync(join(victim, 'precious'), 'keep me');
    chmodSync(victim, 0o555);

    const dead = deadPid();
    const live = sleeper.pid as number;
    const deadName = `lwt.5.7.0-pid${dead}-12345-AbC123`;
    const reusedName = `dune.3.0.0-pid${live}-1-XyZ789`; // the live pid, but another process's start time
    const liveName = `dune.3.0.0-pid${live}-${startTimeOf(live)}-Qq0000`;
    const unowned = 'zarith.1.13-Ab12Cd'; // an older name that says no owner: left alone
    for (const name of [deadName, reusedName, liveName, unowned]) hostileScratch(join(buildRoot, name), victim);
    const mine = basename(mkdtempSync(scratchPrefix(buildRoot, 'ocaml.5.3.0')));
    assert.match(mine, /^ocaml\.5\.3\.0-pid\d+-\d+-[A-Za-z0-9]{6}$/);
    assert.equal(ownerIsGone(mine), false, 'this process is alive');
    assert.equal(ownerIsGone(deadName), true);
    assert.equal(ownerIsGone(reusedName), true);
    assert.equal(ownerIsGone(liveName), false);
    assert.equal(ownerIsGone(unowned), false);

    // Creating a builder sweeps the build root.
    createOpamBuilder({ storeDir, buildRoot } as OpamBuilderOptions);
    assert.deepEqual(readdirSync(buildRoot).sort(), [liveName, mine, unowned].sort());
    // The victim the links pointed to is untouched.
    assert.deepEqual(readdirSync(victim), ['precious']);
    assert.equal(readFileSync(join(victim, 'precious'), 'utf8'), 'keep me');
    // Nothing more to do on a second sweep.
    assert.deepEqual(removeStaleScratch(buildRoot), []);
    assert.ok(existsSync(join(buildRoot, liveName, 'build', 'src', 'deep', 'f.ml')));
  } finally {
    sleeper.kill('SIGKILL');
    spawnSync('chmod', ['-R', 'u+rwx', dir]);
    rmSync(dir, { recursive: true, force: true });
  }
});
