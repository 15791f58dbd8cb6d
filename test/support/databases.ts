/**
 * Fresh, uniquely named OMERO + BIOMERO databases for one test file, copied from the templates
 * built by global-setup.ts (CREATE DATABASE … TEMPLATE is a file copy: fast).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { databaseUrl } from '../../database/setup';
import { TEMPLATES, dropDatabase, withAdmin } from './templates';

export interface TestDatabases {
  omeroUrl: string;
  biomeroUrl: string;
  /** Drop both databases (ends any connection still open). */
  drop(): Promise<void>;
}

// Serialises template copies across jest workers on the same server.
const COPY_LOCK = 0x6f677470; // 'ogtp'

export function testServerUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set: run tests through jest (test/support/global-setup.ts)');
  return url;
}

export async function createTestDatabases(opts: { seed?: boolean } = {}): Promise<TestDatabases> {
  const serverUrl = testServerUrl();
  const templates = opts.seed === false ? TEMPLATES.ddl : TEMPLATES.seeded;
  const suffix = `${process.pid}_${randomBytes(4).toString('hex')}`;
  const names = { omero: `og_t_omero_${suffix}`, biomero: `og_t_biomero_${suffix}` };

  await withAdmin(serverUrl, async (admin) => {
    await admin.query('SELECT pg_advisory_lock($1)', [COPY_LOCK]);
    try {
      await copyDatabase(admin, templates.omero, names.omero);
      await copyDatabase(admin, templates.biomero, names.biomero);
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1)', [COPY_LOCK]);
    }
  });

  return {
    omeroUrl: databaseUrl(serverUrl, names.omero),
    biomeroUrl: databaseUrl(serverUrl, names.biomero),
    async drop() {
      await withAdmin(serverUrl, async (admin) => {
        await dropDatabase(admin, names.omero);
        await dropDatabase(admin, names.biomero);
      });
    },
  };
}

async function copyDatabase(admin: pg.Client, template: string, name: string): Promise<void> {
  const sql = `CREATE DATABASE ${admin.escapeIdentifier(name)} TEMPLATE ${admin.escapeIdentifier(template)}`;
  for (let attempt = 1; ; attempt++) {
    try {
      await admin.query(sql);
      return;
    } catch (error) {
      // 55006 object_in_use: "source database is being accessed by other users".
      if ((error as { code?: string }).code !== '55006' || attempt >= 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
