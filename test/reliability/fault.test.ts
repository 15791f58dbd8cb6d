import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { appendEvents, newRunEvents } from '../../database/demo/workflows';
import type { EmbeddedPostgres } from '../../database/embedded';
import { startEmbeddedPostgresProcess as startEmbeddedPostgres } from '../support/embedded-process';
import { projectRoot } from '../../database/paths';
import { applySchema, createDatabaseIfMissing, databaseUrl } from '../../database/setup';
import { decodeIdCursor, encodeCursor } from '../../subgraphs/common/cursor';
import { IDENTITY_CONNECTION_PARAM, signIdentity } from '../../subgraphs/common/identity';

/**
 * Live status under faults (docs/reliability.md): writers commit rows of `imports` and
 * `workflowtracker_events` out of id order and hold transactions open, while the imports and
 * workflows subgraph processes are killed and restarted and PostgreSQL itself is restarted. Resuming clients must end
 * with exactly the table's rows — none lost, none twice, in id order — and see the next event
 * within 10 s of each fault. Its own PostgreSQL (restarted by the test) and its own processes.
 */
const SECRET = 'fault-test-secret-0123456789abcdef0123456789';
const root = projectRoot();
const RECOVERY_MS = 10_000;

const streams = {
  imports: { table: 'imports', kind: 'ImportStage', query: 'subscription($after: String) { importOrderEvents(after: $after) { cursor } }' },
  workflows: { table: 'workflowtracker_events', kind: 'WorkflowEvent', query: 'subscription($after: String) { workflowRunEvents(after: $after) { cursor } }' },
} as const;
type StreamName = keyof typeof streams;

let server: EmbeddedPostgres | null = null;
let dataDir = '';
let pgPort = 0;
let biomeroUrl = '';
const children = new Set<ChildProcess>();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const startPostgres = async () => {
  server = await startEmbeddedPostgres({ dataDir, port: pgPort, durable: false });
};

/** A subgraph as its own process (its main.ts, as in production), on a fixed port so clients find it again. */
function startSubgraph(name: StreamName, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-r', join(root, 'test/support/register-ts.cjs'), join(root, `subgraphs/${name}/main.ts`)], {
    env: {
      ...process.env,
      JEST_WORKER_ID: '',
      LOG_LEVEL: 'info',
      IDENTITY_SECRET: SECRET,
      HOST: '127.0.0.1',
      BIOMERO_DATABASE_URL: biomeroUrl,
      [`${name.toUpperCase()}_PORT`]: String(port),
      LIVE_POLL_MS: '200',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${name} did not start:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (/"msg":"subgraph listening"/.test(out)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stderr!.off('data', onData);
        child.stdout!.resume();
        child.stderr!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}:\n${out}`)));
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** A client that keeps its last cursor and resubscribes with it after any error or disconnect. */
class ResumingClient {
  readonly ids: number[] = [];
  lastSeenAt = 0;
  resumes = 0;
  private stopped = false;
  private dispose: (() => Promise<void>) | null = null;

  constructor(
    private readonly url: string,
    private readonly stream: (typeof streams)[StreamName],
    private after: number,
  ) {
    void this.run();
  }

  private async run(): Promise<void> {
    const identity = signIdentity({ userId: 0, userName: 'root', isAdmin: true, groups: [] }, SECRET, 600);
    while (!this.stopped) {
      const client = createClient({
        url: this.url,
        webSocketImpl: WebSocket,
        retryAttempts: 0,
        lazy: true,
        connectionParams: { [IDENTITY_CONNECTION_PARAM]: identity },
      });
      this.dispose = async () => void (await client.dispose());
      await new Promise<void>((resolve) => {
        client.subscribe(
          { query: this.stream.query, variables: { after: encodeCursor(this.stream.kind, this.after) } },
          {
            next: (result) => {
              if (result.errors) return;
              const cursor = (Object.values(result.data as object)[0] as { cursor: string }).cursor;
              const id = decodeIdCursor(this.stream.kind, cursor);
              this.ids.push(id);
              this.after = id;
              this.lastSeenAt = Date.now();
            },
            error: () => resolve(),
            complete: () => resolve(),
          },
        );
      });
      await client.dispose();
      if (this.stopped) break;
      this.resumes++;
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  get last(): number {
    return this.after;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.dispose?.();
  }
}

/**
 * Writes rows in short transactions, and now and then holds one open for 1-2 s while others
 * commit higher ids: the out-of-order commits live status must settle. Errors (PostgreSQL
 * restarting) are waited out; an aborted transaction's rows never existed.
 */
class Writer {
  private stopped = false;
  private done: Promise<void>;
  committed = 0;

  constructor(
    private readonly pool: pg.Pool,
    private readonly write: (client: pg.PoolClient) => Promise<void>,
    private readonly holdEvery: number,
  ) {
    this.done = this.run();
  }

  private async run(): Promise<void> {
    for (let i = 0; !this.stopped; i++) {
      let client: pg.PoolClient | null = null;
      try {
        client = await this.pool.connect();
        await client.query('BEGIN');
        await this.write(client);
        if (i % this.holdEvery === 0) await new Promise((r) => setTimeout(r, 1000 + Math.random() * 1000));
        await client.query('COMMIT');
        this.committed++;
        client.release();
      } catch {
        client?.release(true);
        await new Promise((r) => setTimeout(r, 200));
      }
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 40));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

async function insertStage(client: pg.PoolClient): Promise<void> {
  await client.query(
    `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
     VALUES ('lab-private', 'alice', '1', 'Dataset', 'Import Started', $1, now(), '["/data/a.tif"]', '["a.tif"]')`,
    [randomUUID()],
  );
}

async function insertRun(client: pg.PoolClient): Promise<void> {
  await appendEvents(client, newRunEvents({ id: randomUUID(), taskId: randomUUID(), user: 2, group: 3 }));
}

async function until(check: () => boolean, ms: number): Promise<number> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > ms) throw new Error(`not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return Date.now() - started;
}

beforeAll(async () => {
  dataDir = join(root, '.data', 'test-postgres', `fault-${process.pid}-${Date.now()}`);
  pgPort = await freePort();
  await startPostgres();
  await createDatabaseIfMissing(server!.url, 'fault_biomero');
  biomeroUrl = databaseUrl(server!.url, 'fault_biomero');
  await applySchema(biomeroUrl, null, ['biomero.sql', 'notify.sql']);
}, 60_000);

afterAll(async () => {
  for (const child of [...children]) await kill(child);
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

it('loses nothing and repeats nothing across subgraph kills and a PostgreSQL restart, with writers holding transactions open', async () => {
  const ports = { imports: await freePort(), workflows: await freePort() };
  const processes = { imports: await startSubgraph('imports', ports.imports), workflows: await startSubgraph('workflows', ports.workflows) };
  const pool = new pg.Pool({ connectionString: biomeroUrl, max: 8 });
  // connections dropped by the PostgreSQL restart: the writers' queries fail and they retry
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  const maxId = async (table: string) => Number((await pool.query(`SELECT coalesce(max(id), 0)::bigint AS id FROM ${table}`)).rows[0].id);
  const start = { imports: await maxId('imports'), workflows: await maxId('workflowtracker_events') };

  const writers = [new Writer(pool, insertStage, 7), new Writer(pool, insertStage, 11), new Writer(pool, insertRun, 5), new Writer(pool, insertRun, 13)];
  const clients: Record<StreamName, ResumingClient[]> = { imports: [], workflows: [] };
  for (const name of ['imports', 'workflows'] as const) {
    for (let i = 0; i < 2; i++) clients[name].push(new ResumingClient(`ws://127.0.0.1:${ports[name]}/graphql`, streams[name], start[name]));
  }
  const all = () => [...clients.imports, ...clients.workflows];
  const recovery: Record<string, number> = {};
  /** after a fault: every client sees an event newer than it had, within RECOVERY_MS */
  const nextEventWithin = async (fault: string, since: number) => {
    const mark = new Map(all().map((c) => [c, c.last]));
    const waited = await until(() => all().every((c) => c.last > mark.get(c)!), RECOVERY_MS);
    recovery[fault] = Date.now() - since;
    return waited;
  };

  try {
    await until(() => all().every((c) => c.ids.length > 5), 15_000);

    // 1. both subgraphs die while a transaction on each table holds an id below rows already committed
    const held = [await pool.connect(), await pool.connect()];
    for (const client of held) await client.query('BEGIN');
    await insertStage(held[0]);
    await insertRun(held[1]);
    await new Promise((r) => setTimeout(r, 500)); // writers commit ids above them
    // more than 1,000 ids above the held one: a start window of ids (the old rule) would miss it
    await pool.query(
      `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
       SELECT 'lab-private', 'alice', '1', 'Dataset', 'Import Pending', gen_random_uuid()::text, now(), '[]', '[]' FROM generate_series(1, 1100)`,
    );
    await Promise.all([kill(processes.imports), kill(processes.workflows)]);
    await new Promise((r) => setTimeout(r, 1000));
    [processes.imports, processes.workflows] = await Promise.all([startSubgraph('imports', ports.imports), startSubgraph('workflows', ports.workflows)]);
    const subgraphsBack = Date.now();
    await new Promise((r) => setTimeout(r, 1000));
    for (const client of held) {
      await client.query('COMMIT'); // committed after the restart, below the new processes' starting max
      client.release();
    }
    await nextEventWithin('imports and workflows subgraphs killed and restarted', subgraphsBack);

    // 2. PostgreSQL restarts: open transactions are aborted, every connection drops
    await new Promise((r) => setTimeout(r, 2000));
    await server!.stop();
    await new Promise((r) => setTimeout(r, 1000));
    await startPostgres();
    await nextEventWithin('PostgreSQL restarted', Date.now());

    await new Promise((r) => setTimeout(r, 3000));
  } finally {
    await Promise.all(writers.map((w) => w.stop()));
  }

  // every client ends with exactly the table's rows after its starting cursor, in order
  const tableIds = async (table: string, after: number) =>
    (await pool.query<{ id: number }>(`SELECT id::int AS id FROM ${table} WHERE id > $1 ORDER BY id`, [after])).rows.map((r) => r.id);
  const expected = { imports: await tableIds('imports', start.imports), workflows: await tableIds('workflowtracker_events', start.workflows) };
  for (const name of ['imports', 'workflows'] as const) {
    const want = expected[name];
    await until(() => clients[name].every((c) => c.ids.length >= want.length), 15_000).catch(() => undefined);
    for (const client of clients[name]) {
      const lost = want.filter((id) => !client.ids.includes(id));
      const duplicated = client.ids.length - new Set(client.ids).size;
      const outOfOrder = client.ids.filter((id, i) => i > 0 && id <= client.ids[i - 1]).length;
      expect({ stream: name, lost, duplicated, outOfOrder, extra: client.ids.filter((id) => !want.includes(id)) }).toEqual({
        stream: name,
        lost: [],
        duplicated: 0,
        outOfOrder: 0,
        extra: [],
      });
    }
  }
  expect(all().every((c) => c.resumes >= 1)).toBe(true); // they did resume from their cursor
  // the figures for docs/reliability.md
  console.log(
    JSON.stringify({
      rows: { imports: expected.imports.length, workflows: expected.workflows.length },
      recoveryMs: recovery,
      resumes: all().map((c) => c.resumes),
    }),
  );

  for (const c of all()) await c.stop();
  await pool.end();
}, 90_000);
