/**
 * The schema, as versioned migrations. `PRAGMA user_version` holds the applied version; a later change is
 * a new entry at the end, never an edit of an applied one.
 */
export interface Migration {
  version: number;
  description: string;
  sql: string;
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
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
