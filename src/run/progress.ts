/**
 * Progress of a run. On a TTY: one live line (done / total, running, failed, cache hits, ETA from the
 * build durations so far), with each failure printed above it. Without a TTY (CI): one plain line per
 * finished job.
 */
import type { Job } from '../plan/job.js';
import type { JobRecord } from '../results/job-record.js';
import { formatSeconds } from '../units/duration.js';

export interface ProgressOutput {
  write(s: string): unknown;
  isTTY?: boolean;
}

export class ProgressReporter {
  private done = 0;
  private running = 0;
  private failed = 0;
  private cacheHits = 0;
  private buildMsTotal = 0;
  private builds = 0;
  private lastDraw = 0;
  private drawn = false;
  private readonly t0 = Date.now();

  constructor(
    private readonly out: ProgressOutput,
    private readonly total: number,
    private readonly concurrency: number,
    private readonly live = out.isTTY === true,
  ) {}

  started(_job: Job): void {
    this.running++;
    if (this.live) this.draw(false);
  }

  finished(r: JobRecord): void {
    this.done++;
    if (!r.cached && r.status !== 'dependency-failed') {
      this.running = Math.max(0, this.running - 1);
      if (r.durationMs !== null) {
        this.buildMsTotal += r.durationMs;
        this.builds++;
      }
    }
    if (r.cached) this.cacheHits++;
    if (r.status !== 'ok') this.failed++;
    if (this.live) {
      if (r.status !== 'ok' && !r.cached && r.status !== 'dependency-failed') {
        this.clear();
        this.out.write(`${r.status.padEnd(14)} ${r.job.id}: ${r.reason}\n`);
      }
      this.draw(false);
    } else {
      const what = r.cached ? `${r.status} (cached)` : r.status;
      const detail = r.status === 'ok' ? '' : `: ${r.reason}`;
      const time = r.durationMs !== null && !r.cached ? ` ${(r.durationMs / 1000).toFixed(1)}s` : '';
      this.out.write(`[${this.done}/${this.total}] ${what} ${r.job.id}${time}${detail}\n`);
    }
  }

  /** Estimated seconds left: the jobs not yet final times the mean build time, spread over the workers. */
  etaSeconds(): number | null {
    if (this.builds === 0) return null;
    const left = this.total - this.done;
    return (left * (this.buildMsTotal / this.builds)) / Math.max(1, this.concurrency) / 1000;
  }

  line(): string {
    const eta = this.etaSeconds();
    const elapsed = Math.round((Date.now() - this.t0) / 1000);
    return (
      `${this.done}/${this.total} done, ${this.running} running, ${this.failed} failed, ${this.cacheHits} cached, ` +
      `${formatSeconds(elapsed)} elapsed` +
      (eta === null ? '' : `, ETA ${formatSeconds(Math.round(eta))}`)
    );
  }

  close(): void {
    if (this.live) {
      this.draw(true);
      this.out.write('\n');
    }
  }

  private clear(): void {
    if (this.drawn) this.out.write('\r\x1b[2K');
  }

  private draw(force: boolean): void {
    const now = Date.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.out.write(`\r\x1b[2K${this.line()}`);
    this.drawn = true;
  }
}
