/**
 * The opam builder: builds one job the way opam builds a package into a switch.
 *
 * Every job sees one opam switch at one fixed path (switch-layout.ts), composed of the layers of its
 * whole build closure in build order over the empty switch (switch-mount.ts); what the job adds or
 * changes in the switch becomes its own layer, stored under its key (layer-store.ts). Commands run in
 * the sandbox as an unprivileged user, with opam's environment for that switch.
 *
 * Steps, in a fresh scratch directory per attempt (`buildRoot/NAME.VERSION-pidPID-START-XXXXXX`, removed
 * afterwards, or by the next builder when its process died: stale-scratch.ts):
 * 1. reuse: a complete layer for the key is returned at once;
 * 2. fetch: the `url` source (download cache first, every checksum verified, unpacked) or an empty
 *    directory, then each `extra-source`;
 * 3. prepare (`OpamAction.prepare_package_build`): extra-files copied and checked; substs of the
 *    files that are patches; the patches whose filter holds (`patch -p1`); the other substs;
 * 4. `build:` then `install:` commands, filtered and interpolated, each run in the build directory
 *    with the composed environment, through the process runner (timeout, memory limit, sandbox);
 * 5. `NAME.install` installed into the job's layer, `NAME.config` kept for `NAME:var` lookups;
 * 6. the layer sealed into the store and recorded complete; on any failure it is removed.
 * Outcome statuses: ok, fetch-failed, build-failed (a command of `build:`, a patch, a subst, an
 * extra-file), install-failed (`install:` commands or the `.install` file), timeout, out-of-memory,
 * internal-error (aborted, or an exception of ecocheck's own).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Builder, BuildOutcome, BuiltDependency } from './builder.js';
import { OPAM_BUILDER_VERSION, opamBuilderVersion } from './builder-version.js';
import type { Job } from '../plan/job.js';
import type { JobStatus } from '../results/taxonomy.js';
import { packageId } from '../opam/package-model.js';
import { OpamFormatError } from '../opam/parse-error.js';
import { runProcess, type ProcessResult } from './process-runner.js';
import { classifyFailure, type CommandPhase } from './failure-evidence.js';
import { extractFirstError, failingCommandOutput, FIRST_ERROR_NOTE } from './first-error.js';
import { MISSING_SYSTEM_PACKAGES, missingSystemPackages, requiredSystemPackages } from './system-packages.js';
import { BuildLog } from './build-log.js';
import { DownloadCache } from './download-cache.js';
import { fetchExtraSourceInto, fetchSourceInto, FetchError, type FetchContext } from './source-fetcher.js';
import { copyExtraFiles, ExtraFileError } from './extra-files.js';
import { applyPatches, selectedPatches } from './patches.js';
import { applySubsts } from './substs.js';
import { expandCommands } from './command-expansion.js';
import { installFromSpec, InstallError, readInstallFile } from './install-file.js';
import { installConfigFile, readInstalledConfig } from './package-config-file.js';
import { packageVariableLookup, type VariablePackage, type VariableScope } from './package-variables.js';
import { composeBuildEnvironment, SYSTEM_PATH, type EnvironmentPackage } from './build-environment.js';
import type { Environment } from './env-update.js';
import { completeLayer, discardLayer, emptySwitchLayer, isLayerComplete, layerPath, removeTree } from './layer-store.js';
import { removeStaleScratch, scratchPrefix } from './stale-scratch.js';
import { prepareSwitchMount, pruneUpper, removeSwitchMount, SwitchMountError, type SwitchMount } from './switch-mount.js';
import { SANDBOX_GID, SANDBOX_HOME, SANDBOX_UID, SWITCH_NAME, SWITCH_PREFIX, SWITCH_ROOT, switchBuildDir } from './switch-layout.js';
import { userDatabaseMounts, type SandboxSpec } from './sandbox.js';

export interface OpamBuilderOptions {
  /** Content-addressed layers: storeDir/<key>. */
  storeDir: string;
  /** Scratch build directories. */
  buildRoot: string;
  downloadCache: string;
  logDir: string;
  /**
   * Cores shared by the builds running at once: a job's `%{jobs}%` is this divided by the builds
   * running when it starts, so that a job built alone (the compiler, which everything waits on)
   * gets every core, and builds in parallel share them.
   */
  cores: number;
  /** os, arch, os-family, os-distribution, os-version… */
  platformVariables: Record<string, string>;
  /**
   * true: builds see the system directories only, no network, as an unprivileged user. false
   * (`--no-sandbox`): the host's filesystem (read-only) and the network. Either way the switch is
   * the job's own, composed of layers.
   */
  sandbox: boolean;
  /** Wall-clock budget of one job (all its commands together). */
  timeoutMs: number;
  memoryBytes: number;
  /** Processes (and threads) a job may have at once; default the process runner's. */
  maxProcesses?: number;
  /** opam's `archive-mirrors` (e.g. https://opam.ocaml.org/cache), tried after a source's url and mirrors. */
  archiveMirrors?: string[];
}

export { OPAM_BUILDER_VERSION, opamBuilderVersion };

/** A failure ending the job: its status, one-line reason and the command's exit code. */
class JobFailure extends Error {
  constructor(
    readonly status: JobStatus,
    readonly reason: string,
    readonly exitCode: number | null = null,
    /** The failed command's first error, when one was read from its output. */
    readonly firstError: string | null = null,
  ) {
    super(reason);
  }
}

function oneLine(s: string, max = 400): string {
  const line = s.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * The first error of a failed command: from its whole output in the job's log (from the command's
 * `$ ` start marker, see first-error.ts), else from the runner's tail of its output.
 */
export function firstErrorLine(output: string, logPath?: string): string | null {
  if (logPath !== undefined) {
    const log = readLogEnd(logPath);
    const fromLog = log === null ? null : extractFirstError(failingCommandOutput(log));
    if (fromLog !== null) return fromLog;
  }
  return extractFirstError(output);
}

/** The end of a job's log, at most 8 MiB (a failing command's output is read from its start marker). */
function readLogEnd(logPath: string): string | null {
  try {
    const text = readFileSync(logPath);
    const max = 8 * 1024 * 1024;
    return (text.length > max ? text.subarray(text.length - max) : text).toString('utf8');
  } catch {
    return null;
  }
}

function commandText(argv: string[]): string {
  const text = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/**
 * Turns a failed command's result into the job's failure (status via the failure classifier); its
 * first error is read from the command's output in the log at `logPath`.
 */
function commandFailure(result: ProcessResult, phase: CommandPhase, argv: string[], logPath?: string): JobFailure {
  const c = classifyFailure(result, phase);
  const status = c.status === 'ok' ? (phase === 'fetch' ? 'fetch-failed' : phase === 'build' ? 'build-failed' : 'install-failed') : c.status;
  const errorLine = status === 'build-failed' || status === 'install-failed' || status === 'fetch-failed' ? firstErrorLine(result.outputTail, logPath) : null;
  const reason = `${c.reason || `${phase} failed`} at \`${commandText(argv)}\`${errorLine ? `: ${errorLine}` : ''}`;
  return new JobFailure(status, oneLine(reason), result.exitCode, errorLine);
}

function logFileName(job: Job): string {
  return `${job.id}-${job.key.slice(0, 16)}.log`;
}

async function buildJob(
  options: OpamBuilderOptions,
  job: Job,
  closure: BuiltDependency[],
  signal: AbortSignal,
  makeJobs: number,
): Promise<BuildOutcome> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const pkg = job.package;
  const logPath = join(options.logDir, logFileName(job));

  if (isLayerComplete(options.storeDir, job.key)) {
    return {
      status: 'ok',
      reason: '',
      exitCode: 0,
      durationMs: elapsed(),
      logPath: existsSync(logPath) ? logPath : null,
      logTail: '',
      firstError: null,
      missingSystemPackages: [],
      prefix: layerPath(options.storeDir, job.key),
    };
  }

  // A dependency's layer must be there (a cached result whose layer was deleted would otherwise
  // give a baffling build failure).
  const missing = closure.find((d) => !d.layer || !existsSync(d.layer));
  if (missing) {
    return {
      status: 'internal-error',
      reason: `the layer of dependency ${missing.job.id} is missing (${missing.layer || 'none recorded'}): rebuild it`,
      exitCode: null,
      durationMs: elapsed(),
      logPath: null,
      logTail: '',
      firstError: null,
      missingSystemPackages: [],
      prefix: null,
    };
  }

  const log = new BuildLog(logPath);
  log.line(`# ecocheck ${OPAM_BUILDER_VERSION}: building ${job.id} (job ${job.key})`);
  log.line(`# started ${new Date().toISOString()}; closure: ${closure.map((d) => d.job.id).join(' ') || '(none)'}`);

  mkdirSync(options.buildRoot, { recursive: true });
  const scratch = mkdtempSync(scratchPrefix(options.buildRoot, job.id));
  // The host side of what the sandbox shows: the source tree (the build directory), HOME, /tmp.
  const buildDir = join(scratch, 'build');
  const home = join(scratch, 'home');
  const tmpDir = join(scratch, 'tmp');
  for (const d of [buildDir, home, tmpDir]) mkdirSync(d, { recursive: true });
  const sandboxBuildDir = switchBuildDir(packageId(pkg));

  let mount: SwitchMount | null = null;
  let lastExit: number | null = null;
  let missingSystem: string[] = [];
  let sealed: string | null = null;
  // The verdicts go to the caller as data (firstError, missingSystemPackages); the log's notes are for people.
  const finish = (status: JobStatus, reason: string, exitCode: number | null, firstError: string | null = null): BuildOutcome => {
    log.line(`# ${status}${reason ? `: ${reason}` : ''} (${elapsed()} ms)`);
    return {
      status,
      reason,
      exitCode,
      durationMs: elapsed(),
      logPath,
      logTail: log.tail(),
      firstError,
      missingSystemPackages: [...missingSystem],
      prefix: status === 'ok' ? sealed : null,
    };
  };

  try {
    discardLayer(options.storeDir, job.key);
    try {
      const incoming = join(options.storeDir, '.incoming');
      mkdirSync(incoming, { recursive: true });
      mount = prepareSwitchMount(join(scratch, 'switch'), [emptySwitchLayer(options.storeDir), ...closure.map((d) => d.layer)], mkdtempSync(join(incoming, `${process.pid}-${job.id}-`)));
    } catch (e) {
      if (e instanceof SwitchMountError) throw new JobFailure('internal-error', oneLine(e.message));
      throw e;
    }
    const upper = mount.upper;
    log.line(`# switch: ${SWITCH_PREFIX}, ${mount.layers.length} layers (the empty switch and the closure)`);

    // Variables: the closure as installed packages, the job itself as being built; one switch, one prefix.
    const byKey = new Map<string, BuiltDependency>(closure.map((d) => [d.job.key, d]));
    const idsOf = (keys: string[]) => keys.map((k) => byKey.get(k)?.job.id).filter((x): x is string => x !== undefined);
    const installed = new Map<string, VariablePackage>();
    for (const d of closure) {
      installed.set(d.job.package.name, {
        pkg: d.job.package,
        key: d.job.key,
        prefix: SWITCH_PREFIX,
        dependencyIds: idsOf(d.job.dependencies),
        config: readInstalledConfig(d.layer, d.job.package.name),
        installed: true,
        buildDir: null,
      });
    }
    const scopeBase = {
      installed,
      makeJobs,
      platformVariables: options.platformVariables,
      root: SWITCH_ROOT,
      switchName: SWITCH_NAME,
    };
    const selfPackage: VariablePackage = {
      pkg,
      key: job.key,
      prefix: SWITCH_PREFIX,
      dependencyIds: idsOf(job.dependencies),
      config: new Map(),
      installed: false,
      buildDir: sandboxBuildDir,
      runTests: job.runTests === true,
    };
    const lookup = packageVariableLookup({ ...scopeBase, self: selfPackage } satisfies VariableScope);
    // System packages: recorded now, and named first if the build then fails.
    const wantedSystem = requiredSystemPackages(pkg, lookup);
    const lacking = missingSystemPackages(wantedSystem, options.platformVariables);
    if (wantedSystem.length > 0) {
      log.line(`# depexts: ${wantedSystem.join(' ')}${lacking === null ? ' (not checked on this host)' : lacking.length > 0 ? `; not installed: ${lacking.join(' ')}` : ' (all installed)'}`);
    }
    missingSystem = lacking ?? [];
    const envPackages: EnvironmentPackage[] = closure.map((d) => {
      const self = installed.get(d.job.package.name) as VariablePackage;
      return {
        name: d.job.package.name,
        version: d.job.package.version,
        setenv: d.job.package.setenv,
        lookup: packageVariableLookup({ ...scopeBase, self }),
      };
    });
    const env: Environment = composeBuildEnvironment({
      name: pkg.name,
      version: pkg.version,
      prefix: SWITCH_PREFIX,
      root: SWITCH_ROOT,
      switchName: SWITCH_NAME,
      buildEnv: pkg.buildEnv,
      lookup,
      closure: envPackages,
      home: SANDBOX_HOME,
      tmpDir: '/tmp',
    });

    const remaining = () => options.timeoutMs - elapsed();
    const user = { uid: SANDBOX_UID, gid: SANDBOX_GID, name: 'opam', home: SANDBOX_HOME };
    // The job's sandbox: HOME, the switch at its fixed path, the build directory inside it (as opam's).
    const jobSandbox = (cwd: string): SandboxSpec => ({
      writable: [],
      readonly: [],
      network: !options.sandbox,
      hostFilesystem: options.sandbox ? undefined : 'writable',
      tmp: tmpDir,
      user: options.sandbox ? user : undefined,
      mounts: [
        { source: home, target: SANDBOX_HOME, writable: true },
        { source: (mount as SwitchMount).mountPoint, target: SWITCH_PREFIX, writable: true },
        { source: buildDir, target: sandboxBuildDir, writable: true },
        ...(options.sandbox ? userDatabaseMounts(join(scratch, 'etc'), user) : []),
      ],
      cwd: cwd === buildDir ? sandboxBuildDir : cwd.startsWith(buildDir + '/') ? sandboxBuildDir + cwd.slice(buildDir.length) : cwd,
    });
    const run = async (argv: string[], cwd: string, phase: CommandPhase): Promise<ProcessResult> => {
      if (signal.aborted) throw new JobFailure('internal-error', `${phase} aborted (the run was interrupted)`);
      const left = remaining();
      if (left <= 0) throw new JobFailure('timeout', `${phase} timed out: the job's ${options.timeoutMs} ms budget is spent`);
      const inSwitch = phase !== 'fetch';
      const result = await runProcess({
        argv,
        cwd,
        env: inSwitch ? env : fetchEnv(home),
        logFile: logPath,
        timeoutMs: left,
        memoryBytes: options.memoryBytes,
        maxProcesses: options.maxProcesses,
        sandbox: inSwitch
          ? jobSandbox(cwd)
          : { writable: [scratch], readonly: [options.downloadCache, ...localSources(pkg)], network: true, hostFilesystem: 'read-only', tmp: tmpDir },
        wrapperArgv: inSwitch ? (mount as SwitchMount).wrapperArgv : undefined,
        signal,
      });
      lastExit = result.exitCode;
      // Every piece of evidence goes into the log (the job's reason quotes only the decisive one).
      if (result.exitCode !== 0 || result.signal !== null || result.timedOut || result.outOfMemory || result.diskFull) {
        for (const e of result.evidence) log.line(`# evidence: ${e}`);
      }
      return result;
    };
    const checkTool = (result: ProcessResult, phase: CommandPhase, argv: string[]): void => {
      if (result.aborted || result.timedOut || result.outOfMemory) throw commandFailure(result, phase, argv);
    };

    // Fetch.
    log.section('fetch');
    const fetchCtx: FetchContext = {
      cache: new DownloadCache(options.downloadCache),
      scratch: join(scratch, 'fetch'),
      run: async (argv, cwd) => {
        const r = await run(argv, cwd, 'fetch');
        checkTool(r, 'fetch', argv);
        return r;
      },
      log: (l) => log.line(l),
      signal,
      timeoutMs: Math.max(1, remaining()),
      archiveMirrors: options.archiveMirrors,
    };
    try {
      mkdirSync(buildDir, { recursive: true });
      if (pkg.url) await fetchSourceInto(pkg.url, buildDir, fetchCtx);
      else log.line('no url: building in an empty directory');
      for (const es of pkg.extraSources) await fetchExtraSourceInto(es.name, es.url, buildDir, fetchCtx);
    } catch (e) {
      if (e instanceof FetchError) {
        if (signal.aborted) throw new JobFailure('internal-error', 'fetch aborted (the run was interrupted)');
        throw new JobFailure('fetch-failed', oneLine(`fetch failed: ${e.message}`));
      }
      throw e;
    } finally {
      rmSync(fetchCtx.scratch, { recursive: true, force: true });
    }

    // Prepare.
    log.section('prepare');
    try {
      const copied = copyExtraFiles(pkg, buildDir);
      if (copied.length > 0) log.line(`extra-files: ${copied.join(' ')}`);
    } catch (e) {
      if (e instanceof ExtraFileError) throw new JobFailure('build-failed', oneLine(`${job.id}: ${e.message}`));
      throw e;
    }
    const patchNames = new Set(pkg.patches.map((p) => p.value));
    const logLine = (l: string) => log.line(l);
    const substFailures = applySubsts(pkg.substs.filter((s) => patchNames.has(s)), buildDir, lookup, logLine);
    const patchFailures = await applyPatches(
      selectedPatches(pkg.patches, lookup),
      buildDir,
      async (argv, cwd) => {
        const r = await run(argv, cwd, 'build');
        checkTool(r, 'build', argv);
        return r;
      },
      logLine,
    );
    substFailures.push(...applySubsts(pkg.substs.filter((s) => !patchNames.has(s)), buildDir, lookup, logLine));
    if (patchFailures.length > 0) {
      const first = patchFailures[0];
      const detail = first.result ? firstErrorLine(first.result.outputTail) : null;
      throw new JobFailure(
        'build-failed',
        oneLine(`${patchFailures.map((f) => f.message).join('; ')}${detail ? `: ${detail}` : ''}`),
        first.result?.exitCode ?? null,
        detail,
      );
    }
    if (substFailures.length > 0) {
      throw new JobFailure('build-failed', oneLine(`substitution failed: ${substFailures.map((f) => f.message).join('; ')}`));
    }

    // Build and install commands.
    // Tests run between build and install, as opam runs them (`--with-test` targets only); a failing
    // test fails the build.
    for (const [section, phase, commands] of [
      ['build', 'build', pkg.build],
      ['test', 'build', job.runTests === true ? pkg.runTest : []],
      ['install', 'install', pkg.install],
    ] as const) {
      if (section === 'test' && commands.length === 0) continue;
      log.section(section);
      for (const argv of expandCommands(commands, lookup)) {
        const result = await run(argv, buildDir, phase);
        const c = classifyFailure(result, phase);
        if (c.status !== 'ok') throw commandFailure(result, phase, argv, logPath);
      }
    }

    // .install and .config files.
    log.section('install files');
    const installFile = join(buildDir, `${pkg.name}.install`);
    if (existsSync(installFile)) {
      try {
        const spec = readInstallFile(installFile);
        const { installed: files } = installFromSpec(spec, buildDir, upper, pkg.name, logLine);
        log.line(`${pkg.name}.install: ${files.length} file(s) installed`);
      } catch (e) {
        if (e instanceof InstallError || e instanceof OpamFormatError) {
          throw new JobFailure('install-failed', oneLine(e.message));
        }
        throw e;
      }
    }
    try {
      if (installConfigFile(buildDir, upper, pkg.name)) log.line(`${pkg.name}.config kept`);
    } catch (e) {
      if (e instanceof OpamFormatError) throw new JobFailure('install-failed', oneLine(`${pkg.name}.config: ${e.message}`));
      throw e;
    }

    if (signal.aborted) throw new JobFailure('internal-error', 'aborted (the run was interrupted)');
    pruneUpper(upper);
    sealed = completeLayer(options.storeDir, upper, {
      id: job.id,
      key: job.key,
      builder: OPAM_BUILDER_VERSION,
      finishedAt: new Date().toISOString(),
      durationMs: elapsed(),
      logPath,
    });
    return finish('ok', '', lastExit ?? 0);
  } catch (e) {
    discardLayer(options.storeDir, job.key);
    if (e instanceof JobFailure) {
      // For people reading the log (the outcome carries it as data): the same as the reason's.
      if (e.firstError !== null) log.line(`# ${FIRST_ERROR_NOTE} ${e.firstError}`);
      const exitCode = e.exitCode ?? (e.status === 'internal-error' ? null : lastExit);
      if (missingSystem.length > 0 && (e.status === 'build-failed' || e.status === 'install-failed')) {
        // For people reading the log (the outcome carries them as data).
        log.line(`# ${MISSING_SYSTEM_PACKAGES} ${missingSystem.join(' ')}`);
        return finish(e.status, oneLine(`${MISSING_SYSTEM_PACKAGES} ${missingSystem.join(' ')}; ${e.reason}`), exitCode, e.firstError);
      }
      return finish(e.status, e.reason, exitCode, e.firstError);
    }
    const message = e instanceof Error ? e.message : String(e);
    log.line(`internal error: ${e instanceof Error && e.stack ? e.stack : message}`);
    return finish('internal-error', oneLine(`internal error while building ${job.id}: ${message}`), null);
  } finally {
    try {
      if (mount) removeSwitchMount(mount);
      removeTree(scratch); // builds may leave read-only directories behind
    } catch (e) {
      log.line(`warning: could not remove the build directory ${scratch}: ${(e as Error).message}`);
    }
  }
}

/**
 * Host paths the fetch step reads besides the download cache: local sources (`file://`, `git+file://`,
 * plain paths), which the fetch sandbox's private /tmp would otherwise hide.
 */
function localSources(pkg: Job['package']): string[] {
  const out: string[] = [];
  for (const src of [pkg.url?.src, ...pkg.extraSources.map((e) => e.url.src)]) {
    if (src === undefined) continue;
    const url = /^(?:git\+)?file:\/\/(\/[^#]*)/.exec(src);
    // A file:// URL is percent-encoded (a pinned directory's, `pathToFileURL`): the host path is decoded.
    if (url) out.push(decodeURIComponent(url[1]));
    else if (/^\/[^#]*/.test(src)) out.push(/^\/[^#]*/.exec(src)![0]);
  }
  return out;
}

/** Fetching runs outside the switch, with the network: a minimal environment of its own. */
function fetchEnv(home: string): Environment {
  return { PATH: SYSTEM_PATH, HOME: home, TMPDIR: '/tmp', LANG: 'C.UTF-8', SHELL: '/bin/sh' };
}

/** Removes the unfinished layers that builds of ecocheck processes no longer running left behind (kill -9). */
function removeStaleIncoming(storeDir: string): void {
  const incoming = join(storeDir, '.incoming');
  if (!existsSync(incoming)) return;
  for (const name of readdirSync(incoming)) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && !existsSync(`/proc/${pid}`)) removeTree(join(incoming, name));
  }
}

export function createOpamBuilder(options: OpamBuilderOptions): Builder {
  removeStaleIncoming(options.storeDir);
  removeStaleScratch(options.buildRoot);
  let running = 0;
  return {
    version: opamBuilderVersion(options.sandbox),
    build: async (job, closure, signal) => {
      running++;
      try {
        return await buildJob(options, job, closure, signal, Math.max(1, Math.floor(options.cores / running)));
      } finally {
        running--;
      }
    },
  };
}
