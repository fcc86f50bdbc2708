/**
 * The schema, as versioned migrations. `PRAGMA user_version` holds the applied version; a later change is
 * a new entry at the end, never an edit of an applied one.
 */
import type Database from 'better-sqlite3';

/** The builder's verdicts as an older job's log tail holds them (builder/first-error.ts verdictsOfLog). */
export type LogVerdictReader = (logTail: string) => { firstError: string | null; missingSystemPackages: string[] };

/**
 * What an upgrade needs from later layers, given by whoever opens the database (the session gives the
 * builder's log reader): the store imports nothing of the builder. Without it, what a fill would compute
 * is left NULL, which every reader takes as "not recorded".
 */
export interface UpgradeHooks {
  verdictsOfLog?: LogVerdictReader;
}

export interface Migration {
  version: number;
  description: string;
  sql: string;
  /** Run after `sql`, in the same transaction: filling in what SQL cannot compute. */
  fill?: (db: Database.Database, hooks: UpgradeHooks) => void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'runs, jobs, cached results, per-run job records and targets, the run lock',
    sql: `
      CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL DEFAULT 'check',          -- 'check' now; 'baseline' / 'candidate' for the comparison layer
        label TEXT,
        compiler_spec TEXT NOT NULL,
        repositories TEXT NOT NULL,                  -- JSON array of repository roots, in priority order
        repository_hash TEXT NOT NULL,               -- sha256 over every package's id, opam and files/ hashes
        targets TEXT NOT NULL,                       -- JSON: the target selection
        options TEXT NOT NULL,                       -- JSON: jobs, env, sandbox, timeout, memory, builder version…
        status TEXT NOT NULL,                        -- running | finished | interrupted | crashed | failed
        pid INTEGER,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        job_count INTEGER NOT NULL DEFAULT 0,
        target_count INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE jobs (
        key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        dependencies TEXT NOT NULL,                  -- JSON array of dependency job keys
        first_run_id INTEGER
      );
      CREATE INDEX jobs_by_package ON jobs(name, version);
      -- The cache: one final, cacheable result per job key. A key listed here is never rebuilt.
      CREATE TABLE results (
        job_key TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        reason TEXT NOT NULL,
        duration_ms INTEGER,
        exit_code INTEGER,
        log_path TEXT,
        log_tail TEXT NOT NULL,
        prefix TEXT,
        run_id INTEGER NOT NULL,
        finished_at TEXT NOT NULL
      );
      -- What happened to each job in each run (cache hits, dependency failures and spurious results included).
      CREATE TABLE run_jobs (
        run_id INTEGER NOT NULL,
        job_key TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT NOT NULL,
        root_cause_key TEXT,
        root_cause TEXT,
        duration_ms INTEGER,
        exit_code INTEGER,
        log_path TEXT,
        log_tail TEXT,                               -- NULL for cache hits: read from results
        cached INTEGER NOT NULL,
        finished_at TEXT NOT NULL,
        PRIMARY KEY (run_id, job_key)
      ) WITHOUT ROWID;
      CREATE INDEX run_jobs_by_key ON run_jobs(job_key);
      -- The targets of each run and the job that builds each (NULL with a reason when not installable).
      CREATE TABLE run_targets (
        run_id INTEGER NOT NULL,
        package_id TEXT NOT NULL,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        job_key TEXT,
        reason TEXT,
        PRIMARY KEY (run_id, package_id)
      ) WITHOUT ROWID;
      CREATE INDEX run_targets_by_name ON run_targets(name);
      CREATE TABLE locks (
        name TEXT PRIMARY KEY,
        pid INTEGER NOT NULL,
        host TEXT NOT NULL,
        run_id INTEGER,
        acquired_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: 'every root of a dependency failure (space-separated NAME.VERSIONs; NULL: root_cause alone)',
    sql: `
      ALTER TABLE run_jobs ADD COLUMN root_causes TEXT;
    `,
  },
  {
    version: 3,
    description: 'typed runs: kind and status checked, the links between runs as foreign-key columns, per-run records tied to their run',
    // SQLite adds no foreign key with ALTER: every table is rebuilt (create new, copy, drop, rename, recreate
    // indexes) with foreign keys off (database.ts), then checked. The kind and status lists are written out
    // here, not taken from runs.ts: an applied migration never changes.
    sql: `
      CREATE TABLE runs_v3 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL DEFAULT 'check' CHECK (kind IN ('baseline', 'candidate', 'check', 'retry', 'rerun')),
        label TEXT,
        compiler_spec TEXT NOT NULL,
        repositories TEXT NOT NULL,
        repository_hash TEXT NOT NULL,
        targets TEXT NOT NULL,
        options TEXT NOT NULL,                       -- JSON: RunOptions (runs.ts readRunOptions)
        against_run_id INTEGER REFERENCES runs(id),  -- the run this one is compared with
        retry_of_run_id INTEGER REFERENCES runs(id), -- a retry's candidate; a rerun's run
        status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'interrupted', 'crashed', 'failed')),
        pid INTEGER,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        job_count INTEGER NOT NULL DEFAULT 0,
        target_count INTEGER NOT NULL DEFAULT 0
      );
      -- The links were options.against: a candidate's (or rerun's) baseline, and a retry's candidate. A
      -- retry now links its candidate as retry_of and is compared with the candidate's own baseline.
      WITH old AS (
        SELECT *, CASE WHEN json_valid(options) AND json_type(options, '$.against') = 'integer' THEN json_extract(options, '$.against') END AS old_against
        FROM runs
      )
      INSERT INTO runs_v3 (id, kind, label, compiler_spec, repositories, repository_hash, targets, options, against_run_id, retry_of_run_id,
                           status, pid, started_at, finished_at, job_count, target_count)
      SELECT r.id,
             CASE WHEN r.kind IN ('baseline', 'candidate', 'check', 'retry', 'rerun') THEN r.kind ELSE 'check' END,
             r.label, r.compiler_spec, r.repositories, r.repository_hash, r.targets,
             CASE WHEN json_valid(r.options) THEN json_remove(r.options, '$.against') ELSE r.options END,
             CASE WHEN r.kind = 'retry' THEN c.old_against ELSE r.old_against END,
             CASE WHEN r.kind = 'retry' THEN r.old_against END,
             CASE WHEN r.status IN ('running', 'finished', 'interrupted', 'crashed', 'failed') THEN r.status ELSE 'crashed' END,
             r.pid, r.started_at, r.finished_at, r.job_count, r.target_count
      FROM old r LEFT JOIN old c ON r.kind = 'retry' AND c.id = r.old_against;
      -- Records of a run whose row is gone are kept: the run comes back as a 'crashed' stand-in.
      INSERT INTO runs_v3 (id, kind, label, compiler_spec, repositories, repository_hash, targets, options, status, started_at, job_count, target_count)
      SELECT o.run_id, 'check', 'missing run (its records kept by schema migration 3)', '', '[]', '', 'null', '{}', 'crashed',
             COALESCE(min(o.at), strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
             (SELECT count(*) FROM run_jobs WHERE run_id = o.run_id), (SELECT count(*) FROM run_targets WHERE run_id = o.run_id)
      FROM (SELECT run_id, finished_at AS at FROM run_jobs
            UNION ALL SELECT run_id, NULL FROM run_targets
            UNION ALL SELECT run_id, finished_at FROM results) o
      WHERE o.run_id NOT IN (SELECT id FROM runs_v3)
      GROUP BY o.run_id;
      -- A link to a run that no longer exists is dropped, not kept dangling.
      UPDATE runs_v3 SET against_run_id = NULL WHERE against_run_id NOT IN (SELECT id FROM runs_v3);
      UPDATE runs_v3 SET retry_of_run_id = NULL WHERE retry_of_run_id NOT IN (SELECT id FROM runs_v3);
      -- New ids keep counting past deleted runs: a stale reference elsewhere never names a new run.
      INSERT INTO sqlite_sequence (name, seq)
      SELECT 'runs_v3', 0 WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'runs_v3');
      UPDATE sqlite_sequence SET seq = max(seq, COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'runs'), 0)) WHERE name = 'runs_v3';

      CREATE TABLE results_v3 (
        job_key TEXT PRIMARY KEY,
        status TEXT NOT NULL,
        reason TEXT NOT NULL,
        duration_ms INTEGER,
        exit_code INTEGER,
        log_path TEXT,
        log_tail TEXT NOT NULL,
        prefix TEXT,
        run_id INTEGER NOT NULL REFERENCES runs(id),
        finished_at TEXT NOT NULL
      );
      INSERT INTO results_v3 (job_key, status, reason, duration_ms, exit_code, log_path, log_tail, prefix, run_id, finished_at)
      SELECT job_key, status, reason, duration_ms, exit_code, log_path, log_tail, prefix, run_id, finished_at FROM results;

      CREATE TABLE run_jobs_v3 (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        job_key TEXT NOT NULL,
        status TEXT NOT NULL,
        reason TEXT NOT NULL,
        root_cause_key TEXT,
        root_cause TEXT,
        duration_ms INTEGER,
        exit_code INTEGER,
        log_path TEXT,
        log_tail TEXT,
        cached INTEGER NOT NULL,
        finished_at TEXT NOT NULL,
        root_causes TEXT,
        PRIMARY KEY (run_id, job_key)
      ) WITHOUT ROWID;
      INSERT INTO run_jobs_v3 (run_id, job_key, status, reason, root_cause_key, root_cause, duration_ms, exit_code, log_path, log_tail, cached, finished_at, root_causes)
      SELECT run_id, job_key, status, reason, root_cause_key, root_cause, duration_ms, exit_code, log_path, log_tail, cached, finished_at, root_causes FROM run_jobs;

      CREATE TABLE run_targets_v3 (
        run_id INTEGER NOT NULL REFERENCES runs(id),
        package_id TEXT NOT NULL,
        name TEXT NOT NULL,
        version TEXT NOT NULL,
        job_key TEXT,
        reason TEXT,
        PRIMARY KEY (run_id, package_id)
      ) WITHOUT ROWID;
      INSERT INTO run_targets_v3 (run_id, package_id, name, version, job_key, reason)
      SELECT run_id, package_id, name, version, job_key, reason FROM run_targets;

      DROP TABLE run_targets;
      DROP TABLE run_jobs;
      DROP TABLE results;
      DROP TABLE runs;
      ALTER TABLE runs_v3 RENAME TO runs;
      ALTER TABLE results_v3 RENAME TO results;
      ALTER TABLE run_jobs_v3 RENAME TO run_jobs;
      ALTER TABLE run_targets_v3 RENAME TO run_targets;
      CREATE INDEX run_jobs_by_key ON run_jobs(job_key);
      CREATE INDEX run_targets_by_name ON run_targets(name);
      -- Child keys indexed: retries of a run are looked up by it, and the foreign keys check through them.
      CREATE INDEX runs_by_against ON runs(against_run_id);
      CREATE INDEX runs_by_retry_of ON runs(retry_of_run_id);
      CREATE INDEX results_by_run ON results(run_id);
    `,
  },
  {
    version: 4,
    description: "the builder's verdicts as columns: first error and missing system packages (depexts)",
    // They were notes in the log's tail that reports parsed back (`# first error: …`, `# missing system
    // packages (depexts): X Y`). NULL = not recorded; missing_depexts is space-separated, '' for none.
    sql: `
      ALTER TABLE results ADD COLUMN first_error TEXT;
      ALTER TABLE results ADD COLUMN missing_depexts TEXT;
      ALTER TABLE run_jobs ADD COLUMN first_error TEXT;
      ALTER TABLE run_jobs ADD COLUMN missing_depexts TEXT;
    `,
    // Records written before: read once from the stored log tail with the builder's own extractor, as the
    // reports did. Rows without a tail (a cache hit's run_jobs row reads its results row) stay NULL. (The
    // one step of a migration that is code, not SQL: a later change of the extractor changes what a later
    // upgrade fills in, never a database already at version 4.) The extractor is the opener's to give
    // (UpgradeHooks); without it the verdicts stay NULL: not recorded.
    fill: (db, hooks) => {
      const verdictsOfLog = hooks.verdictsOfLog;
      if (verdictsOfLog === undefined) return;
      // run_jobs has no rowid (WITHOUT ROWID): rows are named by their primary key.
      for (const [table, key] of [
        ['results', 'job_key'],
        ['run_jobs', 'run_id, job_key'],
      ] as const) {
        const rows = db.prepare(`SELECT ${key}, status, log_tail FROM ${table} WHERE log_tail IS NOT NULL`).all() as {
          run_id?: number;
          job_key: string;
          status: string;
          log_tail: string;
        }[];
        const where = key
          .split(', ')
          .map((k) => `${k} = ?`)
          .join(' AND ');
        const update = db.prepare(`UPDATE ${table} SET first_error = ?, missing_depexts = ? WHERE ${where}`);
        for (const r of rows) {
          const v = verdictsOfLog(r.log_tail);
          const keys = r.run_id === undefined ? [r.job_key] : [r.run_id, r.job_key];
          update.run(r.status === 'ok' ? null : v.firstError, v.missingSystemPackages.join(' '), ...keys);
        }
      }
    },
  },
  {
    version: 5,
    description:
      'a run merged from shard exports keeps the content hash of what it was merged from, so merging the same exports again finds it',
    sql: `
      ALTER TABLE runs ADD COLUMN import_hash TEXT;
      CREATE UNIQUE INDEX runs_by_import_hash ON runs(import_hash) WHERE import_hash IS NOT NULL;
    `,
  },
  {
    version: 6,
    description: 'results name a layer by its job key only: the absolute layer path (prefix) goes',
    // A layer is `STORE/KEY` wherever the store is: the path a result kept said where one machine put it
    // (hence results moved between machines had to be rewritten). Whether an ok result is usable is now
    // the layer store's answer for its key (session/cache-validity.ts), so every result stays usable
    // where its layer is complete, whatever path it was recorded with.
    sql: `
      ALTER TABLE results DROP COLUMN prefix;
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
