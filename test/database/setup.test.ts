/** prepareDatabases on a server: creates, applies, and is idempotent. */
import { randomBytes } from 'node:crypto';
import { databaseUrl, prepareDatabases } from '../../database/setup';
import { testServerUrl } from '../support/databases';
import { dropDatabase, withAdmin } from '../support/templates';
import { withClient } from '../support/pg';

describe('prepareDatabases', () => {
  const suffix = randomBytes(4).toString('hex');
  const names = { omero: `og_setup_omero_${suffix}`, biomero: `og_setup_biomero_${suffix}` };

  afterAll(async () => {
    await withAdmin(testServerUrl(), async (admin) => {
      await dropDatabase(admin, names.omero);
      await dropDatabase(admin, names.biomero);
    });
  });

  test('creates both databases with their schemas, and a second run changes nothing', async () => {
    const first = await prepareDatabases(testServerUrl(), names);
    expect(first).toEqual({ omeroUrl: databaseUrl(testServerUrl(), names.omero), biomeroUrl: databaseUrl(testServerUrl(), names.biomero) });

    const snapshot = async () => ({
      omero: await withClient(
        first.omeroUrl,
        async (c) =>
          (
            await c.query(
              `SELECT count(*)::int AS tables, (SELECT count(*)::int FROM experimenter) AS experimenters,
                (SELECT last_value FROM seq_experimenter) AS seq
           FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`,
            )
          ).rows[0],
      ),
      biomero: await withClient(
        first.biomeroUrl,
        async (c) =>
          (
            await c.query(
              `SELECT count(*)::int AS tables, (SELECT count(*)::int FROM pg_trigger WHERE NOT tgisinternal) AS triggers
           FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace`,
            )
          ).rows[0],
      ),
    });
    const before = await snapshot();
    expect(before.omero.experimenters).toBe(2);
    // BIOMERO's 15 tables and our 4 of the workflow statistics' run summary (database/run-summary.sql)
    expect(before.biomero).toEqual({ tables: 19, triggers: 2 });

    const second = await prepareDatabases(testServerUrl(), names);
    expect(second).toEqual(first);
    expect(await snapshot()).toEqual(before);
  });

  test('concurrent calls do not trip over each other', async () => {
    const results = await Promise.all([prepareDatabases(testServerUrl(), names), prepareDatabases(testServerUrl(), names)]);
    expect(results[0]).toEqual(results[1]);
  });

  test('databaseUrl swaps only the database name', () => {
    expect(databaseUrl('postgres://u:p%40ss@127.0.0.1:5433/postgres?sslmode=disable', 'omero')).toBe(
      'postgres://u:p%40ss@127.0.0.1:5433/omero?sslmode=disable',
    );
  });
});
