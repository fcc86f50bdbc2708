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
 * disk-limit (its folders over `--disk`/`--inodes`, disk-limit.ts), internal-error (aborted, or an
 * exception of ecocheck's own). The timeout and the disk limit hold for every step, host-side ones
 * included: the budget and the disk are checked after each.
 */
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Builder, BuildOutcome, BuiltDependency } from './builder.js';
import { OPAM_BUILDER_VERSION, opamBuilderVersion } from './builder-version.js';
import type { Job } from '../plan/job.js';
import type { JobStatus } from '../results/taxonomy.js';
import { packageId } from '../opam/package-model.js';
import { OpamFormatError } from '../opam/parse-error.js';
import { runProcess, type ProcessResult } from './process-runner.js';
import { createSandboxSession, sessionSupported, type SandboxSession } from './sandbox-session.js';
import { classifyFailure, type CommandPhase } from './failure-evidence.js';
import { extractFirstError, failingCommandOutput, FIRST_ERROR_NOTE } from './first-error.js';
import { MISSING_SYSTEM_PACKAGES, missingSystemPackages, requiredSystemPackages } from './system-packages.js';
import { BuildLog } from './build-log.js';
import { DEFAULT_DISK_BYTES, DEFAULT_INODES, DiskWatcher } from './disk-limit.js';
import { formatBytes } from '../units/byte-size.js';
import { DownloadCache } from './download-cache.js';
import { fetchExtraSourceInto, fetchSourceInto, FetchError, type FetchContext } from './source-fetcher.js';
import { copyExtraFiles, ExtraFileError } from './extra-files.js';
import { applyPatches, selectedPatches } from './patches.js';
import { applySubsts } from './substs.js';
import { expandCommands } from './command-expansion.js';
import { installFromSpec, InstallError, readBuildInstallFile } from './install-file.js';
import { ConfigFileError, installConfigFile, readInstalledConfig } from './package-config-file.js';
import { UnsafePathError } from './confined-path.js';
import { packageVariableLookup, type VariablePackage, type VariableScope } from './package-variables.js';
import { composeBuildEnvironment, SYSTEM_PATH, type EnvironmentPackage } from './build-environment.js';
import type { Environment } from './env-update.js';
import { dedupeLayer } from './layer-dedupe.js';
import { LocalLayerStore, removeTreeAsync, type LayerStore } from './layer-store.js';
import { removeStaleScratch, scratchPrefix } from './stale-scratch.js';
import { prepareSwitchMount, pruneUpper, removeSwitchMountAsync, SwitchMountError, type SwitchMount } from './switch-mount.js';
import { SANDBOX_HOME, SWITCH_NAME, SWITCH_PREFIX, SWITCH_ROOT, switchBuildDir } from './switch-layout.js';
import { userDatabaseMounts, SANDBOX_HOME_NAME, type Sandbox, type SandboxMode, type SandboxSpec, type SandboxUser } from './sandbox.js';
import { bubblewrap } from './bubblewrap.js';
import { buildOwner, handOver, sandboxIds } from './build-user.js';
import { printableLine, printableText } from './printable-text.js';
import { LocalSourcePolicy } from '../plan/local-source-policy.js';
import { hashDirectory } from '../plan/files-hash.js';

export interface OpamBuilderOptions {
  /** Content-addressed layers: storeDir/<key> (its `.incoming` holds the layers being built). */
  storeDir: string;
  /** The layers, by job key (default: the local folder `storeDir`). */
  layers?: LayerStore;
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
   * `confined`: builds see the system directories only, no network, as an unprivileged user. `host`
   * (`--no-sandbox`): the host's filesystem (with ecocheck's rights) and the network. Either way the
   * switch is the job's own, composed of layers, and mounted by the sandbox.
   */
  sandboxMode: SandboxMode;
  /** The sandbox implementation running every command of a job (default: bubblewrap). */
  sandbox?: Sandbox;
  /** Wall-clock budget of one job (all its commands together). */
  timeoutMs: number;
  memoryBytes: number;
  /** Processes (and threads) a job may have at once; default the process runner's. */
  maxProcesses?: number;
  /** Disk space of a job's folders (build folder, layer, fetch scratch); default DEFAULT_DISK_BYTES. */
  diskBytes?: number;
  /** Inodes of a job's folders; default DEFAULT_INODES. */
  inodes?: number;
  /** opam's `archive-mirrors` (e.g. https://opam.ocaml.org/cache), tried after a source's url and mirrors. */
  archiveMirrors?: string[];
  /**
   * The folders a package's local sources (`file://`, `git+file://`, absolute paths) may be read from:
   * the repositories and pins the user gave and `--allow-local-sources` (plan/local-source-policy.ts);
   * any other local source is refused (fetch-failed) before it is read.
   */
  localSourceRoots: readonly string[];
  /**
   * `http(s)://HOST[:PORT]` origins the user named (`--allow-local-sources`): a source without a checksum
   * may be downloaded from them although they are not on the public internet (http-download.ts).
   */
  privateOrigins?: readonly string[];
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
export function firstErrorLine(output: string, log?: BuildLog): string | null {
  if (log !== undefined) {
    const fromLog = extractFirstError(failingCommandOutput(log.readBack(0, LOG_END_BYTES)));
    if (fromLog !== null) return fromLog;
  }
  return extractFirstError(output);
}

/** How much of a job's log's end is read for a failing command's output (from its start marker). */
const LOG_END_BYTES = 8 * 1024 * 1024;

function commandText(argv: string[]): string {
  const text = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a))).join(' ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/**
 * Turns a failed command's result into the job's failure (status via the failure classifier); its
 * first error is read from the command's output in the job's `log`.
 */
function commandFailure(result: ProcessResult, phase: CommandPhase, argv: string[], log?: BuildLog): JobFailure {
  const c = classifyFailure(result, phase);
  const status =
    c.status === 'ok' ? (phase === 'fetch' ? 'fetch-failed' : phase === 'build' ? 'build-failed' : 'install-failed') : c.status;
  const errorLine =
    status === 'build-failed' || status === 'install-failed' || status === 'fetch-failed' ? firstErrorLine(result.outputTail, log) : null;
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
  const sourcePolicy = new LocalSourcePolicy(options.localSourceRoots);

  const layers = options.layers ?? new LocalLayerStore(options.storeDir);
  if (layers.complete(job.key)) {
    return {
      status: 'ok',
      reason: '',
      exitCode: 0,
      durationMs: elapsed(),
      logPath: existsSync(logPath) ? logPath : null,
      logTail: '',
      firstError: null,
      missingSystemPackages: [],
      prefix: layers.pathOf(job.key),
    };
  }

  // A dependency's layer must be complete in the store (a cached result whose layer was deleted would
  // otherwise give a baffling build failure).
  const missing = closure.find((d) => !layers.complete(d.job.key));
  if (missing) {
    return {
      status: 'internal-error',
      reason: `the layer of dependency ${missing.job.id} is missing (${layers.pathOf(missing.job.key)}): rebuild it`,
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
  // The disk limit: the scratch (build folder, HOME, /tmp, fetch scratch) and, once made, the upper.
  const diskLimits = { diskBytes: options.diskBytes ?? DEFAULT_DISK_BYTES, inodes: options.inodes ?? DEFAULT_INODES };
  const watcher = new DiskWatcher([scratch], diskLimits);
  watcher.start();
  const jobSignal = AbortSignal.any([signal, watcher.signal]);
  log.line(
    `# disk limit ${formatBytes(diskLimits.diskBytes)} and ${diskLimits.inodes.toLocaleString('en-US')} inodes (build folder, layer, downloads), watched while the job runs`,
  );
  // The host side of what the sandbox shows: the source tree (the build directory), HOME, /tmp.
  const buildDir = join(scratch, 'build');
  const home = join(scratch, 'home');
  const tmpDir = join(scratch, 'tmp');
  for (const d of [buildDir, home, tmpDir]) mkdirSync(d, { recursive: true });
  const sandboxBuildDir = switchBuildDir(packageId(pkg));
  // When ecocheck is root, every command of the job runs as the build user (fetching included, even
  // with --no-sandbox, where the build commands keep ecocheck's rights): what it writes is handed to it.
  const fetchOwner = buildOwner();
  const confined = options.sandboxMode === 'confined';
  const owner = confined ? fetchOwner : null;
  // The opam root in HOME holds the switch's mount point; the user's, as opam's root is (bwrap would make it root's).
  mkdirSync(join(home, '.opam'));
  handOver(home, owner);

  let mount: SwitchMount | null = null;
  let session: SandboxSession | null = null;
  const endSession = async (): Promise<void> => {
    const s = session;
    session = null;
    await s?.close();
  };
  let lastExit: number | null = null;
  let missingSystem: string[] = [];
  let sealed: string | null = null;
  // The verdicts go to the caller as data (firstError, missingSystemPackages); the log's notes are for people.
  const finish = (status: JobStatus, reason: string, exitCode: number | null, firstError: string | null = null): BuildOutcome => {
    log.line(`# ${status}${reason ? `: ${reason}` : ''} (${elapsed()} ms)`);
    // What the package printed is quoted by every report: no control sequence of its own goes with it.
    return {
      status,
      reason: printableLine(reason),
      exitCode,
      durationMs: elapsed(),
      logPath,
      logTail: printableText(log.tail()),
      firstError: firstError === null ? null : printableLine(firstError),
      missingSystemPackages: [...missingSystem],
      prefix: status === 'ok' ? sealed : null,
    };
  };

  try {
    if (fetchOwner) log.line(`# commands run as ${fetchOwner.description}`);
    layers.begin(job.key);
    try {
      const incoming = join(options.storeDir, '.incoming');
      mkdirSync(incoming, { recursive: true });
      const lowers = [layers.emptySwitch(owner), ...closure.map((d) => layers.pathOf(d.job.key))];
      if (owner) {
        // A build writes the directories of the layers below it: they are the build user's. A state
        // folder copied without its owners (cp -r, a cache restored as root) has them root's: given back.
        for (const layer of lowers) {
          const st = lstatSync(layer);
          if (st.uid === owner.uid && st.gid === owner.gid) continue;
          log.line(`# the layer ${layer} is not the build user's (a copied state folder?): handing it over`);
          handOver(layer, owner, true);
        }
      }
      mount = prepareSwitchMount(join(scratch, 'switch'), lowers, mkdtempSync(scratchPrefix(incoming, job.id)), owner);
    } catch (e) {
      if (e instanceof SwitchMountError) throw new JobFailure('internal-error', oneLine(e.message));
      throw e;
    }
    const upper = mount.upper;
    watcher.addRoot(mount.incoming);
    log.line(`# switch: ${SWITCH_PREFIX}, ${mount.layers.length} layers (the empty switch and the closure)`);

    // Variables: the closure as installed packages, the job itself as being built; one switch, one prefix.
    const byKey = new Map<string, BuiltDependency>(closure.map((d) => [d.job.key, d]));
    const idsOf = (keys: string[]) => keys.map((k) => byKey.get(k)?.job.id).filter((x): x is string => x !== undefined);
    const installed = new Map<string, VariablePackage>();
    for (const d of closure) {
      let config: ReturnType<typeof readInstalledConfig>;
      try {
        config = readInstalledConfig(layers.pathOf(d.job.key), d.job.package.name);
      } catch (e) {
        if (e instanceof ConfigFileError)
          throw new JobFailure('internal-error', oneLine(`the layer of dependency ${d.job.id} is damaged (${e.message}): rebuild it`));
        throw e;
      }
      installed.set(d.job.package.name, {
        pkg: d.job.package,
        key: d.job.key,
        prefix: SWITCH_PREFIX,
        dependencyIds: idsOf(d.job.dependencies),
        config,
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
      log.line(
        `# depexts: ${wantedSystem.join(' ')}${lacking === null ? ' (not checked on this host)' : lacking.length > 0 ? `; not installed: ${lacking.join(' ')}` : ' (all installed)'}`,
      );
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
    /** Throws the job's end when its folders went over a limit. */
    const overDiskLimit = (during: string): void => {
      if (watcher.exceeded === null) return;
      log.line(`# evidence: ${watcher.exceeded.message}`);
      throw new JobFailure('disk-limit', oneLine(`${watcher.exceeded.message} (during ${during})`));
    };
    /** After a host-side step: the disk walked now, and the time budget. */
    const checkLimits = async (step: string): Promise<void> => {
      await watcher.check();
      overDiskLimit(step);
      if (remaining() <= 0) throw new JobFailure('timeout', `${step} timed out: the job's ${options.timeoutMs} ms budget is spent`);
    };
    // `opam` inside: the build user's own uid when ecocheck is root, uid 1000 of a user namespace otherwise.
    const user: SandboxUser = { ...sandboxIds(), name: 'opam', home: SANDBOX_HOME };
    // The job's sandbox: HOME, the switch at its fixed path, the build directory inside it (as opam's).
    const jobSandbox = (cwd: string): SandboxSpec => ({
      writable: [],
      readonly: [],
      network: !confined,
      hostFilesystem: confined ? undefined : 'writable',
      tmp: tmpDir,
      user: confined ? user : undefined,
      mounts: [
        { source: home, target: SANDBOX_HOME, writable: true },
        { source: (mount as SwitchMount).mountPoint, target: SWITCH_PREFIX, writable: true },
        { source: buildDir, target: sandboxBuildDir, writable: true },
        ...(confined ? userDatabaseMounts(join(scratch, 'etc'), user) : []),
      ],
      cwd: cwd === buildDir ? sandboxBuildDir : cwd.startsWith(buildDir + '/') ? sandboxBuildDir + cwd.slice(buildDir.length) : cwd,
    });
    // Fetching and unpacking: the system directories, the fetch scratch (writable), the download cache
    // and the local sources (read-only, at their own paths), the network; as the build user.
    const fetchScratch = join(scratch, 'fetch');
    const fetchUser: SandboxUser | undefined = fetchOwner
      ? { ...sandboxIds(), name: 'opam', home: join(fetchScratch, SANDBOX_HOME_NAME) }
      : undefined;
    // git refuses a local repository its user does not own (yours, or root's) unless told otherwise: its
    // global configuration says so, kept outside what the build user may write, shown read-only.
    const fetchEtc = join(scratch, 'fetch-etc');
    const gitConfig = join(fetchEtc, 'gitconfig');
    const fetchMounts = fetchUser
      ? [...userDatabaseMounts(fetchEtc, fetchUser), { source: gitConfig, target: gitConfig, writable: false }]
      : [];
    if (fetchUser) writeFileSync(gitConfig, '[safe]\n\tdirectory = *\n');
    const fetchSandbox = (): SandboxSpec => ({
      writable: [fetchScratch],
      readonly: [options.downloadCache, ...sourcePolicy.allowedPaths(pkg)],
      network: true,
      tmp: tmpDir,
      user: fetchUser,
      mounts: fetchMounts,
    });
    const sandboxImplementation = options.sandbox ?? bubblewrap;
    session = sessionSupported(sandboxImplementation)
      ? createSandboxSession({
          cwd: buildDir,
          env,
          logFile: logPath,
          log,
          fileSizeBytes: diskLimits.diskBytes,
          memoryBytes: options.memoryBytes,
          maxProcesses: options.maxProcesses,
          sandbox: jobSandbox(buildDir),
          sandboxImplementation,
          wrapperArgv: mount.wrapperArgv,
          signal: jobSignal,
        })
      : null;
    const run = async (argv: string[], cwd: string, phase: CommandPhase): Promise<ProcessResult> => {
      overDiskLimit(`${phase}, before \`${commandText(argv)}\``);
      if (signal.aborted) throw new JobFailure('internal-error', `${phase} aborted (the run was interrupted)`);
      const left = remaining();
      if (left <= 0) throw new JobFailure('timeout', `${phase} timed out: the job's ${options.timeoutMs} ms budget is spent`);
      const inSwitch = phase !== 'fetch';
      // What ecocheck put in the fetch scratch (downloads, the extraction folder) is the build user's.
      if (!inSwitch && fetchUser) handOver(fetchScratch, fetchOwner);
      // In the switch, commands share the job's one sandbox launch where the sandbox allows it.
      const result =
        inSwitch && session !== null && cwd === buildDir
          ? await session.run(argv, left)
          : await runProcess({
              argv,
              cwd,
              env: inSwitch ? env : fetchEnv(home, fetchUser ? gitConfig : null),
              logFile: logPath,
              log,
              fileSizeBytes: diskLimits.diskBytes,
              timeoutMs: left,
              memoryBytes: options.memoryBytes,
              maxProcesses: options.maxProcesses,
              sandbox: inSwitch ? jobSandbox(cwd) : fetchSandbox(),
              sandboxImplementation,
              wrapperArgv: inSwitch ? (mount as SwitchMount).wrapperArgv : undefined,
              signal: jobSignal,
            });
      lastExit = result.exitCode;
      overDiskLimit(`${phase}, at \`${commandText(argv)}\``);
      // Every piece of evidence goes into the log (the job's reason quotes only the decisive one).
      if (
        result.exitCode !== 0 ||
        result.signal !== null ||
        result.timedOut ||
        result.outOfMemory ||
        result.diskFull ||
        result.fileSizeExceeded === true
      ) {
        for (const e of result.evidence) log.line(`# evidence: ${e}`);
      }
      return result;
    };
    const checkTool = (result: ProcessResult, phase: CommandPhase, argv: string[]): void => {
      if (result.aborted || result.timedOut || result.outOfMemory || result.fileSizeExceeded === true)
        throw commandFailure(result, phase, argv);
    };

    // Fetch: a local source outside the folders the user named is refused before anything is read.
    log.section('fetch');
    const refusal = sourcePolicy.refusal(pkg);
    if (refusal !== null) throw new JobFailure('fetch-failed', oneLine(`fetch failed: ${refusal}`));
    const fetchCtx: FetchContext = {
      cache: new DownloadCache(options.downloadCache),
      scratch: fetchScratch,
      run: async (argv, cwd) => {
        const r = await run(argv, cwd, 'fetch');
        checkTool(r, 'fetch', argv);
        return r;
      },
      log: (l) => log.line(l),
      signal: jobSignal,
      // Each download gets what is left of the job's budget when it starts.
      get timeoutMs() {
        return Math.max(1, remaining());
      },
      archiveMirrors: options.archiveMirrors,
      privateOrigins: options.privateOrigins,
    };
    try {
      mkdirSync(buildDir, { recursive: true });
      if (pkg.url) await fetchSourceInto(pkg.url, buildDir, fetchCtx);
      else log.line('no url: building in an empty directory');
      for (const es of pkg.extraSources) await fetchExtraSourceInto(es.name, es.url, buildDir, fetchCtx);
    } catch (e) {
      if (e instanceof FetchError) {
        overDiskLimit('fetch');
        if (signal.aborted) throw new JobFailure('internal-error', 'fetch aborted (the run was interrupted)');
        if (remaining() <= 0)
          throw new JobFailure('timeout', oneLine(`fetch timed out: the job's ${options.timeoutMs} ms budget is spent: ${e.message}`));
        throw new JobFailure('fetch-failed', oneLine(`fetch failed: ${e.message}`));
      }
      // A link leading out of the build directory, a special file: the package's own defect.
      if (e instanceof UnsafePathError) throw new JobFailure('build-failed', oneLine(`${job.id}: ${e.message}`));
      throw e;
    } finally {
      rmSync(fetchCtx.scratch, { recursive: true, force: true });
    }
    await checkLimits('fetch');
    // A source without a checksum: its key could not cover what the server sent; the log says what it was.
    if ([...(pkg.url ? [pkg.url] : []), ...pkg.extraSources.map((e) => e.url)].some((u) => u.checksums.length === 0)) {
      log.line(`# fetched without a checksum: content ${hashDirectory(buildDir) || '(empty)'} (sha256 of the build directory as fetched)`);
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
    const substFailures = applySubsts(
      pkg.substs.filter((s) => patchNames.has(s)),
      buildDir,
      lookup,
      logLine,
      sandboxBuildDir,
    );
    // What ecocheck wrote into the build directory (sources, extra-files, substs) is the build user's.
    const patches = selectedPatches(pkg.patches, lookup);
    if (patches.length > 0) handOver(buildDir, owner);
    const patchFailures = await applyPatches(
      patches,
      buildDir,
      async (argv, cwd) => {
        const r = await run(argv, cwd, 'build');
        checkTool(r, 'build', argv);
        return r;
      },
      logLine,
      sandboxBuildDir,
    );
    substFailures.push(
      ...applySubsts(
        pkg.substs.filter((s) => !patchNames.has(s)),
        buildDir,
        lookup,
        logLine,
        sandboxBuildDir,
      ),
    );
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
    await checkLimits('prepare');

    // Build and install commands.
    handOver(buildDir, owner);
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
        if (c.status !== 'ok') throw commandFailure(result, phase, argv, log);
      }
    }

    // The switch's overlay is unmounted (the session ended) before ecocheck writes into its upper directory.
    await endSession();

    // .install and .config files.
    log.section('install files');
    try {
      const spec = readBuildInstallFile(buildDir, pkg.name, sandboxBuildDir);
      if (spec) {
        const { installed: files } = installFromSpec(spec, buildDir, upper, pkg.name, logLine, sandboxBuildDir);
        log.line(`${pkg.name}.install: ${files.length} file(s) installed`);
      }
    } catch (e) {
      if (e instanceof InstallError || e instanceof OpamFormatError) {
        throw new JobFailure('install-failed', oneLine(e.message));
      }
      throw e;
    }
    try {
      if (installConfigFile(buildDir, upper, pkg.name, sandboxBuildDir)) log.line(`${pkg.name}.config kept`);
      // What the layer will hold for its dependents (the build may have written it in the switch itself).
      readInstalledConfig(upper, pkg.name);
    } catch (e) {
      if (e instanceof OpamFormatError) throw new JobFailure('install-failed', oneLine(`${pkg.name}.config: ${e.message}`));
      if (e instanceof ConfigFileError) throw new JobFailure('install-failed', oneLine(e.message));
      throw e;
    }

    await checkLimits('install files');
    if (signal.aborted) throw new JobFailure('internal-error', 'aborted (the run was interrupted)');
    // The build folder and the like go to the job's incoming folder, removed with it off the event loop.
    pruneUpper(upper, mount.incoming);
    sealed = layers.commit(
      upper,
      {
        id: job.id,
        key: job.key,
        builder: OPAM_BUILDER_VERSION,
        finishedAt: new Date().toISOString(),
        durationMs: elapsed(),
        logPath,
      },
      owner,
    );
    try {
      const shared = dedupeLayer(options.storeDir, sealed);
      if (shared.linked > 0)
        log.line(
          `# layer: ${shared.linked} of ${shared.files} file(s) already stored by other layers, linked (${Math.round(shared.bytesSaved / 1024)} KiB saved)`,
        );
    } catch (e) {
      // Sharing files is an economy: the layer is complete and usable without it.
      log.line(`# layer: files not shared with other layers: ${e instanceof Error ? e.message : String(e)}`);
    }
    return finish('ok', '', lastExit ?? 0);
  } catch (e) {
    layers.remove(job.key);
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
    await endSession();
    await watcher.stop();
    try {
      // Off the event loop: the other builds running go on while this one's folders go.
      await Promise.all([mount ? removeSwitchMountAsync(mount) : null, removeTreeAsync(scratch)]); // builds may leave read-only directories behind
    } catch (e) {
      log.line(`warning: could not remove the build directory ${scratch}: ${(e as Error).message}`);
    }
    log.close();
  }
}

/** Fetching runs outside the switch, with the network: a minimal environment of its own (and git's configuration). */
function fetchEnv(home: string, gitConfig: string | null): Environment {
  return {
    PATH: SYSTEM_PATH,
    HOME: home,
    TMPDIR: '/tmp',
    LANG: 'C.UTF-8',
    SHELL: '/bin/sh',
    ...(gitConfig ? { GIT_CONFIG_GLOBAL: gitConfig } : {}),
  };
}

export function createOpamBuilder(options: OpamBuilderOptions): Builder {
  // What builds of ecocheck processes no longer running left (kill -9): scratch folders and unfinished layers.
  removeStaleScratch(options.buildRoot);
  removeStaleScratch(join(options.storeDir, '.incoming'));
  let running = 0;
  return {
    version: opamBuilderVersion(options.sandboxMode, options.sandbox ?? bubblewrap),
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
