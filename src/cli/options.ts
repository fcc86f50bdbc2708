/**
 * The flags verbs share, declared once, and what they become: the session's requests and settings.
 * `FLAG_OF_SETTING` is the one place where a setting of the application (as errors name it) meets
 * the flag a user types.
 *
 * Every verb's definition imports this module to declare its flags, so it loads no module of the
 * layers below the CLI (only their types): `ecocheck --version` and `--help` load the definitions alone.
 */
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import type { CommandRequest } from '../session/command-context.js';
import type { PlanRequest } from '../session/plan-preparation.js';
import type { BuildSettings } from '../session/run-execution.js';
import type { StatePaths } from '../session/state-paths.js';
import { UsageError } from './usage-error.js';
import { archiveMirrorAddress, parseBytes, parseDuration, parsePositiveInt } from './argument-parsers.js';

/**
 * builder/process-runner.ts's DEFAULT_MAX_PROCESSES, the default of `--processes`, spelled here so that
 * declaring the flag loads no builder module (tests/cli/lazy-loading.test.ts checks that they agree).
 */
export const DEFAULT_MAX_PROCESSES = 1024;

/**
 * builder/disk-limit.ts's DEFAULT_DISK_BYTES and DEFAULT_INODES, the defaults of `--disk` and `--inodes`,
 * spelled here for the same reason (tests/builder/disk-limit.test.ts checks that they agree).
 */
export const DEFAULT_DISK = '20G';
export const DEFAULT_INODES = 1_000_000;

export const FLAG_OF_SETTING: Readonly<Record<string, string>> = {
  repository: '--repo',
  config: '--config',
  compiler: '--compiler',
  env: '--env',
  depexts: '--depexts',
  stateDir: '--state-dir',
  cacheDir: '--cache-dir',
  run: '--run',
  against: '--against',
  regressed: '--regressed',
  pin: '--pin',
  revdeps: '--revdeps',
  revdepsDepth: '--revdeps-depth',
  shard: '--shard',
  durations: '--durations',
  changedSince: '--changed-since',
  importPath: 'cache import',
  runners: '--runners',
  cores: '--cores',
  allowLocalSources: '--allow-local-sources',
  keepRun: '--keep-run',
  compilerTree: '--compiler-tree',
  good: '--good',
  bad: '--bad',
  fromRun: '--from-run',
};

/** commander's reducer for a flag given several times (`--repo A --repo B`): the values in order. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

const DEPEXTS_HELP =
  'system packages (depexts): host (the default where the package manager is known: a package whose depexts have no candidate is not installable), install (host, and install the missing ones before building), ignore (the host is not asked)';

export interface RepositoryOptions {
  repo: string[];
  config?: string;
}

/** `--repo` (repeatable, first wins) and `--config`. */
export function addRepositoryOptions(cmd: Command, withConfig = true): Command {
  cmd.option('--repo <dir>', 'an opam repository; repeat to layer several, the first wins', collect, []);
  return withConfig ? cmd.option('--config <file>', 'the project config (default: ./ecocheck.json when present)') : cmd;
}

export function addCompilerOption(cmd: Command): Command {
  return cmd.option(
    '--compiler <spec>',
    'the compiler: a version (5.3.0), NAME.VERSION, an opam formula, a local source tree (./ocaml), or a name: baseline, next, system, or one of ecocheck.json',
  );
}

export interface PlatformOptions {
  env: string[];
  withTest?: boolean;
  depexts?: string;
  pin: string[];
}

/** `--env`, `--with-test`, `--depexts`: what the solver is asked besides the compiler. */
export function addPlatformOptions(cmd: Command): Command {
  return cmd
    .option('--env <var=value>', 'set or override a platform variable', collect, [])
    .option('--with-test', "include the targets' with-test dependencies")
    .option('--depexts <mode>', DEPEXTS_HELP)
    .option(
      '--pin <name=dir|url>',
      "as opam pin: NAME's source (and its opam file, if it has one) from DIR or URL; NAME.VERSION=… sets the version; repeatable",
      collect,
      [],
    );
}

export interface SelectionOptions {
  latest?: boolean;
  allVersions?: boolean;
}

export function addSelectionOptions(cmd: Command): Command {
  return cmd
    .option('--latest', 'the newest installable version of every package (the default)')
    .option('--all-versions', 'every version of every package');
}

export interface PlanOptions extends RepositoryOptions, PlatformOptions, SelectionOptions {
  compiler?: string;
  allowLocalSources?: string[];
}

/**
 * `--allow-local-sources DIR|ORIGIN`: a package's `file://` (and `git+file://`) sources may be read from
 * DIR too, besides the repositories and pins given; any other is refused (fetch-failed). An
 * `http(s)://HOST[:PORT]` origin: sources without a checksum may be downloaded from it although it is not
 * on the public internet. On `plan`, `check` and `rerun` (which also allows again what its run allowed).
 */
export function addLocalSourcesOption(cmd: Command): Command {
  return cmd.option(
    '--allow-local-sources <dir|origin>',
    "a folder packages' file:// sources may be read from, besides the repositories and pins given (any other local source is refused), or an http(s)://HOST[:PORT] on a private network that sources without a checksum may be downloaded from; repeatable",
    collect,
    [],
  );
}

/** The options `plan` and `check` share: targets, repositories, compiler, selection, platform, local sources. */
export function addPlanOptions(cmd: Command): Command {
  cmd.argument('[targets...]', "packages to check, NAME or NAME.VERSION (default: the config's, else --latest)");
  return addLocalSourcesOption(addPlatformOptions(addSelectionOptions(addCompilerOption(addRepositoryOptions(cmd)))));
}

export function selectionOf(opts: SelectionOptions): PlanRequest['selection'] {
  return opts.latest === true ? 'latest' : opts.allVersions === true ? 'all-versions' : undefined;
}

export function planRequest(targets: readonly string[], opts: PlanOptions): PlanRequest {
  const modes = [targets.length > 0, opts.latest === true, opts.allVersions === true].filter(Boolean).length;
  if (modes > 1) throw new UsageError('give either targets, --latest or --all-versions, not several');
  return {
    targets,
    selection: selectionOf(opts),
    compiler: opts.compiler,
    env: opts.env,
    withTest: opts.withTest === true,
    depexts: opts.depexts,
    allowLocalSources: opts.allowLocalSources ?? [],
  };
}

/** What the command reads (`--repo`, `--config`, `--pin`), for its context (session/command-context.ts). */
export function workspaceRequest(opts: RepositoryOptions & { pin?: string[] }): Pick<CommandRequest, 'repositories' | 'config' | 'pins'> {
  return { repositories: opts.repo, config: opts.config, pins: opts.pin ?? [] };
}

export interface StateOptions {
  stateDir?: string;
  cacheDir?: string;
}

/** `--durations FILE`: the durations every shard of a check splits its plan with (check --shard, plan --predict). */
export function addDurationsOption(cmd: Command, what: string): Command {
  return cmd.option(
    '--durations <file>',
    `${what}: split the plan by the build durations in FILE (ecocheck durations --output FILE writes one), the same file for every shard; default: the stated estimate for every job`,
  );
}

/** `--state-dir`, and with `withCache` `--cache-dir`. */
export function addStateOptions(cmd: Command, withCache = false): Command {
  cmd.option('--state-dir <dir>', 'keep the database, store, logs and caches under DIR (default: XDG data/cache folders)');
  return withCache ? cmd.option('--cache-dir <dir>', 'the download cache (default: under the XDG cache folder)') : cmd;
}

export async function statePaths(opts: StateOptions): Promise<StatePaths> {
  const { resolveStatePaths } = await import('../session/state-paths.js');
  return resolveStatePaths({ stateDir: opts.stateDir, cacheDir: opts.cacheDir });
}

export interface ReportOptions {
  format: string;
  output?: string;
}

export function addReportOptions(cmd: Command): Command {
  return cmd
    .option('--format <format>', 'report format: terminal, markdown (a pull-request comment), json, html', 'terminal')
    .option('--output <file>', 'write the report to FILE instead of standard output');
}

/** The options every building verb has (check, rerun). */
export interface BuildOptions extends StateOptions, ReportOptions {
  jobs?: string;
  sandbox: boolean;
  timeout: string;
  memory: string;
  processes: string;
  disk: string;
  inodes: string;
  archiveMirror: string[];
  defaultMirror: boolean;
}

export function addBuildOptions(cmd: Command): Command {
  return addReportOptions(
    addStateOptions(cmd, true)
      .option('--jobs <n>', 'builds run at once (default: the number of cores)')
      .option(
        '--no-sandbox',
        'builds see the host filesystem (with your rights) and the network; their switch and HOME are still their own',
      )
      .option(
        '--archive-mirror <url|dir>',
        "an archive mirror (opam's archive-mirrors: ALGO/XX/HEX), tried after a source's own url; a directory such as another download cache works offline; repeatable",
        collect,
        [],
      )
      .option(
        '--no-default-mirror',
        "do not add opam's own archive mirrors (opam.ocaml.org's cache for opam-repository, a repo file's or ~/.opam/config's archive-mirrors)",
      )
      .option('--timeout <duration>', 'wall-clock limit per job', '1h')
      .option('--memory <size>', 'memory limit per job', '4G')
      .option(
        '--processes <n>',
        'processes (and threads) a job may have at once, where a cgroup pids controller is available',
        String(DEFAULT_MAX_PROCESSES),
      )
      .option(
        '--disk <size>',
        'disk space per job: its build folder, its layer and its downloads together; a job over it is ended (disk-limit)',
        DEFAULT_DISK,
      )
      .option('--inodes <n>', 'files, folders and links per job, counted like --disk', String(DEFAULT_INODES)),
  );
}

export const NO_SANDBOX_WARNING =
  "ecocheck: warning: --no-sandbox: builds see the host's filesystem and the network, with your user rights (only /home is private)\n";

/** The machine's build settings from the flags; env and with-test come from the plan request. */
export function buildSettings(opts: BuildOptions, platform: { env: string[]; withTest: boolean }): BuildSettings {
  return {
    maxProcesses: parsePositiveInt(opts.processes, '--processes'),
    archiveMirrors: (opts.archiveMirror ?? []).map(archiveMirrorAddress),
    defaultMirrors: opts.defaultMirror !== false,
    jobs: opts.jobs === undefined ? availableParallelism() : parsePositiveInt(opts.jobs, '--jobs'),
    sandboxMode: opts.sandbox ? 'confined' : 'host',
    timeoutMs: parseDuration(opts.timeout, '--timeout'),
    memoryBytes: parseBytes(opts.memory, '--memory'),
    diskBytes: parseBytes(opts.disk, '--disk'),
    inodes: parsePositiveInt(opts.inodes, '--inodes'),
    env: platform.env,
    withTest: platform.withTest,
  };
}

/** `gc`'s flags: which runs' layers to keep, the store's bound, and a listing without removal. */
export interface GcOptions extends StateOptions {
  keepRun: string[];
  keepNewest: string;
  maxSize?: string;
  dryRun?: boolean;
  verbose?: boolean;
  json?: boolean;
}

export function addGcOptions(cmd: Command): Command {
  return addStateOptions(cmd)
    .option('--keep-run <id>', 'also keep the layers run ID needs (its ok jobs and their build closures); repeatable', collect, [])
    .option('--keep-newest <n>', 'keep the layers the newest N runs need (0: only the newest baselines and --keep-run)', '1')
    .option(
      '--max-size <size>',
      "then, while the store is larger than SIZE, remove the least recently used layers of the newest runs (never a newest baseline's or a --keep-run's)",
    )
    .option('--dry-run', 'list what would be removed; remove nothing')
    .option('--verbose', 'list every layer removed (key and package)')
    .option('--json', 'print one JSON object');
}

/** `bisect`'s flags: the compiler checkout and the range, or a recorded comparison to take them from. */
export interface BisectOptions {
  compilerTree?: string;
  good?: string;
  bad?: string;
  fromRun?: string;
}

export function addBisectOptions(cmd: Command): Command {
  return cmd
    .option('--compiler-tree <dir>', "the compiler's git checkout; only read: each commit's tree is written into ecocheck's state folder")
    .option('--good <rev>', 'a commit (any git revision) where the packages build')
    .option('--bad <rev>', "a commit (any git revision) where they do not (default: the checkout's HEAD)")
    .option(
      '--from-run <run>',
      'bisect every regression of this recorded comparison, whose baseline and candidate compilers are trees of one git repository (their commits are the good and the bad end)',
    );
}

/** `synthesize`'s flags: the input repositories and the size of the slice. */
export interface SynthesizeOptions {
  repo: string[];
  names?: string;
}

export function addSynthesizeOptions(cmd: Command): Command {
  return addRepositoryOptions(cmd, false).option(
    '--names <n>',
    'only the N names the most other names depend on, and their dependency cone',
  );
}
