import pg from 'pg';
import { DEMO_USERS } from '../../database/demo/index';
import { SessionResolver, sessionKeyFromCookie } from '../../gateway/sessions';
import { createTestDatabases, type TestDatabases } from '../support/databases';
import { copySession } from '../support/identities';
import { TEST_SECRET } from '../support/stack';

describe('session cookie', () => {
  it('finds the named cookie; absent or empty is anonymous, malformed is kept (and then refused)', () => {
    expect(sessionKeyFromCookie('a=1; omero_graph_session=abc-123', 'omero_graph_session')).toBe('abc-123');
    expect(sessionKeyFromCookie('omero_graph_session="quoted"', 'omero_graph_session')).toBe('quoted');
    expect(sessionKeyFromCookie('a=1', 'omero_graph_session')).toBeNull();
    expect(sessionKeyFromCookie('omero_graph_session=', 'omero_graph_session')).toBeNull();
    expect(sessionKeyFromCookie('omero_graph_session=%E0%A4%A', 'omero_graph_session')).toBe('%E0%A4%A');
  });
});

describe('SessionResolver', () => {
  let dbs: TestDatabases;
  let omero: pg.Pool;
  let queries = 0;
  beforeAll(async () => {
    dbs = await createTestDatabases();
    omero = new pg.Pool({ connectionString: dbs.omeroUrl, max: 4 });
    const query = omero.query.bind(omero) as (...args: unknown[]) => unknown;
    omero.query = ((...args: unknown[]) => {
      queries++; // counted on the real pool
      return query(...args);
    }) as typeof omero.query;
  });
  afterAll(async () => {
    await omero?.end();
    await dbs?.drop();
  });

  it('lookups of one key at the same time share one read of the database: a client opening five connections at once', async () => {
    const sessions = new SessionResolver(omero, { secret: TEST_SECRET, cacheMs: 0, tokenTtlSeconds: 60 });
    queries = 0;
    const answers = await Promise.all(Array.from({ length: 5 }, () => sessions.tokenFor(DEMO_USERS.bob.sessionUuid)));
    expect(queries).toBe(2); // the session, its groups
    expect(new Set(answers.map((a) => a?.token)).size).toBe(1);
    expect(answers[0]?.caller?.userName).toBe('bob');
    await sessions.tokenFor(DEMO_USERS.bob.sessionUuid); // cacheMs 0: read again once the first is done
    expect(queries).toBe(4);
  });

  it('a session closed during a read and forgotten (logout) is not cached from that read', async () => {
    const sessions = new SessionResolver(omero, { secret: TEST_SECRET, cacheMs: 60_000, tokenTtlSeconds: 60 });
    const key = await copySession(omero, DEMO_USERS.bob);
    // the read finds the session open, then waits for the memberships, locked here
    const locker = await omero.connect();
    await locker.query('BEGIN; LOCK TABLE groupexperimentermap IN ACCESS EXCLUSIVE MODE');
    const reading = sessions.tokenFor(key);
    while ((await omero.query(`SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted`)).rows[0].n === 0) await new Promise((r) => setTimeout(r, 10));
    await omero.query('UPDATE session SET closed = now() WHERE uuid = $1', [key]);
    sessions.forget(key);
    await locker.query('COMMIT');
    locker.release();
    expect((await reading)?.caller?.userName).toBe('bob'); // what that read saw
    expect(await sessions.tokenFor(key)).toBeNull(); // not remembered
  });
});
