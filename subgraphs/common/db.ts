import pg from 'pg';

/** int8 columns (OMERO ids) arrive as strings by default; ids stay well below 2^53, so parse them. */
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export type Pool = pg.Pool;

export interface PoolOptions {
  /** application_name shown in pg_stat_activity */
  name: string;
  max?: number;
  /** OMERO is read only for us: every transaction on this pool is READ ONLY. */
  readOnly?: boolean;
}

/** How long a pool keeps an idle connection open (docs/limits.md). */
export const POOL_IDLE_TIMEOUT_MS = 30_000;

export function createPool(connectionString: string, options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    application_name: `omero-graph/${options.name}`,
    idleTimeoutMillis: POOL_IDLE_TIMEOUT_MS,
    ...(options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
  });
  // An idle client losing its server must not crash the process; the pool replaces it.
  pool.on('error', () => undefined);
  // Nor may a checked-out one (PostgreSQL stopping sends "terminating connection" to every
  // client): its query in flight fails, and the pool drops it on release as not queryable.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * OMERO and BIOMERO write `timestamp without time zone` in UTC wall-clock time (event.time,
 * biomero view tables); read them as UTC rather than in this process's time zone.
 */
pg.types.setTypeParser(pg.types.builtins.TIMESTAMP, (value) => new Date(`${value.replace(' ', 'T')}Z`));

/** SQLSTATE classes of a database that is not there (yet): 08 connection exception, 57P0x shutdown / not accepting connections. */
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3])$/;
/** What node-postgres and the socket say when the server went away or never answered. */
const UNAVAILABLE_MESSAGE =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|ECONNREFUSED|ECONNRESET|EPIPE|the database system is (starting up|shutting down)/i;

/**
 * Whether an error means "the database cannot be reached right now" (restarting, failing over, a
 * network cut) rather than a bug: subgraphs answer it as SERVICE_UNAVAILABLE, which tells a
 * client to retry, instead of masking it as INTERNAL_SERVER_ERROR.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!error || typeof error !== 'object') return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT)$/.test(code))) return true;
  return typeof message === 'string' && UNAVAILABLE_MESSAGE.test(message);
}

/**
 * `fn` in one transaction opened by `begin` (`BEGIN`, `BEGIN READ ONLY; SET LOCAL …`, …) on a
 * connection of `db`, released afterwards, or on `db` itself when it is a client: committed when
 * `fn` returns, rolled back when it throws. The one place a transaction is opened and closed.
 */
export async function inTransaction<T>(db: pg.Pool | pg.ClientBase, fn: (client: pg.ClientBase) => Promise<T>, begin = 'BEGIN'): Promise<T> {
  const client = db instanceof pg.Pool ? await db.connect() : db;
  try {
    await client.query(begin);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    if (db instanceof pg.Pool) (client as pg.PoolClient).release();
  }
}
