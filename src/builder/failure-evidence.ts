/**
 * Why a build command failed, decided from evidence: the runner's observations (timeout, cgroup OOM
 * kills, signals) and well-known messages in the command's output. Each decision carries the
 * evidence that made it, so a report can say "out of memory" and show why it believes so.
 */
import type { JobStatus } from '../results/taxonomy.js';
import type { ProcessResult } from './process-result.js';

export type CommandPhase = 'fetch' | 'build' | 'install';

export interface OutputEvidence {
  outOfMemory: boolean;
  diskFull: boolean;
  networkDenied: boolean;
  evidence: string[];
}

const OUT_OF_MEMORY = [
  /Cannot allocate memory/i,
  /xmalloc: cannot allocate/,
  /\bOut of memory\b/i,
  /\bout of memory allocating\b/,
  /virtual memory exhausted/,
  /std::bad_alloc/,
  /\bMemoryError\b/,
  /Killed signal terminated program/,
];
const DISK_FULL = [/No space left on device/, /Disk quota exceeded/];
const NETWORK = [
  /Network is unreachable/,
  /Could(?: not|n't) resolve host/,
  /Temporary failure in name resolution/,
  /Name or service not known/,
  /No address associated with hostname/,
  /getaddrinfo\b.*\b(?:EAI_AGAIN|ENOTFOUND)\b/,
];

function firstMatch(lines: string[], patterns: RegExp[]): { pattern: RegExp; line: string } | null {
  for (const line of lines) {
    for (const pattern of patterns) if (pattern.test(line)) return { pattern, line };
  }
  return null;
}

function describeMatch(m: { pattern: RegExp; line: string }): string {
  const line = m.line.trim();
  const shown = line.length > 200 ? `${line.slice(0, 200)}…` : line;
  return `output says: ${shown}`;
}

/** Looks for memory, disk and network failures in a command's output. */
export function scanOutputEvidence(output: string): OutputEvidence {
  const lines = output.split('\n');
  const evidence: string[] = [];
  const oom = firstMatch(lines, OUT_OF_MEMORY);
  const disk = firstMatch(lines, DISK_FULL);
  const net = firstMatch(lines, NETWORK);
  if (oom) evidence.push(describeMatch(oom));
  if (disk) evidence.push(describeMatch(disk));
  if (net) evidence.push(describeMatch(net));
  return { outOfMemory: oom !== null, diskFull: disk !== null, networkDenied: net !== null, evidence };
}

const PHASE_FAILED: Record<CommandPhase, JobStatus> = {
  fetch: 'fetch-failed',
  build: 'build-failed',
  install: 'install-failed',
};

function exitText(result: ProcessResult): string {
  if (result.signal !== null) return `killed by ${result.signal}`;
  if (result.exitCode !== null && result.exitCode > 128 && result.exitCode < 160) {
    return `exit code ${result.exitCode} (killed by signal ${result.exitCode - 128})`;
  }
  return `exit code ${result.exitCode}`;
}

/**
 * The job status for one command's result in `phase`. A successful command (exit 0, nothing
 * flagged) gives `ok`. A file grown to the job's file size limit (RLIMIT_FSIZE, its `--disk`) is
 * `disk-limit`. A full disk (the machine's, not the job's limit) has no status of its own in the
 * taxonomy: it is an `internal-error` (the machine's fault, not the package's), with the evidence.
 */
export function classifyFailure(result: ProcessResult, phase: CommandPhase): { status: JobStatus; reason: string; evidence: string[] } {
  const evidence = result.evidence;
  const why = evidence.length > 0 ? `: ${evidence[0]}` : '';
  if (result.aborted) return { status: 'internal-error', reason: `${phase} aborted (the run was interrupted)`, evidence };
  if (result.timedOut) return { status: 'timeout', reason: `${phase} timed out${why}`, evidence };
  if (result.fileSizeExceeded === true) {
    const limit = evidence.find((e) => e.includes('RLIMIT_FSIZE')) ?? 'a file reached the file size limit';
    return { status: 'disk-limit', reason: `${phase} went over the disk limit: ${limit}`, evidence };
  }
  if (result.outOfMemory) {
    const mem = evidence.find((e) => /memory|OOM/i.test(e)) ?? evidence[0] ?? 'out of memory';
    return { status: 'out-of-memory', reason: `${phase} ran out of memory: ${mem}`, evidence };
  }
  if (result.diskFull) {
    const disk = evidence.find((e) => /No space left|quota/i.test(e)) ?? 'no space left on device';
    return { status: 'internal-error', reason: `disk full during ${phase}: ${disk}`, evidence };
  }
  if (result.exitCode === null && result.signal === null) {
    return { status: 'internal-error', reason: `the ${phase} command could not be run${why}`, evidence };
  }
  if (result.exitCode === 0 && result.signal === null) return { status: 'ok', reason: '', evidence };
  if (result.networkDenied) {
    const net = evidence.find((e) => /unreachable|resolve|name resolution|service not known|hostname|getaddrinfo/i.test(e));
    return {
      status: PHASE_FAILED[phase],
      reason: `${phase} failed (${exitText(result)}) after trying to access the network, which the build sandbox denies${net ? `: ${net}` : ''}`,
      evidence,
    };
  }
  if (result.exitCode === 127 && evidence.some((e) => e.startsWith('command not found'))) {
    return { status: PHASE_FAILED[phase], reason: `${phase} failed: ${evidence.find((e) => e.startsWith('command not found'))}`, evidence };
  }
  return { status: PHASE_FAILED[phase], reason: `${phase} failed: ${exitText(result)}`, evidence };
}
