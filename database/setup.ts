import { readFileSync } from 'node:fs';
import pg from 'pg';
import { databaseFile } from './paths';

export interface DatabaseNames {
  omero: string;
  biomero: string;
}

/** The URL of database `db` on the server that `serverUrl` points at. */
export function databaseUrl(serverUrl: string, db: string): string {
  const url = new URL(serverUrl);
  url.pathname = '/' + encodeURIComponent(db);
  return url.toString();
}

/** Our migration of a BIOMERO database, in order: the notify triggers, the run summary tables. */
export const MIGRATION_FILES = ['notify.sql', 'run-summary.sql'] as const;
type SqlFile = 'omero.sql' | 'biomero.sql' | (typeof MIGRATION_FILES)[number];

/** SQL text of one of the files in database/. */
export function readSql(name: SqlFile): string {
  return readFileSync(databaseFile(name), 'utf8');
}

/**
 * Make sure the server holds an OMERO and a BIOMERO database with our layouts: create the
 * databases when missing, apply omero.sql / biomero.sql when their tables are absent, and
 * (re)apply our migration (MIGRATION_FILES). Safe to call repeatedly and concurrently.
 */
export async function prepareDatabases(
  serverUrl: string,
  names: DatabaseNames = { omero: 'omero', biomero: 'biomero' },
): Promise<{ omeroUrl: string; biomeroUrl: string }> {
  await createDatabaseIfMissing(serverUrl, names.omero);
  await createDatabaseIfMissing(serverUrl, names.biomero);
  const omeroUrl = databaseUrl(serverUrl, names.omero);
  const biomeroUrl = databaseUrl(serverUrl, names.biomero);
  await applySchema(omeroUrl, 'experimenter', ['omero.sql']);
  await applySchema(biomeroUrl, 'imports', ['biomero.sql']);
  await applySchema(biomeroUrl, null, [...MIGRATION_FILES]);
  return { omeroUrl, biomeroUrl };
}

/**
 * Install (or refresh) our migration in an existing BIOMERO database: the notify triggers and the
 * run summary tables, the only change omero-graph makes to a production BIOMERO DB, and only where
 * the operator allows it.
 */
export async function applyNotifyMigration(biomeroUrl: string): Promise<void> {
  await applySchema(biomeroUrl, null, [...MIGRATION_FILES]);
}

export async function createDatabaseIfMissing(serverUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    try {
      // Identifiers cannot be bound as parameters; escapeIdentifier quotes safely.
      await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} ENCODING 'UTF8' TEMPLATE template0`);
    } catch (error) {
      // 42P04 duplicate_database: someone else created it in the meantime, which is fine.
      if ((error as { code?: string }).code !== '42P04') throw error;
    }
  } finally {
    await client.end();
  }
}

// Arbitrary key for pg_advisory_lock so concurrent callers apply the schema once.
const SCHEMA_LOCK = 0x6f6d6772; // 'omgr'

/**
 * Apply the given SQL files unless `guardTable` already exists (null: always apply; the files
 * must then be idempotent). The files carry their own BEGIN/COMMIT.
 */
export async function applySchema(dbUrl: string, guardTable: string | null, files: SqlFile[]): Promise<boolean> {
  const client = new pg.Client({ connectionString: dbUrl });
  await client.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
    if (guardTable) {
      const { rows } = await client.query('SELECT to_regclass($1) IS NOT NULL AS present', [`public.${guardTable}`]);
      if (rows[0].present) return false;
    }
    for (const file of files) await client.query(readSql(file));
    return true;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]).catch(() => undefined);
    await client.end();
  }
}
