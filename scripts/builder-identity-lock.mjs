#!/usr/bin/env node
/**
 * The builder's identity lock (tests/builder/builder-identity.lock): for the versions the builder and
 * its sandbox declare (OPAM_BUILDER_VERSION in src/builder/builder-version.ts, BUBBLEWRAP_VERSION in
 * src/builder/bubblewrap.ts), a fingerprint of the modules that decide what a job produces — its
 * layer's files, its status, reason and first error — with comments and layout left out, so that only
 * a change of code counts. tests/builder/builder-identity.test.ts fails when the fingerprint changed and
 * the versions did not: cached results would otherwise be reused although the code that made them changed.
 *
 *   node scripts/builder-identity-lock.mjs                  update the lock (after bumping a version)
 *   node scripts/builder-identity-lock.mjs --same-outputs   update it without a bump: the change cannot
 *                                                           change any build's output (a pure refactoring)
 *   node scripts/builder-identity-lock.mjs --check          say whether the lock holds (exit 1 if not)
 *
 * No build needed: it reads src/builder/*.ts. Every module of src/builder is classified below, as
 * deciding outputs or not, with why; a new module must be classified (the test says so).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const BUILDER_DIR = join(PROJECT_ROOT, 'src', 'builder');
export const LOCK_FILE = join(PROJECT_ROOT, 'tests', 'builder', 'builder-identity.lock');
export const UPDATE_COMMAND = 'node scripts/builder-identity-lock.mjs';

/** The modules that decide a job's files or verdict, and how. */
export const OUTPUT_MODULES = {
  'archive-extraction.ts': 'which files of a source archive reach the build folder (members refused, links)',
  'bubblewrap.ts': 'what a command sees and may do: binds, user, namespaces, network',
  'build-environment.ts': "the build's environment variables",
  'build-user.ts': 'who builds and owns the layers (uid, gid), what is handed over',
  'checksum.ts': 'which downloads are accepted (fetch-failed or not)',
  'command-expansion.ts': 'the commands run (filters, interpolation)',
  'confined-path.ts': 'what host-side steps may read and write (a refusal is a verdict)',
  'disk-limit.ts': 'when a job is ended as disk-limit',
  'env-update.ts': "opam's environment updates (setenv, build-env)",
  'extra-files.ts': 'the extra-files copied and checked',
  'failure-evidence.ts': "a failed command's status (out-of-memory, network, timeout…) and reason",
  'first-error.ts': 'the first error stored with a failure (and clustered by compare)',
  'http-download.ts': 'which downloads succeed (redirects, addresses refused: fetch-failed or not), bytes as served',
  'install-file.ts': 'the files `NAME.install` puts in the layer',
  'layer-store.ts': 'the layer as sealed (pruning, modes stripped, owner)',
  'opam-builder.ts': 'the steps of a build, their order and verdicts',
  'package-config-file.ts': '`NAME.config`: the variables dependents see',
  'package-variables.ts': 'the values of opam variables in commands, filters and substs',
  'patches.ts': 'the patches applied and how',
  'printable-text.ts': "the text of a job's reason, first error and log tail as stored",
  'public-address.ts': 'which addresses a source without a checksum may be fetched from (fetch-failed or not)',
  'process-runner.ts': "a command's exit code and evidence (not found, limits, signals)",
  'resource-limits.ts': 'the memory, process and file size limits (out-of-memory, fork bombs)',
  'sandbox-session.ts': "a job's commands in one sandbox launch: what one command leaves for the next, each one's exit code and evidence",
  'sandbox.ts': "the sandbox spec's shared rules (private HOME, the build user's passwd entry)",
  'source-fetcher.ts': 'what is fetched, from where, and unpacked how',
  'substs.ts': 'the files substs write',
  'switch-layout.ts': "the switch's fixed paths (baked into what builds install)",
  'switch-mount.ts': 'the switch a job sees (the union of its closure)',
  'tree-usage.ts': "what a job's folders hold: when it is ended as disk-limit",
  'system-packages.ts': 'the missing system packages named in a failure',
};

/** The modules that do not, and why not. */
export const OTHER_MODULES = {
  'build-log.ts': "how the log is written and capped: what people read, not the job's files or verdict",
  'builder-error.ts': 'the error class',
  'builder-version.ts': 'the declaration itself: its version is compared directly',
  'builder.ts': 'the Builder interface (types)',
  'layer-digest.ts': "a layer's content hash, checked when layers move between machines: read after a build, never by one",
  'layer-dedupe.ts':
    "a sealed layer's files linked to identical ones of other layers: the same bytes, mode and owner, only the inode shared",
  'layer-archive.ts':
    'packs and unpacks complete layers to carry them between machines, as they are: what a build produces is decided before',
  'download-cache.ts': 'where verified downloads are kept: content-addressed by checksum, the same bytes either way',
  'process-result.ts': "a command's result (its type, and the one constructor of a result that hit nothing)",
  'remote-spawn.ts':
    'starts a command through the spawn helper rather than by forking ecocheck: the same argv, environment, directory, session and pipes',
  'spawn-helper.ts': "the spawn helper's program: forks the command as ecocheck's spawn() would, relays its pipes and exit",
  'stale-scratch.ts': "the names of build folders and the removal of those crashed runs left: no job's files or verdict",
  'store-contents.ts': 'what the store holds and its size (gc, status): read after builds, never by one',
};

const IDENT = /[A-Za-z0-9_$]/;
const REGEX_AFTER_WORD = new Set([
  'return',
  'typeof',
  'case',
  'void',
  'in',
  'of',
  'delete',
  'throw',
  'new',
  'yield',
  'await',
  'else',
  'do',
  'instanceof',
]);

/**
 * TypeScript source without its comments and layout: comments removed, whitespace dropped except one
 * space between two word characters; strings, template literals and regular expressions kept as written.
 */
export function normaliseSource(text) {
  let out = '';
  let i = 0;
  const n = text.length;
  let pendingSpace = false;
  const emit = (s) => {
    if (pendingSpace && out.length > 0 && IDENT.test(out[out.length - 1]) && IDENT.test(s[0])) out += ' ';
    pendingSpace = false;
    out += s;
  };
  const regexAllowed = () => {
    const t = out.trimEnd();
    if (t === '') return true;
    const last = t[t.length - 1];
    if ('(,=:[!&|?{};+-*%<>~^'.includes(last)) return true;
    const word = /[A-Za-z_$][A-Za-z0-9_$]*$/.exec(t);
    return word !== null && REGEX_AFTER_WORD.has(word[0]);
  };
  const quoted = (q) => {
    let j = i + 1;
    while (j < n && text[j] !== q) {
      if (text[j] === '\\') j++;
      j++;
    }
    emit(text.slice(i, j + 1));
    i = j + 1;
  };
  // `depth` counts the braces opened inside a template's `${…}` (it ends at the brace closing it).
  const code = (inTemplateExpression) => {
    let depth = 0;
    while (i < n) {
      const c = text[i];
      const next = text[i + 1];
      if (c === '/' && next === '/') {
        while (i < n && text[i] !== '\n') i++;
        pendingSpace = true;
      } else if (c === '/' && next === '*') {
        const end = text.indexOf('*/', i + 2);
        i = end < 0 ? n : end + 2;
        pendingSpace = true;
      } else if (/\s/.test(c)) {
        i++;
        pendingSpace = true;
      } else if (c === '"' || c === "'") {
        quoted(c);
      } else if (c === '`') {
        template();
      } else if (c === '/' && regexAllowed()) {
        let j = i + 1;
        let inClass = false;
        while (j < n && (inClass || text[j] !== '/') && text[j] !== '\n') {
          if (text[j] === '\\') j++;
          else if (text[j] === '[') inClass = true;
          else if (text[j] === ']') inClass = false;
          j++;
        }
        j++;
        while (j < n && /[a-z]/.test(text[j])) j++;
        emit(text.slice(i, j));
        i = j;
      } else {
        if (inTemplateExpression && c === '{') depth++;
        if (inTemplateExpression && c === '}') {
          if (depth === 0) return;
          depth--;
        }
        emit(c);
        i++;
      }
    }
  };
  const template = () => {
    emit('`');
    i++;
    while (i < n && text[i] !== '`') {
      if (text[i] === '\\') {
        out += text.slice(i, i + 2);
        i += 2;
      } else if (text[i] === '$' && text[i + 1] === '{') {
        out += '${';
        i += 2;
        code(true);
        out += '}';
        i++;
      } else {
        out += text[i];
        i++;
      }
    }
    out += '`';
    i++;
  };
  code(false);
  return out;
}

const sha256 = (s) => createHash('sha256').update(s).digest('hex');

/** The fingerprint of the output modules of `dir`: each module's hash, and one over all of them. */
export function fingerprint(dir = BUILDER_DIR) {
  const modules = {};
  for (const name of Object.keys(OUTPUT_MODULES).sort()) {
    const file = join(dir, name);
    modules[name] = existsSync(file) ? sha256(normaliseSource(readFileSync(file, 'utf8'))).slice(0, 16) : 'missing';
  }
  return {
    fingerprint: sha256(
      Object.entries(modules)
        .map(([k, v]) => `${k}\0${v}\n`)
        .join(''),
    ),
    modules,
  };
}

/** The modules of `dir` classified nowhere, and those classified that are not there. */
export function unclassifiedModules(dir = BUILDER_DIR) {
  const present = readdirSync(dir)
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const known = new Set([...Object.keys(OUTPUT_MODULES), ...Object.keys(OTHER_MODULES)]);
  return { unclassified: present.filter((f) => !known.has(f)), missing: [...known].filter((f) => !present.includes(f)).sort() };
}

/** The versions the sources declare (read from the text, so no build is needed). */
export function declaredVersions(dir = BUILDER_DIR) {
  const builder = /export const OPAM_BUILDER_VERSION = '([^']+)'/.exec(readFileSync(join(dir, 'builder-version.ts'), 'utf8'));
  const sandbox = /export const BUBBLEWRAP_VERSION = (\d+)/.exec(readFileSync(join(dir, 'bubblewrap.ts'), 'utf8'));
  if (!builder || !sandbox) throw new Error('cannot read OPAM_BUILDER_VERSION (builder-version.ts) or BUBBLEWRAP_VERSION (bubblewrap.ts)');
  return { opamBuilderVersion: builder[1], bubblewrapVersion: Number(sandbox[1]) };
}

export function readLock(file = LOCK_FILE) {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : null;
}

/**
 * Whether the lock holds for the sources of `dir`: null when it does, else what is wrong and what to
 * do, in one message.
 */
export function lockProblem(dir = BUILDER_DIR, lock = readLock()) {
  const { unclassified, missing } = unclassifiedModules(dir);
  if (unclassified.length > 0 || missing.length > 0) {
    return `src/builder modules not classified in scripts/builder-identity-lock.mjs (as deciding a job's outputs or not): ${[...unclassified, ...missing.map((m) => `${m} (listed, not there)`)].join(', ')}`;
  }
  if (lock === null) return `no lock: create it with \`${UPDATE_COMMAND}\``;
  const now = fingerprint(dir);
  const versions = declaredVersions(dir);
  const sameVersions = versions.opamBuilderVersion === lock.opamBuilderVersion && versions.bubblewrapVersion === lock.bubblewrapVersion;
  if (now.fingerprint === lock.fingerprint) {
    return sameVersions
      ? null
      : `the versions changed (${lock.opamBuilderVersion} bubblewrap/${lock.bubblewrapVersion} → ${versions.opamBuilderVersion} bubblewrap/${versions.bubblewrapVersion}): record them with \`${UPDATE_COMMAND}\``;
  }
  const changed = Object.keys(now.modules).filter((m) => lock.modules?.[m] !== now.modules[m]);
  if (sameVersions) {
    return `builder code that decides what jobs produce changed (${changed.join(', ')}) but the builder's identity did not: bump OPAM_BUILDER_VERSION in src/builder/builder-version.ts (or BUBBLEWRAP_VERSION in src/builder/bubblewrap.ts for a change of the sandbox alone), say why in its changelog, and update the lock with \`${UPDATE_COMMAND}\` (a change that cannot change any output: \`${UPDATE_COMMAND} --same-outputs\`)`;
  }
  return `the builder's identity was bumped (${versions.opamBuilderVersion} bubblewrap/${versions.bubblewrapVersion}) but the lock still records ${lock.opamBuilderVersion} bubblewrap/${lock.bubblewrapVersion}: update it with \`${UPDATE_COMMAND}\``;
}

/** Writes the lock for the sources as they are; refuses a changed fingerprint under unchanged versions unless `sameOutputs`. */
export function writeLock({ dir = BUILDER_DIR, file = LOCK_FILE, sameOutputs = false } = {}) {
  const { unclassified, missing } = unclassifiedModules(dir);
  if (unclassified.length > 0 || missing.length > 0) throw new Error(lockProblem(dir, null));
  const old = readLock(file);
  const now = fingerprint(dir);
  const versions = declaredVersions(dir);
  if (
    old !== null &&
    old.fingerprint !== now.fingerprint &&
    !sameOutputs &&
    versions.opamBuilderVersion === old.opamBuilderVersion &&
    versions.bubblewrapVersion === old.bubblewrapVersion
  ) {
    throw new Error(lockProblem(dir, old));
  }
  const lock = { ...versions, fingerprint: now.fingerprint, modules: now.modules };
  writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
  return lock;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  try {
    if (args.includes('--check')) {
      const problem = lockProblem();
      if (problem !== null) {
        process.stderr.write(`${problem}\n`);
        process.exit(1);
      }
      process.stdout.write('the builder identity lock holds\n');
    } else {
      const lock = writeLock({ sameOutputs: args.includes('--same-outputs') });
      process.stdout.write(
        `${LOCK_FILE}: ${lock.opamBuilderVersion}, bubblewrap/${lock.bubblewrapVersion}, ${lock.fingerprint.slice(0, 16)}\n`,
      );
    }
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  }
}
