import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { projectRoot } from '../../../database/paths';
import { createPool, inTransaction } from '../../../subgraphs/common/db';
import { createTestDatabases, type TestDatabases } from '../../support/databases';

/**
 * A pool client that loses its server while checked out (PostgreSQL stopping cleanly terminates
 * every connection) must not crash the process: found by the fault campaign (test/soak/), where
 * such a client took a workflows replica down. Run in a child process, as a replica runs.
 */
let dbs: TestDatabases;

beforeAll(async () => {
  dbs = await createTestDatabases({ seed: false });
});

afterAll(async () => {
  await dbs?.drop();
});

const SCRIPT = `
const { createPool } = require(${JSON.stringify(join(projectRoot(), 'subgraphs/common/db.ts'))});
const pg = require('pg');
(async () => {
  const pool = createPool(process.argv[1], { name: 'db-test', max: 2 });
  const held = await pool.connect();
  const { rows } = await held.query('SELECT pg_backend_pid() AS pid');
  const admin = new pg.Client(process.argv[1]);
  await admin.connect();
  await admin.query('SELECT pg_terminate_backend($1)', [rows[0].pid]); // "terminating connection due to administrator command"
  await admin.end();
  await new Promise((r) => setTimeout(r, 300));
  held.release();
  const after = await pool.query('SELECT 1 AS one');
  console.log('ALIVE ' + after.rows[0].one);
  await pool.end();
})();
`;

it('survives a checked-out connection terminated by the server, and serves queries on a new one', () => {
  const run = spawnSync(process.execPath, ['-r', join(projectRoot(), 'test/support/register-ts.cjs'), '-e', SCRIPT, dbs.biomeroUrl], {
    encoding: 'utf8',
    env: { ...process.env, JEST_WORKER_ID: '' },
    timeout: 30_000,
  });
  expect(run.stderr).not.toContain("Unhandled 'error' event");
  expect(run.stdout.trim()).toBe('ALIVE 1');
  expect(run.status).toBe(0);
});

describe('inTransaction', () => {
  let pool: pg.Pool;
  beforeAll(async () => {
    pool = createPool(dbs.biomeroUrl, { name: 'db-test', max: 2 });
    await pool.query('CREATE TABLE IF NOT EXISTS tx_test (n int)');
  });
  afterAll(async () => {
    await pool?.end();
  });
  const count = async () => (await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM tx_test')).rows[0].n;

  it('commits what fn wrote when it returns, rolls it back when it throws, and gives the connection back either way', async () => {
    await expect(inTransaction(pool, async (client) => (await client.query('INSERT INTO tx_test VALUES (1) RETURNING n')).rows[0].n)).resolves.toBe(1);
    expect(await count()).toBe(1);
    await expect(
      inTransaction(pool, async (client) => {
        await client.query('INSERT INTO tx_test VALUES (2)');
        throw new Error('no');
      }),
    ).rejects.toThrow('no');
    expect(await count()).toBe(1);
    expect(pool.totalCount - pool.idleCount).toBe(0); // nothing left checked out
  });

  it('opens the transaction with the statement given, on a client it does not release', async () => {
    const client = await pool.connect();
    try {
      await expect(inTransaction(client, (c) => c.query('INSERT INTO tx_test VALUES (3)'), 'BEGIN READ ONLY')).rejects.toMatchObject({ code: '25006' });
      expect((await client.query('SELECT 1 AS one')).rows[0].one).toBe(1); // rolled back, still usable
    } finally {
      client.release();
    }
    expect(await count()).toBe(1);
  });
});
