/**
 * Per-job resource limits. Where the machine offers writable cgroup v1 controllers, each job gets
 * its own memory cgroup (the memory limit, OOM evidence) and pids cgroup (a process-count limit, and
 * a complete list of the job's processes to kill, even those that left its process group). With
 * cgroup v2 (what most laptops run today), each job gets one cgroup of the unified hierarchy with
 * both limits, under ecocheck's own cgroup when the memory and pids controllers can be enabled for
 * its children (a delegated cgroup: systemd's user session, `systemd-run --user --scope -p
 * Delegate=yes`, or a container's own root). Where neither is possible, the memory limit falls back to
 * RLIMIT_AS (address space), set by a tiny shell wrapper; the sandbox's PID namespace still kills
 * every process of the job with its first one.
 *
 * Setting ECOCHECK_MEMORY_LIMIT=rlimit in ecocheck's environment chooses RLIMIT_AS regardless.
 *
 * The wrapper (`/bin/sh -c '...'`) joins the cgroups and sets rlimits before exec'ing the command,
 * so every process of the job is limited from its first instruction: RLIMIT_AS as above, and
 * RLIMIT_FSIZE at the job's disk limit (no single file outgrows it between two walks of the disk
 * watcher, disk-limit.ts). It also sends the command's standard error where its standard output goes
 * (the runner's one pipe), so the two stay interleaved as printed.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatBytes } from '../units/byte-size.js';

export interface LimitRequest {
  memoryBytes?: number;
  maxProcesses?: number;
  /** RLIMIT_FSIZE: the largest file a process of the job may write. */
  fileSizeBytes?: number;
}

/** The cgroups' cumulative counters (zero without cgroups). */
export interface LimitCounters {
  oomKills: number;
  /** memory.failcnt (v1) or memory.events max (v2). */
  memoryFailures: number;
  refusedForks: number;
}

export interface PreparedLimits {
  /** Prepended to the command's argv (always: it also joins standard error to standard output). */
  wrapperArgv: string[];
  /** One line for the log: what is in force for this job. */
  description: string;
  /** The memory limit in words ("200 MiB"), empty when none. */
  limitText: string;
  /** SIGKILLs every process of the job known to its cgroups (no-op without cgroups). */
  killAll(): void;
  /** True when the job's cgroups hold no process (always true without cgroups). */
  isEmpty(): boolean;
  /**
   * What the cgroups saw: OOM kills, refused forks (those counted after `since` alone). Call after the
   * job (or one of its commands) ended, before cleanup().
   */
  collect(since?: LimitCounters): { oomKilled: boolean; evidence: string[] };
  /** The cgroups' counters now: what a later collect() counts from. */
  counters(): LimitCounters;
  /** Removes the job's cgroups. */
  cleanup(): void;
}

/**
 * The directory of this process's own cgroup in the cgroup v1 hierarchy holding `controller`, or in
 * the cgroup v2 (unified) hierarchy when `controller` is null; or why there is none.
 */
function ownCgroupDir(controller: string | null): { dir: string } | { error: string } {
  const what = controller === null ? 'cgroup v2 hierarchy' : `cgroup v1 ${controller} hierarchy`;
  let cgroupFile: string;
  let mountinfo: string;
  try {
    cgroupFile = readFileSync('/proc/self/cgroup', 'utf8');
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch (e) {
    return { error: `cannot read /proc/self/cgroup: ${(e as Error).message}` };
  }
  // hierarchy-ID:controller-list:path, the unified one as 0::path
  const line = cgroupFile
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f.length >= 3 && (controller === null ? f[0] === '0' && f[1] === '' : f[1].split(',').includes(controller)));
  if (!line) return { error: controller === null ? 'no cgroup v2 hierarchy' : `no cgroup v1 ${controller} controller` };
  const cgPath = line.slice(2).join(':');
  for (const l of mountinfo.split('\n')) {
    const [pre, post] = l.split(' - ');
    if (!post) continue;
    const [fstype, , superOpts] = post.split(' ');
    if (controller === null ? fstype !== 'cgroup2' : fstype !== 'cgroup' || !(superOpts ?? '').split(',').includes(controller)) continue;
    const fields = pre.split(' ');
    const root = fields[3];
    const mountPoint = fields[4];
    if (!root || !mountPoint) continue;
    let rel: string;
    if (root === '/') rel = cgPath;
    else if (cgPath === root || cgPath.startsWith(root + '/')) rel = cgPath.slice(root.length);
    else continue;
    return { dir: path.join(mountPoint, rel) };
  }
  return { error: `the ${what} is not mounted` };
}

interface Mechanism {
  /** cgroup v1: the hierarchies' parents of the job cgroups (null when not available). */
  memoryParent: string | null;
  pidsParent: string | null;
  /** cgroup v2: the parent of the job cgroups, each with memory and pids limits (null when not available). */
  unifiedParent: string | null;
  /** Why cgroup memory limits are not available (when neither is). */
  memoryWhyNot: string;
}

function words(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean);
  } catch {
    return [];
  }
}

/**
 * A cgroup v2 parent for the job cgroups, with memory and pids enabled for its children. If they are
 * not enabled yet, ecocheck moves itself into a leaf of its own cgroup first (cgroup v2 forbids
 * enabling controllers for children of a cgroup that holds processes) and enables them; when other
 * processes share that cgroup it gives up, saying how to start it in a delegated one.
 */
function probeUnifiedParent(): { dir: string } | { error: string } {
  const own = ownCgroupDir(null);
  if ('error' in own) return own;
  const available = words(path.join(own.dir, 'cgroup.controllers'));
  if (!available.includes('memory')) return { error: `cgroup v2: the memory controller is not available in ${own.dir}` };
  const wanted = ['memory', ...(available.includes('pids') ? ['pids'] : [])];
  const enabled = () => words(path.join(own.dir, 'cgroup.subtree_control'));
  if (!wanted.every((c) => enabled().includes(c))) {
    const leaf = path.join(own.dir, `ecocheck-${process.pid}-main`);
    try {
      mkdirSync(leaf, { recursive: true });
      writeFileSync(path.join(leaf, 'cgroup.procs'), String(process.pid));
      writeFileSync(path.join(own.dir, 'cgroup.subtree_control'), wanted.map((c) => `+${c}`).join(' '));
    } catch (e) {
      try {
        writeFileSync(path.join(own.dir, 'cgroup.procs'), String(process.pid));
        rmdirSync(leaf);
      } catch {
        // stays in the leaf: harmless
      }
      return {
        error: `cgroup v2: cannot enable ${wanted.join(' and ')} for the jobs under ${own.dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); start ecocheck in a delegated cgroup, e.g. systemd-run --user --scope -p Delegate=yes ecocheck …`,
      };
    }
  }
  const probe = path.join(own.dir, `ecocheck-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    try {
      writeFileSync(path.join(probe, 'memory.max'), String(64 * 1024 * 1024));
    } finally {
      rmdirSync(probe);
    }
  } catch (e) {
    return { error: `cgroup v2: ${own.dir} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  removeStaleCgroups(own.dir);
  return own;
}

let mechanism: Mechanism | null = null;
let counter = 0;

/** Checks (once) whether we may create child cgroups and write their limits. */
function probeParent(controller: 'memory' | 'pids'): { dir: string } | { error: string } {
  const own = ownCgroupDir(controller);
  if ('error' in own) return own;
  const probe = path.join(own.dir, `ecocheck-probe-${process.pid}`);
  try {
    mkdirSync(probe);
    try {
      if (controller === 'memory') writeFileSync(path.join(probe, 'memory.limit_in_bytes'), String(64 * 1024 * 1024));
      else writeFileSync(path.join(probe, 'pids.max'), '64');
    } finally {
      rmdirSync(probe);
    }
  } catch (e) {
    return { error: `${own.dir} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  removeStaleCgroups(own.dir);
  return own;
}

/** Removes empty job cgroups left by ecocheck processes that no longer exist. */
function removeStaleCgroups(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^ecocheck-(\d+)-\d+$/.exec(name);
    if (!m || Number(m[1]) === process.pid || existsSync(`/proc/${m[1]}`)) continue;
    try {
      rmdirSync(path.join(parent, name));
    } catch {
      // still has processes, or gone already
    }
  }
}

function getMechanism(): Mechanism {
  if (mechanism) return mechanism;
  // ECOCHECK_MEMORY_LIMIT=rlimit chooses RLIMIT_AS even where cgroups are available.
  const forceRlimit = process.env.ECOCHECK_MEMORY_LIMIT === 'rlimit';
  const mem = forceRlimit ? { error: 'ECOCHECK_MEMORY_LIMIT=rlimit' } : probeParent('memory');
  const pids = probeParent('pids');
  // cgroup v2 where v1 has no memory controller (a machine has one or the other for memory).
  const unified = forceRlimit || 'dir' in mem ? null : probeUnifiedParent();
  mechanism = {
    memoryParent: 'dir' in mem ? mem.dir : null,
    pidsParent: 'dir' in pids ? pids.dir : null,
    unifiedParent: unified !== null && 'dir' in unified ? unified.dir : null,
    memoryWhyNot: 'error' in mem ? (unified !== null && 'error' in unified ? `${mem.error}; ${unified.error}` : mem.error) : '',
  };
  return mechanism;
}

/** Says how a memory limit of `memoryBytes` would be enforced for a job on this machine. */
export function describeLimits(memoryBytes: number): string {
  const m = getMechanism();
  const size = formatBytes(memoryBytes);
  if (m.memoryParent) return `memory limit ${size} via cgroup v1`;
  if (m.unifiedParent) return `memory limit ${size} via cgroup v2`;
  return `memory limit ${size} via RLIMIT_AS (address space; ${m.memoryWhyNot})`;
}

/** Says whether the job's process count is limited on this machine. */
export function describeProcessLimit(maxProcesses: number): string {
  const m = getMechanism();
  if (m.pidsParent) return `process limit ${maxProcesses} via cgroup v1 pids`;
  if (m.unifiedParent && words(path.join(m.unifiedParent, 'cgroup.subtree_control')).includes('pids'))
    return `process limit ${maxProcesses} via cgroup v2 pids`;
  return 'no process limit (no writable cgroup pids controller)';
}

function readProcs(dir: string): number[] {
  try {
    return readFileSync(path.join(dir, 'cgroup.procs'), 'utf8')
      .split('\n')
      .filter((s) => s !== '')
      .map(Number);
  } catch {
    return [];
  }
}

function readKeyed(file: string): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const [k, v] = line.trim().split(/\s+/);
      if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
    }
  } catch {
    // not available
  }
  return out;
}

function readNumber(file: string): number | null {
  try {
    const s = readFileSync(file, 'utf8').trim();
    return /^\d+$/.test(s) ? Number(s) : null;
  } catch {
    return null;
  }
}

/** The shell wrapper: stderr to stdout, join each cgroup (files before `--`), set rlimits, exec the command. */
const WRAPPER_SCRIPT_HEAD =
  'exec 2>&1; while [ "$1" != -- ]; do echo $$ > "$1" || { echo "ecocheck: cannot join cgroup $1" >&2; exit 125; }; shift; done; shift; ';

/** `ulimit -f` counts 512-byte blocks in POSIX shells (dash; bash as sh). */
function fileSizeBlocks(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 512));
}

export async function prepareLimits(req: LimitRequest): Promise<PreparedLimits> {
  const m = getMechanism();
  const id = `ecocheck-${process.pid}-${++counter}`;
  const created: string[] = [];
  const joinFiles: string[] = [];
  const described: string[] = [];
  let memDir: string | null = null;
  let pidsDir: string | null = null;
  let rlimitKiB: number | null = null;

  let unifiedDir: string | null = null;
  try {
    if (m.unifiedParent && !m.memoryParent) {
      unifiedDir = path.join(m.unifiedParent, id);
      mkdirSync(unifiedDir);
      created.push(unifiedDir);
      const hasPids = existsSync(path.join(unifiedDir, 'pids.max'));
      if (req.memoryBytes !== undefined) {
        writeFileSync(path.join(unifiedDir, 'memory.max'), String(req.memoryBytes));
        try {
          writeFileSync(path.join(unifiedDir, 'memory.swap.max'), '0'); // no swapping past the limit
        } catch {
          // no swap accounting
        }
        described.push(describeLimits(req.memoryBytes));
      }
      if (hasPids && req.maxProcesses !== undefined) {
        writeFileSync(path.join(unifiedDir, 'pids.max'), String(req.maxProcesses));
        described.push(describeProcessLimit(req.maxProcesses));
      }
      joinFiles.push(path.join(unifiedDir, 'cgroup.procs'));
    }
    if (req.memoryBytes !== undefined && !unifiedDir) {
      if (m.memoryParent) {
        memDir = path.join(m.memoryParent, id);
        mkdirSync(memDir);
        created.push(memDir);
        writeFileSync(path.join(memDir, 'memory.limit_in_bytes'), String(req.memoryBytes));
        try {
          // Where swap is accounted, the limit covers memory+swap too (no swapping past the limit).
          writeFileSync(path.join(memDir, 'memory.memsw.limit_in_bytes'), String(req.memoryBytes));
        } catch {
          // no swap accounting
        }
        joinFiles.push(path.join(memDir, 'cgroup.procs'));
      } else {
        rlimitKiB = Math.max(1, Math.floor(req.memoryBytes / 1024));
      }
      described.push(describeLimits(req.memoryBytes));
    }
    if (m.pidsParent) {
      pidsDir = path.join(m.pidsParent, id);
      mkdirSync(pidsDir);
      created.push(pidsDir);
      if (req.maxProcesses !== undefined) writeFileSync(path.join(pidsDir, 'pids.max'), String(req.maxProcesses));
      joinFiles.push(path.join(pidsDir, 'cgroup.procs'));
      if (req.maxProcesses !== undefined) described.push(describeProcessLimit(req.maxProcesses));
    }
  } catch (e) {
    for (const d of created.reverse()) {
      try {
        rmdirSync(d);
      } catch {
        // ignore
      }
    }
    throw new Error(`cannot set up the job's cgroups: ${(e as Error).message}`, { cause: e });
  }

  if (req.fileSizeBytes !== undefined) described.push(`file size limit ${formatBytes(req.fileSizeBytes)} via RLIMIT_FSIZE`);
  const wrapperArgv = [
    '/bin/sh',
    '-c',
    WRAPPER_SCRIPT_HEAD +
      (rlimitKiB !== null ? `ulimit -v ${rlimitKiB} || exit 125; ` : '') +
      (req.fileSizeBytes !== undefined ? `ulimit -f ${fileSizeBlocks(req.fileSizeBytes)} || exit 125; ` : '') +
      'exec "$@"',
    'ecocheck-limits',
    ...joinFiles,
    '--',
  ];
  const dirs = [memDir, pidsDir, unifiedDir].filter((d): d is string => d !== null);
  /** The cgroup counting the job's processes (v1 pids, or v2 with pids enabled). */
  const countingDir = pidsDir ?? (unifiedDir && existsSync(path.join(unifiedDir, 'pids.max')) ? unifiedDir : null);
  /** Forks refused by the job's own limit, counted before killAll() lowered the limit to zero. */
  let refusedBeforeKill: number | null = null;
  const refusedForks = () => (countingDir ? (readKeyed(path.join(countingDir, 'pids.events')).get('max') ?? 0) : 0);

  return {
    wrapperArgv,
    description: described.join('; '),
    limitText: req.memoryBytes !== undefined ? formatBytes(req.memoryBytes) : '',
    killAll() {
      if (countingDir && refusedBeforeKill === null) {
        refusedBeforeKill = refusedForks();
        // No new processes from here on: a fork bomb cannot outrun the kill loop.
        try {
          writeFileSync(path.join(countingDir, 'pids.max'), '0');
        } catch {
          // ignore
        }
      }
      if (unifiedDir) {
        try {
          writeFileSync(path.join(unifiedDir, 'cgroup.kill'), '1'); // Linux 5.14+: the whole cgroup at once
        } catch {
          // older kernel: the loop below
        }
      }
      for (const d of dirs) {
        for (const pid of readProcs(d)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      }
    },
    isEmpty() {
      return dirs.every((d) => readProcs(d).length === 0);
    },
    counters() {
      const c: LimitCounters = { oomKills: 0, memoryFailures: 0, refusedForks: 0 };
      if (memDir) {
        c.oomKills += readKeyed(path.join(memDir, 'memory.oom_control')).get('oom_kill') ?? 0;
        c.memoryFailures += readNumber(path.join(memDir, 'memory.failcnt')) ?? 0;
      }
      if (unifiedDir && req.memoryBytes !== undefined) {
        const events = readKeyed(path.join(unifiedDir, 'memory.events'));
        c.oomKills += events.get('oom_kill') ?? 0;
        c.memoryFailures += events.get('max') ?? 0;
      }
      if (countingDir && req.maxProcesses !== undefined) c.refusedForks = refusedBeforeKill ?? refusedForks();
      return c;
    },
    collect(since?: LimitCounters) {
      const evidence: string[] = [];
      let oomKilled = false;
      // Counted from `since` (the commands before, in a job's one sandbox launch: sandbox-session.ts).
      const base = since ?? { oomKills: 0, memoryFailures: 0, refusedForks: 0 };
      if (memDir) {
        const oom = readKeyed(path.join(memDir, 'memory.oom_control'));
        const failcnt = (readNumber(path.join(memDir, 'memory.failcnt')) ?? 0) - base.memoryFailures;
        const peak = readNumber(path.join(memDir, 'memory.max_usage_in_bytes'));
        const kills = (oom.get('oom_kill') ?? 0) - base.oomKills;
        if (kills > 0) {
          oomKilled = true;
          evidence.push(
            `the kernel OOM killer killed ${kills} process${kills === 1 ? '' : 'es'} of the job at its ${formatBytes(req.memoryBytes ?? 0)} cgroup memory limit (memory.oom_control oom_kill ${kills}${failcnt > 0 ? `, memory.failcnt ${failcnt}` : ''}${peak !== null ? `, peak usage ${formatBytes(peak)}` : ''})`,
          );
        } else if (failcnt > 0) {
          evidence.push(`the job reached its ${formatBytes(req.memoryBytes ?? 0)} cgroup memory limit (memory.failcnt ${failcnt})`);
        }
      }
      if (unifiedDir && req.memoryBytes !== undefined) {
        const events = readKeyed(path.join(unifiedDir, 'memory.events'));
        const kills = (events.get('oom_kill') ?? 0) - base.oomKills;
        const max = (events.get('max') ?? 0) - base.memoryFailures;
        const peak = readNumber(path.join(unifiedDir, 'memory.peak'));
        if (kills > 0) {
          oomKilled = true;
          evidence.push(
            `the kernel OOM killer killed ${kills} process${kills === 1 ? '' : 'es'} of the job at its ${formatBytes(req.memoryBytes)} cgroup memory limit (memory.events oom_kill ${kills}${peak !== null ? `, peak usage ${formatBytes(peak)}` : ''})`,
          );
        } else if (max > 0) {
          evidence.push(`the job reached its ${formatBytes(req.memoryBytes)} cgroup memory limit (memory.events max ${max})`);
        }
      }
      if (countingDir && req.maxProcesses !== undefined) {
        const refused = (refusedBeforeKill ?? refusedForks()) - base.refusedForks;
        if (refused > 0) {
          evidence.push(
            `${refused} fork${refused === 1 ? ' was' : 's were'} refused at the job's limit of ${req.maxProcesses} processes (cgroup pids)`,
          );
        }
      }
      return { oomKilled, evidence };
    },
    cleanup() {
      for (const d of dirs) {
        for (let i = 0; i < 50; i++) {
          try {
            rmdirSync(d);
            break;
          } catch (e) {
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') break;
            // EBUSY: a dying process is still accounted; try again shortly
            const until = Date.now() + 10;
            while (Date.now() < until) {
              // brief spin; cleanup runs once per job after its processes were killed
            }
          }
        }
      }
    },
  };
}
