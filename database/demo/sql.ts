import pg from 'pg';

/** Anything that runs queries: a pool, a client, or a pool client inside a transaction. */
export type Queryable = Pick<pg.ClientBase, 'query'>;
export type Db = pg.Pool | pg.Client;

export type Row = Record<string, unknown>;

/**
 * INSERT rows into `table`, skipping rows whose key already exists, so seeding is idempotent.
 * Column names are always quoted ("session", "row", "group" are reserved); values are bound
 * parameters. Rows may omit columns; missing ones are sent as NULL.
 */
export async function insertRows(q: Queryable, table: string, rows: Row[]): Promise<void> {
  if (rows.length === 0) return;
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  // Keep statements well below the 65535 bound-parameter limit.
  const perStatement = Math.max(1, Math.floor(30000 / columns.length));
  for (let start = 0; start < rows.length; start += perStatement) {
    const chunk = rows.slice(start, start + perStatement);
    const values: unknown[] = [];
    const tuples = chunk.map((row) => {
      const slots = columns.map((c) => {
        values.push(row[c] ?? null);
        return `$${values.length}`;
      });
      return `(${slots.join(', ')})`;
    });
    const cols = columns.map((c) => `"${c}"`).join(', ');
    await q.query(`INSERT INTO ${table} (${cols}) VALUES ${tuples.join(', ')} ON CONFLICT DO NOTHING`, values);
  }
}

/** Run `fn` in one transaction on a dedicated connection. */
export async function inTransaction<T>(db: Db, fn: (q: Queryable) => Promise<T>): Promise<T> {
  const client = db instanceof pg.Pool ? await db.connect() : db;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    if (db instanceof pg.Pool) (client as pg.PoolClient).release();
  }
}

/**
 * Move sequence `seq` past `minValue` (never backwards), so later plain inserts that take ids
 * from it (OMERO's ome_nextval, SQLAlchemy's serial) do not collide with the fixed demo ids.
 */
export async function advanceSequence(q: Queryable, seq: string, minValue: number): Promise<void> {
  if (minValue < 1) return;
  await q.query(
    `SELECT setval($1::regclass, $2::bigint)
       FROM pg_sequences
      WHERE schemaname = 'public' AND sequencename = $3 AND COALESCE(last_value, 0) < $2::bigint`,
    [seq, minValue, seq],
  );
}

/**
 * Python's json.dumps with default settings: ', ' and ': ' separators and non-ASCII escaped
 * (ensure_ascii=True). The BIOMERO services and OMERO.forms are Python; their JSON text looks
 * like this, and readers must cope with it byte for byte.
 */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'string') return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (ch) => '\\u' + ch.charCodeAt(0).toString(16).padStart(4, '0'));
  if (typeof value === 'number' || typeof value === 'boolean') return JSON.stringify(value);
  if (Array.isArray(value)) return '[' + value.map(pyJson).join(', ') + ']';
  return (
    '{' +
    Object.entries(value as Row)
      .map(([k, v]) => `${pyJson(k)}: ${pyJson(v)}`)
      .join(', ') +
    '}'
  );
}

/** Python's repr() of a list of strings, e.g. "['a.tif', 'b.tif']" (how the importer writes Files). */
export function pyListRepr(items: readonly (string | number)[]): string {
  return '[' + items.map((i) => (typeof i === 'number' ? String(i) : `'${i}'`)).join(', ') + ']';
}

/** A deterministic 40-hex "sha1" for demo rows (not a real digest of anything). */
export function fakeSha1(seed: string): string {
  let h = 0x811c9dc5;
  let out = '';
  for (let round = 0; out.length < 40; round++) {
    for (const ch of `${seed}#${round}`) {
      h ^= ch.charCodeAt(0);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    out += h.toString(16).padStart(8, '0');
  }
  return out.slice(0, 40);
}
