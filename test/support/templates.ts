/**
 * Template databases for the test run. Built once per run by global-setup.ts:
 *   og_tpl_omero / og_tpl_biomero          DDL + notify migration + demo world
 *   og_tpl_omero_ddl / og_tpl_biomero_ddl  DDL + notify migration only
 * They are marked IS_TEMPLATE and closed to connections, so copying them never fails with
 * "source database is being accessed by other users" because of a stray session.
 */
import pg from 'pg';
import { seedDemoWorld } from '../../database/demo';
import { databaseUrl, prepareDatabases } from '../../database/setup';

export const TEMPLATES = {
  seeded: { omero: 'og_tpl_omero', biomero: 'og_tpl_biomero' },
  ddl: { omero: 'og_tpl_omero_ddl', biomero: 'og_tpl_biomero_ddl' },
} as const;

export async function buildTemplates(serverUrl: string): Promise<void> {
  const all = [...Object.values(TEMPLATES.seeded), ...Object.values(TEMPLATES.ddl)];
  await withAdmin(serverUrl, async (admin) => {
    for (const name of all) await dropDatabase(admin, name);
  });

  await prepareDatabases(serverUrl, TEMPLATES.ddl);
  const seeded = await prepareDatabases(serverUrl, TEMPLATES.seeded);
  const omero = new pg.Client({ connectionString: seeded.omeroUrl });
  const biomero = new pg.Client({ connectionString: seeded.biomeroUrl });
  await Promise.all([omero.connect(), biomero.connect()]);
  try {
    await seedDemoWorld(omero, biomero);
  } finally {
    await Promise.all([omero.end(), biomero.end()]);
  }

  await withAdmin(serverUrl, async (admin) => {
    for (const name of all) {
      await admin.query(`ALTER DATABASE ${admin.escapeIdentifier(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    }
  });
}

export async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (!rowCount) return;
  const ident = admin.escapeIdentifier(name);
  // A template cannot be dropped; FORCE ends sessions left behind by crashed tests.
  await admin.query(`ALTER DATABASE ${ident} WITH IS_TEMPLATE false`);
  await admin.query(`DROP DATABASE IF EXISTS ${ident} WITH (FORCE)`);
}

export async function withAdmin<T>(serverUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: databaseUrl(serverUrl, 'postgres') });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}
