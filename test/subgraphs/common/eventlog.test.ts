import pg from 'pg';
import { LogTailer } from '../../../subgraphs/common/eventlog';
import { createTestDatabases, type TestDatabases } from '../../support/databases';

interface Row {
  id: number;
  v: string;
}

let dbs: TestDatabases;
let pool: pg.Pool;
const tailers: LogTailer<Row>[] = [];

beforeAll(async () => {
  dbs = await createTestDatabases({ seed: false });
  pool = new pg.Pool({ connectionString: dbs.biomeroUrl, max: 6 });
  await pool.query(`CREATE TABLE log_under_test (id bigserial PRIMARY KEY, v text NOT NULL);
    CREATE FUNCTION log_under_test_notify() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_notify('log_under_test', NEW.id::text); RETURN NEW; END $$;`);
});
afterEach(async () => {
  for (const t of tailers.splice(0)) await t.stop();
  await pool.query('DROP TRIGGER IF EXISTS log_under_test_notify ON log_under_test');
});
afterAll(async () => {
  await pool.end();
  await dbs.drop();
});

function tailer(opts: { maxQueue?: number; pollIntervalMs?: number } = {}): LogTailer<Row> {
  const t = new LogTailer<Row>({
    pool,
    name: 'test',
    table: 'log_under_test',
    channel: 'log_under_test',
    pollIntervalMs: opts.pollIntervalMs ?? 50,
    maxQueue: opts.maxQueue,
    fetch: async (client, lower, upper, limit) =>
      (await client.query<Row>('SELECT id::int AS id, v FROM log_under_test WHERE id > $1 AND ($2::bigint IS NULL OR id <= $2) ORDER BY id LIMIT $3', [lower, upper, limit])).rows,
  });
  tailers.push(t);
  return t;
}

async function insert(...values: string[]): Promise<number[]> {
  const { rows } = await pool.query<{ id: number }>('INSERT INTO log_under_test (v) SELECT unnest($1::text[]) RETURNING id::int AS id', [values]);
  return rows.map((r) => r.id);
}

async function next<T>(it: AsyncIterator<T>, ms = 3000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no event in time')), ms)));
  try {
    const result = await Promise.race([it.next(), timeout]);
    if (result.done) throw new Error('stream ended');
    return result.value;
  } finally {
    clearTimeout(timer);
  }
}

async function collect(it: AsyncIterator<Row>, count: number): Promise<string[]> {
  const out: string[] = [];
  while (out.length < count) out.push((await next(it)).v);
  return out;
}

/** No event may arrive within `ms`. */
async function quiet(it: AsyncIterator<Row>, ms: number): Promise<void> {
  const winner = await Promise.race([it.next().then(() => 'event'), new Promise((r) => setTimeout(() => r('quiet'), ms))]);
  expect(winner).toBe('quiet');
}

describe('LogTailer', () => {
  it('starts live without a cursor: history is not replayed', async () => {
    await insert('old-1', 'old-2');
    const t = tailer();
    await t.start();
    const it = t.subscribe(null, () => true);
    await new Promise((r) => setTimeout(r, 100));
    await insert('new-1', 'new-2');
    expect(await collect(it, 2)).toEqual(['new-1', 'new-2']);
    await it.return!();
  });

  it('replays after a cursor, then goes live, with no gap and no duplicate; a filter applies to both', async () => {
    const [a] = await insert('r-a', 'r-b', 'skip', 'r-c');
    const t = tailer();
    const it = t.subscribe(a, (row) => row.v !== 'skip');
    expect(await collect(it, 2)).toEqual(['r-b', 'r-c']);
    await insert('r-d', 'skip', 'r-e');
    expect(await collect(it, 2)).toEqual(['r-d', 'r-e']);
    await it.return!();
  });

  it('wakes at once on pg_notify even with slow polling', async () => {
    await pool.query('CREATE TRIGGER log_under_test_notify AFTER INSERT ON log_under_test FOR EACH ROW EXECUTE FUNCTION log_under_test_notify()');
    const t = tailer({ pollIntervalMs: 60_000 });
    await t.start();
    const it = t.subscribe(null, () => true);
    const started = Date.now();
    await insert('notified');
    expect(await collect(it, 1)).toEqual(['notified']);
    expect(Date.now() - started).toBeLessThan(1000);
    await it.return!();
  });

  it('holds back a row committed before a lower id, and delivers both in id order', async () => {
    const t = tailer();
    await t.start();
    const it = t.subscribe(null, () => true);
    const slow = await pool.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(`INSERT INTO log_under_test (v) VALUES ('first-id-late-commit')`);
      await insert('second-id-early-commit');
      await quiet(it, 400); // the higher id must wait for the lower one
      await slow.query('COMMIT');
      expect(await collect(it, 2)).toEqual(['first-id-late-commit', 'second-id-early-commit']);
    } finally {
      slow.release();
      await it.return!();
    }
  });

  it('moves past an id whose transaction rolled back', async () => {
    const t = tailer();
    await t.start();
    const it = t.subscribe(null, () => true);
    const slow = await pool.connect();
    try {
      await slow.query('BEGIN');
      await slow.query(`INSERT INTO log_under_test (v) VALUES ('rolled-back')`);
      await insert('after-rollback');
      await quiet(it, 300);
      await slow.query('ROLLBACK');
      expect(await collect(it, 1)).toEqual(['after-rollback']);
    } finally {
      slow.release();
      await it.return!();
    }
  });

  it('lets a client resume from its last cursor across a disconnect with nothing lost or repeated', async () => {
    const t = tailer();
    await t.start();
    const first = t.subscribe(null, () => true);
    const ids = await insert('s-1', 's-2', 's-3');
    const seen: Row[] = [];
    for (let i = 0; i < 2; i++) seen.push(await next(first));
    await first.return!();
    await insert('s-4', 's-5'); // written while the client is away
    const resumed = t.subscribe(seen[seen.length - 1].id, () => true);
    expect(await collect(resumed, 3)).toEqual(['s-3', 's-4', 's-5']);
    await quiet(resumed, 200);
    await resumed.return!();
    expect(seen.map((r) => r.id)).toEqual(ids.slice(0, 2));
  });

  it('ends a subscriber that falls too far behind with SLOW_CONSUMER instead of buffering without bound', async () => {
    const t = tailer({ maxQueue: 5 });
    await t.start();
    const it = t.subscribe(null, () => true);
    await insert(...Array.from({ length: 20 }, (_, i) => `flood-${i}`));
    await new Promise((r) => setTimeout(r, 500));
    let error: unknown;
    try {
      for (let i = 0; i < 20; i++) await next(it);
    } catch (err) {
      error = err;
    }
    expect((error as { extensions?: { code?: string } })?.extensions?.code).toBe('SLOW_CONSUMER');
    expect(t.subscriberCount).toBe(0);
  });
});
