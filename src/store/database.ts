/**
 * Opens (creating if needed) the ecocheck database: WAL, a busy timeout so concurrent readers and
 * writers wait instead of failing, the versioned migrations, foreign keys enforced. A corrupted, damaged (for writing),
 * foreign or too-new file, or one missing a table or column of its schema, is refused with one line naming it;
 * a damage met later, while reading or writing (a page that does not read back), becomes such a line through
 * `databaseFailure`, which every verb applies to what its use of the database throws. The file is never
 * repaired, rewritten or removed: the user decides what to do with it.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { MIGRATIONS, SCHEMA_VERSION, type UpgradeHooks } from './migrations.js';
import { StoreError } from './store-error.js';

export type Db = Database.Database;

/** `PRAGMA application_id` of an ecocheck database ("ecoc"). */
export const APPLICATION_ID = 0x65636f63;

export interface OpenOptions {
  readonly?: boolean;
  /** What an upgrade of an older schema needs from later layers (migrations.ts UpgradeHooks). */
  upgrade?: UpgradeHooks;
}

export function openDatabase(file: string, options: OpenOptions = {}): Db {
  let db: Db;
  try {
    if (!options.readonly) mkdirSync(dirname(file), { recursive: true });
    db = new Database(file, { readonly: options.readonly === true, fileMustExist: options.readonly === true, timeout: 10_000 });
  } catch (err) {
    throw new StoreError(`cannot open database ${file}: ${messageOf(err)}`);
  }
  try {
    db.pragma('busy_timeout = 10000');
    // Identity first: switching a foreign file to WAL would rewrite its header.
    checkIdentity(db, file);
    if (!options.readonly) {
      // Never write into a damaged file (it would spread the damage): refuse it, naming it. Readers
      // skip this, so the results still readable in it can be listed and reported.
      const health = db.pragma('quick_check(1)', { simple: true }) as string;
      if (health !== 'ok') {
        throw damaged(file, health.split('\n').find((l) => !l.startsWith('***')) ?? health);
      }
      // Before anything is written (the WAL switch included): a missing table is damage too.
      if ((db.pragma('user_version', { simple: true }) as number) >= SCHEMA_VERSION) checkSchema(db, file);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      migrate(db, file, options.upgrade ?? {});
    } else if ((db.pragma('user_version', { simple: true }) as number) < SCHEMA_VERSION)
      throw new StoreError(`database ${file} has an older schema; it is upgraded when it is next opened for writing (a run)`);
    else checkSchema(db, file);
    // Enforced for every statement from here: a record never names a run that does not exist.
    db.pragma('foreign_keys = ON');
  } catch (err) {
    db.close();
    if (err instanceof StoreError) throw err;
    // Not an SQLite file, or one cut short: the way out is the same as for a damaged one.
    throw new StoreError(`database ${file} is unusable: ${messageOf(err)}; move it away to start a new one`);
  }
  return db;
}

/** What a database of the current schema must hold: each table with its columns (from the migrations, once). */
let expectedSchema: ReadonlyMap<string, readonly string[]> | undefined;

function schemaOf(db: Db): Map<string, string[]> {
  const tables = db.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[];
  const out = new Map<string, string[]>();
  for (const { name } of tables) {
    out.set(
      name,
      (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(name) as { name: string }[]).map((c) => c.name),
    );
  }
  return out;
}

function currentSchema(): ReadonlyMap<string, readonly string[]> {
  if (expectedSchema === undefined) {
    const fresh = new Database(':memory:');
    try {
      for (const m of MIGRATIONS) {
        fresh.exec(m.sql);
        m.fill?.(fresh, {});
      }
      expectedSchema = schemaOf(fresh);
    } finally {
      fresh.close();
    }
  }
  return expectedSchema;
}

/** A database at the current schema version lacking a table or column of it is damaged: one line saying which. */
function checkSchema(db: Db, file: string): void {
  const actual = schemaOf(db);
  for (const [table, columns] of currentSchema()) {
    const have = actual.get(table);
    const missing =
      have === undefined
        ? `table ${table} is missing`
        : columns.filter((c) => !have.includes(c)).map((c) => `column ${table}.${c} is missing`)[0];
    if (missing !== undefined) throw damaged(file, missing);
  }
}

function damaged(file: string, detail: string): StoreError {
  return new StoreError(`database ${file} is damaged (${detail}); move it away to start a new one`);
}

/**
 * What a verb reports for an error met while using an open database: a SQLite failure (a damaged page
 * or index, a missing table, a full disk, an I/O error) is one line naming the file, an environment
 * error (exit 2), never an internal one; anything else is returned unchanged.
 */
export function databaseFailure(err: unknown, file: string): unknown {
  const code = err instanceof Error ? (err as Error & { code?: unknown }).code : undefined;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  const detail = messageOf(err);
  if (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB' || /^no such (table|column)/.test(detail)) return damaged(file, detail);
  return new StoreError(`cannot use the database ${file}: ${detail}${code === 'SQLITE_FULL' ? ' (free some space on its disk)' : ''}`);
}

function checkIdentity(db: Db, file: string): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const version = db.pragma('user_version', { simple: true }) as number;
  if (appId === APPLICATION_ID) {
    if (version > SCHEMA_VERSION)
      throw new StoreError(
        `database ${file} has schema version ${version}, newer than this ecocheck knows (${SCHEMA_VERSION}); upgrade ecocheck`,
      );
    return;
  }
  const tables = db.prepare(`SELECT count(*) AS n FROM sqlite_master`).get() as { n: number };
  if (appId !== 0 || tables.n > 0) throw new StoreError(`${file} is not an ecocheck database (it holds other data)`, true);
}

/**
 * Applies the migrations not yet applied, each in its own immediate transaction. Foreign keys are off
 * meanwhile (the pragma is a no-op inside a transaction, so it is set before): a migration rebuilding a
 * table drops tables others reference. Each migration ends with `foreign_key_check`; a violation rolls it back.
 */
function migrate(db: Db, file: string, hooks: UpgradeHooks): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current >= SCHEMA_VERSION) return;
  db.pragma('foreign_keys = OFF');
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    const apply = db.transaction(() => {
      // Re-read inside the write transaction: another process may have migrated meanwhile.
      if ((db.pragma('user_version', { simple: true }) as number) >= m.version) return;
      db.exec(m.sql);
      m.fill?.(db, hooks);
      const violations = db.pragma('foreign_key_check') as { table: string; rowid: number | null; parent: string }[];
      if (violations.length > 0) {
        const v = violations[0];
        throw new Error(`${violations.length} row(s) name a missing ${v.parent} row (first: ${v.table} rowid ${v.rowid ?? '?'})`);
      }
      db.pragma(`application_id = ${APPLICATION_ID}`);
      db.pragma(`user_version = ${m.version}`);
    });
    try {
      apply.immediate();
    } catch (err) {
      throw new StoreError(`cannot migrate database ${file} to schema version ${m.version}: ${messageOf(err)}`);
    }
  }
}

function messageOf(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return m.split('\n')[0];
}
