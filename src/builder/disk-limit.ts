/**
 * A job's disk limit: the space and the inodes (files, folders, links…) its own folders hold, counted
 * together: the build folder (unpacked sources, build output, HOME, /tmp), its upper directory (what
 * it adds to the switch: its future layer) and the fetch scratch (downloads, unpacking).
 *
 * The folders are walked with lstat only (a symbolic link is counted as itself, never followed; nothing
 * is opened but folders), space as the blocks a file really holds (`st_blocks × 512`: a sparse file
 * counts what it holds, a hard-linked file once). While the job runs, a watcher walks them again and
 * again, waiting after each walk `max(500 ms, 20 × the walk's time)` (at most 15 s): a big tree costs
 * about 5% of one core, a small one is looked at twice a second. A walk gives the event loop back every few
 * thousand entries, and stops as soon as it has counted past a limit (a tree of ten million files
 * costs no more than one just past the limit). When over, the watcher aborts its signal, which the
 * builder hands to every command (killed at once) and to the in-process download; the builder also
 * checks after each host-side step (install processing copies files into the layer as root).
 *
 * Between two walks a single file could grow by a lot: the limits wrapper also sets RLIMIT_FSIZE to
 * the disk limit (resource-limits.ts), so no file of the job grows past it.
 */
import { performance } from 'node:perf_hooks';
import { formatBytes, formatUsageBytes } from '../units/byte-size.js';
import { treeEntries, UsageTally } from './tree-usage.js';

export interface DiskLimits {
  /** Space, in bytes. */
  diskBytes: number;
  /** Inodes: every file, folder, link and special file. */
  inodes: number;
}

/** `--disk`'s default: more than any real opam package needs (the compiler's build is about 1 GiB). */
export const DEFAULT_DISK_BYTES = 20 * 1024 ** 3;
/**
 * `--inodes`' default. The OCaml compiler's build folder holds about 10,000 entries, the biggest
 * packages of opam-repository (a vendored LLVM, Coq's libraries) a few hundred thousand: one million is
 * ample for any of them. Space alone does not bound inodes (empty files take none): one million is a
 * quarter of the inodes of a 64 GiB ext4 file system (one per 16 KiB), so a job creating empty files
 * by the million is stopped long before it exhausts the inode table of a build machine's disk.
 */
export const DEFAULT_INODES = 1_000_000;

/** The shortest wait between two walks of a job's folders. */
export const MIN_WATCH_INTERVAL_MS = 500;
/**
 * The longest: a tree so big that 20 walks take longer (half a million files) is still looked at every
 * 15 s, however much of a core that takes, so that it cannot grow unseen for minutes.
 */
export const MAX_WATCH_INTERVAL_MS = 15_000;
/** A walk costs at most 1/WATCH_COST_FACTOR of the time between walks. */
export const WATCH_COST_FACTOR = 20;
/** Entries walked between two returns to the event loop. */
const YIELD_EVERY = 2000;

export interface DiskUsage {
  bytes: number;
  inodes: number;
  /** False when the walk stopped early, past a limit: the counts are then lower bounds. */
  complete: boolean;
  /** How long the walk took. */
  walkMs: number;
}

/** A job over its limit: which one, the usage seen, and the sentence for its log and reason. */
export interface DiskExcess {
  limit: 'disk' | 'inodes';
  usage: DiskUsage;
  message: string;
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The space and inodes under `roots` (each root included), walked without following links. With
 * `stopAbove`, the walk ends at its next pause (every `yieldEvery` entries) once a count is past its limit. With `yieldEvery`, it returns to the
 * event loop after that many entries (0: never, a synchronous walk wrapped in a promise).
 */
export async function measureDiskUsage(
  roots: readonly string[],
  options: { stopAbove?: DiskLimits; yieldEvery?: number } = {},
): Promise<DiskUsage> {
  const started = performance.now();
  const yieldEvery = options.yieldEvery ?? YIELD_EVERY;
  const stop = options.stopAbove;
  const tally = new UsageTally();
  let sinceYield = 0;
  for (const st of treeEntries(roots)) {
    tally.add(st);
    // Every few thousand entries: past a limit, the walk ends (the counts then lower bounds); else the
    // event loop is given back.
    if (++sinceYield >= (yieldEvery > 0 ? yieldEvery : YIELD_EVERY)) {
      sinceYield = 0;
      if (stop !== undefined && (tally.bytes > stop.diskBytes || tally.inodes > stop.inodes)) {
        return { bytes: tally.bytes, inodes: tally.inodes, complete: false, walkMs: performance.now() - started };
      }
      if (yieldEvery > 0) await yieldToEventLoop();
    }
  }
  return { bytes: tally.bytes, inodes: tally.inodes, complete: true, walkMs: performance.now() - started };
}

function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** The excess of `usage` over `limits`, or null. Space first: it is what hurts a machine most. */
export function diskExcess(usage: DiskUsage, limits: DiskLimits): DiskExcess | null {
  const atLeast = usage.complete ? '' : 'at least ';
  if (usage.bytes > limits.diskBytes) {
    return {
      limit: 'disk',
      usage,
      message: `the job used ${atLeast}${formatUsageBytes(usage.bytes)} of disk, over its --disk limit of ${formatBytes(limits.diskBytes)}`,
    };
  }
  if (usage.inodes > limits.inodes) {
    return {
      limit: 'inodes',
      usage,
      message: `the job used ${atLeast}${formatCount(usage.inodes)} inodes (files, folders, links), over its --inodes limit of ${formatCount(limits.inodes)}`,
    };
  }
  return null;
}

/** The wait after a walk that took `walkMs`. */
export function watchInterval(walkMs: number): number {
  return Math.min(MAX_WATCH_INTERVAL_MS, Math.max(MIN_WATCH_INTERVAL_MS, WATCH_COST_FACTOR * walkMs));
}

/**
 * Watches one job's folders while it runs (see the module comment). `signal` is aborted when the job
 * is over a limit; `exceeded` then says how. Folders may be added as the job creates them.
 */
export class DiskWatcher {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;
  private walking: Promise<void> | null = null;
  private readonly roots: string[];
  exceeded: DiskExcess | null = null;
  /** The last walk's figures (for the log and the benchmark). */
  lastUsage: DiskUsage | null = null;
  walks = 0;

  constructor(
    roots: readonly string[],
    readonly limits: DiskLimits,
  ) {
    this.roots = [...roots];
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  addRoot(root: string): void {
    if (!this.roots.includes(root)) this.roots.push(root);
  }

  /** Starts the periodic walks (the first one after the shortest interval). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(MIN_WATCH_INTERVAL_MS);
  }

  /** Stops the periodic walks, waiting for one under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.walking !== null) await this.walking;
  }

  /** Walks the folders now: the excess (also recorded, and the signal aborted), or null. */
  async check(): Promise<DiskExcess | null> {
    if (this.exceeded !== null) return this.exceeded;
    const usage = await measureDiskUsage(this.roots, { stopAbove: this.limits });
    this.walks++;
    this.lastUsage = usage;
    const excess = diskExcess(usage, this.limits);
    if (excess !== null && this.exceeded === null) {
      this.exceeded = excess;
      this.controller.abort(new Error(excess.message));
    }
    return this.exceeded;
  }

  private schedule(delayMs: number): void {
    if (this.stopped || this.exceeded !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.walking = this.check()
        .catch(() => null)
        .then(() => {
          this.walking = null;
          const walkMs = this.lastUsage?.walkMs ?? 0;
          this.schedule(watchInterval(walkMs));
        });
    }, delayMs);
    this.timer.unref();
  }
}
