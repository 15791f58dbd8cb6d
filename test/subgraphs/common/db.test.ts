import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../../database/paths';
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
