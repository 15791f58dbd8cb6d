import pg from 'pg';
import { Registry } from 'prom-client';
import { HOLDERS_SQL, LogTailer } from '../../../subgraphs/common/eventlog';
import { registerEventLag } from '../../../subgraphs/common/metrics';
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
    CREATE TABLE other_log (id bigserial PRIMARY KEY, v text NOT NULL);
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

function tailer(opts: { maxQueue?: number; pollIntervalMs?: number; table?: string; pool?: pg.Pool } = {}): LogTailer<Row> {
  const table = opts.table ?? 'log_under_test';
  const t = new LogTailer<Row>({
    pool: opts.pool ?? pool,
    name: table,
    table,
    channel: table,
    pollIntervalMs: opts.pollIntervalMs ?? 50,
    maxQueue: opts.maxQueue,
    fetch: async (client, lower, upper, limit) =>
      (
        await client.query<Row>(`SELECT id::int AS id, v FROM ${table} WHERE id > $1 AND ($2::bigint IS NULL OR id <= $2) ORDER BY id LIMIT $3`, [
          lower,
          upper,
          limit,
        ])
      ).rows,
  });
  tailers.push(t);
  return t;
}

async function insert(...values: string[]): Promise<number[]> {
  return insertInto('log_under_test', values);
}

async function insertInto(table: string, values: string[], client: pg.Pool | pg.PoolClient = pool): Promise<number[]> {
  const { rows } = await client.query<{ id: number }>(`INSERT INTO ${table} (v) SELECT unnest($1::text[]) RETURNING id::int AS id`, [values]);
  return rows.map((r) => r.id);
}

/** A transaction that has inserted `values` and stays open until commit() or rollback(). */
async function openTransaction(table: string, ...values: string[]): Promise<{ ids: number[]; commit(): Promise<void>; rollback(): Promise<void> }> {
  const client = await pool.connect();
  await client.query('BEGIN');
  const ids = await insertInto(table, values, client);
  const end = async (sql: string) => {
    try {
      await client.query(sql);
    } finally {
      client.release();
    }
  };
  return { ids, commit: () => end('COMMIT'), rollback: () => end('ROLLBACK') };
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

  it('waits for a writer that took its id with nextval before its INSERT (it holds the sequence, not yet the table)', async () => {
    const t = tailer();
    await t.start();
    const it = t.subscribe(null, () => true);
    const early = await pool.connect();
    try {
      await early.query('BEGIN');
      const { rows } = await early.query<{ id: string }>(`SELECT nextval(pg_get_serial_sequence('log_under_test', 'id')) AS id`);
      await insert('later-id-committed-first');
      await quiet(it, 600); // the lower id is still to come
      await early.query('INSERT INTO log_under_test (id, v) VALUES ($1, $2)', [rows[0].id, 'id-taken-first']);
      await early.query('COMMIT');
      expect(await collect(it, 2)).toEqual(['id-taken-first', 'later-id-committed-first']);
    } finally {
      early.release();
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

  it('a subscriber resuming while a round is between taking rows and broadcasting them receives each of them once', async () => {
    // the round reads the lock holders between taking settled rows and broadcasting them: that read waits here
    let gate: Promise<void> | null = null;
    let release!: () => void;
    let reached!: () => void;
    const atGate = new Promise<void>((resolve) => (reached = resolve));
    const gated = {
      query: (...args: Parameters<pg.Pool['query']>) => {
        if (gate && args[0] === HOLDERS_SQL) {
          reached();
          return gate.then(() => (pool.query as (...a: unknown[]) => unknown)(...args));
        }
        return (pool.query as (...a: unknown[]) => unknown)(...args);
      },
      connect: () => pool.connect(),
    } as unknown as pg.Pool;
    const [before] = await insert('race-0');
    const t = tailer({ pollIntervalMs: 60_000, pool: gated }); // rounds only when woken
    await t.start();
    gate = new Promise<void>((resolve) => (release = resolve));
    await insert('race-1'); // settled
    const slow = await openTransaction('log_under_test', 'race-2'); // open: a gap
    await insert('race-3'); // held behind it
    t.wake(); // takes race-1, then reads the holders for the gap (held at the gate)
    await atGate;
    const resumed = t.subscribe(before, () => true);
    expect((await next(resumed)).v).toBe('race-1'); // from its replay: the frontier has passed it
    gate = null;
    release(); // the round goes on and broadcasts race-1
    await slow.commit();
    const rounds = setInterval(() => t.wake(), 50);
    try {
      expect(await collect(resumed, 2)).toEqual(['race-2', 'race-3']);
      await quiet(resumed, 200);
    } finally {
      clearInterval(rounds);
      await resumed.return!();
    }
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

  it('delivers a row whose transaction was open across a tailer stop and start, exactly once and in cursor order', async () => {
    const first = tailer();
    await first.start();
    const [before] = await insert('before');
    const slow = await openTransaction('log_under_test', 'late');
    const [above] = await insert('above-late');
    const it1 = first.subscribe(before - 1, () => true);
    expect(await collect(it1, 1)).toEqual(['before']);
    await quiet(it1, 300); // 'above-late' waits for 'late'
    await it1.return!();
    await first.stop();

    // a new process: its max is above the open transaction's id
    const second = tailer();
    await second.start();
    const resumed = second.subscribe(before, () => true);
    await insert('after-restart');
    await quiet(resumed, 500); // the open transaction may still commit an id above the cursor
    const leaver = second.subscribe(before, () => true); // one that leaves while waiting ends at once
    const leaverNext = leaver.next();
    await leaver.return!();
    expect(await leaverNext).toEqual({ value: undefined, done: true });
    await slow.commit();
    expect(await collect(resumed, 3)).toEqual(['late', 'above-late', 'after-restart']);
    await quiet(resumed, 300);
    await resumed.return!();
    expect(slow.ids[0]).toBeLessThan(above);
  });

  it('holds rows behind a transaction for as long as it stays open — there is no timeout — then delivers all in order', async () => {
    const t = tailer();
    await t.start();
    const it = t.subscribe(t.position, () => true);
    const slow = await openTransaction('log_under_test', 'long-1');
    await insert('waits-1');
    for (let i = 0; i < 6; i++) {
      await quiet(it, 500); // 3 s, many poll rounds: nothing is given up
      await insert(`waits-${i + 2}`);
    }
    await slow.commit();
    expect(await collect(it, 8)).toEqual(['long-1', 'waits-1', 'waits-2', 'waits-3', 'waits-4', 'waits-5', 'waits-6', 'waits-7']);
    await it.return!();
  });

  it('a long transaction on one table does not delay another table’s stream', async () => {
    const held = tailer();
    const other = tailer({ table: 'other_log', pollIntervalMs: 100 });
    await Promise.all([held.start(), other.start()]);
    const heldStream = held.subscribe(held.position, () => true);
    const otherStream = other.subscribe(other.position, () => true);
    const slow = await openTransaction('log_under_test', 'long');
    try {
      await insert('held-behind-long');
      const started = Date.now();
      // a gap on the other table too (a rolled-back id), settled by that table's writers alone
      const rolledBack = await openTransaction('other_log', 'rolled-back');
      await insertInto('other_log', ['free-1']);
      await rolledBack.rollback();
      expect(await collect(otherStream, 1)).toEqual(['free-1']);
      await insertInto('other_log', ['free-2']);
      expect(await collect(otherStream, 1)).toEqual(['free-2']);
      expect(Date.now() - started).toBeLessThan(2500);
      await quiet(heldStream, 200);
    } finally {
      await slow.rollback();
    }
    expect(await collect(heldStream, 1)).toEqual(['held-behind-long']);
    await heldStream.return!();
    await otherStream.return!();
  });

  it('shows held rows and the oldest hold age in the metrics while a transaction holds them', async () => {
    const registry = new Registry();
    registerEventLag(registry);
    const t = tailer();
    await t.start();
    const slow = await openTransaction('log_under_test', 'open');
    await insert('held-a', 'held-b');
    const read = async () => registry.metrics();
    let text = '';
    const until = Date.now() + 5000;
    do {
      await new Promise((r) => setTimeout(r, 200));
      text = await read();
    } while (Date.now() < until && !/omero_graph_live_oldest_hold_seconds\{table="log_under_test"\} (1|2|3)/.test(text));
    expect(text).toMatch(/omero_graph_live_held_rows\{table="log_under_test"\} 2\n/);
    expect(text).toMatch(/omero_graph_live_oldest_hold_seconds\{table="log_under_test"\} [1-9]/);
    await slow.commit();
    const settled = Date.now() + 5000;
    do {
      await new Promise((r) => setTimeout(r, 100));
      text = await read();
    } while (Date.now() < settled && !/omero_graph_live_held_rows\{table="log_under_test"\} 0\n/.test(text));
    expect(text).toMatch(/omero_graph_live_held_rows\{table="log_under_test"\} 0\n/);
    expect(text).toMatch(/omero_graph_live_oldest_hold_seconds\{table="log_under_test"\} 0\n/);
  });

  it('refuses to start on a table whose id sequence caches ids (they would not be handed out in order)', async () => {
    await pool.query('CREATE TABLE IF NOT EXISTS cached_log (id bigserial PRIMARY KEY, v text); ALTER SEQUENCE cached_log_id_seq CACHE 20');
    await expect(tailer({ table: 'cached_log' }).start()).rejects.toThrow(/CACHE 20/);
  });
});
