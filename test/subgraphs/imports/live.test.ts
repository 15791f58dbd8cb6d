import pg from 'pg';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { DEMO, DEMO_USERS } from '../../../database/demo/index';
import { encodeCursor } from '../../../subgraphs/common/cursor';
import { STAGE_CURSOR } from '../../../subgraphs/imports/resolvers';
import { startTestStack, type TestStack } from '../../support/stack';
import { collect, collectResuming } from '../../support/subscriptions';

let stack: TestStack;
let writer: pg.Pool;
beforeAll(async () => {
  stack = await startTestStack();
  writer = new pg.Pool({ connectionString: stack.dbs.biomeroUrl, max: 6 });
});
afterAll(async () => {
  await writer?.end();
  await stack?.stop();
});

const EVENT = 'cursor uuid stage stageRaw';

function client(session: string): Client {
  return createClient({
    url: stack.gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${session}` },
  });
}

/**
 * The cursor of the newest stage row: a subscription resuming after it gets exactly the rows
 * appended later, however long it takes to reach the subgraph (no race with a live start).
 */
async function newestCursor(): Promise<string> {
  const { rows } = await writer.query<{ id: string }>('SELECT max(id) AS id FROM imports');
  return encodeCursor(STAGE_CURSOR, Number(rows[0].id));
}

async function appendStage(uuid: string, stage: string, db: pg.Pool | pg.PoolClient = writer): Promise<void> {
  await db.query(
    `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
     SELECT group_name, user_name, destination_id, destination_type, $2, uuid, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
    [uuid, stage],
  );
}

it('streams every visible stage row to importOrderEvents, filtered by stage, and hides other groups’ rows', async () => {
  const asBob = client(DEMO_USERS.bob.sessionUuid);
  const asAlice = client(DEMO_USERS.alice.sessionUuid);
  try {
    const after = await newestCursor();
    const bobSees = collect(
      asBob,
      `subscription($f: ImportOrderEventFilter, $after: String) { importOrderEvents(filter: $f, after: $after) { ${EVENT} } }`,
      { f: { stages: ['FAILED'] }, after },
      (e) => e.length === 1,
    );
    const aliceSees = collect(asAlice, `subscription($after: String) { importOrderEvents(after: $after) { ${EVENT} } }`, { after }, (e) => e.length === 2);
    await appendStage(DEMO.importOrders.completed, 'Import Failed'); // alice, lab-private: hidden from bob
    await appendStage(DEMO.importOrders.pending, 'Import Started'); // bob: not FAILED
    await appendStage(DEMO.importOrders.pending, 'Import Failed'); // bob: FAILED
    const [bobEvent] = await bobSees;
    expect(bobEvent).toMatchObject({ uuid: DEMO.importOrders.pending, stage: 'FAILED' });
    const aliceEvents = await aliceSees;
    // alice sees her own private order and bob's order in the read-annotate group they share
    expect(aliceEvents.map((e) => [e.uuid, e.stageRaw])).toEqual([
      [DEMO.importOrders.completed, 'Import Failed'],
      [DEMO.importOrders.pending, 'Import Started'],
    ]);
  } finally {
    await asBob.dispose();
    await asAlice.dispose();
  }
});

it('delivers a lower id committed after a higher one, in id order', async () => {
  const c = client(DEMO_USERS.erin.sessionUuid);
  try {
    const events = collect(
      c,
      `subscription($after: String) { importOrderEvents(after: $after) { ${EVENT} } }`,
      { after: await newestCursor() },
      (e) => e.length === 2,
    );
    const slow = await writer.connect();
    await slow.query('BEGIN');
    await appendStage(DEMO.importOrders.started, 'Import Preprocessing', slow); // takes the lower id
    await appendStage(DEMO.importOrders.screen, 'Import Started'); // higher id, committed first
    await new Promise((r) => setTimeout(r, 300));
    await slow.query('COMMIT');
    slow.release();
    const got = await events;
    expect(got.map((e) => e.uuid)).toEqual([DEMO.importOrders.started, DEMO.importOrders.screen]);
  } finally {
    await c.dispose();
  }
});

it('5,000 rows from 4 concurrent writers reach a client that disconnects and resumes 10 times exactly once', async () => {
  const TOTAL = 5000;
  const WRITERS = 4;
  const uuid = DEMO.importOrders.pending; // bob's order in lab-annotate
  const [{ max }] = (await writer.query<{ max: number }>('SELECT max(id)::int AS max FROM imports')).rows;
  const writing = (async () => {
    await Promise.all(
      Array.from({ length: WRITERS }, async (_, w) => {
        for (let i = 0; i < TOTAL / WRITERS; i += 25) {
          // small transactions of 25 rows, interleaving with the other writers
          await writer.query(
            `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
             SELECT 'lab-annotate', 'bob', $2, 'Dataset', 'Import Started', $1, now(), '[]', $3 FROM generate_series(1, 25)`,
            [uuid, String(DEMO.datasets.bobLive), JSON.stringify([`writer-${w}`])],
          );
        }
      }),
    );
  })();

  const c = client(DEMO_USERS.bob.sessionUuid);
  const seen: number[] = [];
  let cursor: string | null = null;
  const query = `subscription($u: ID!, $after: String) { importOrderUpdated(uuid: $u, after: $after) { ${EVENT} } }`;
  const idOf = (cur: string) => Number(Buffer.from(cur, 'base64url').toString().split(':')[1]);
  try {
    // The first subscription starts from just before the writers: the cursor of the newest row then.
    cursor = Buffer.from(`ImportStage:${max}`).toString('base64url');
    // ten deliberate disconnects, then to the end; a SLOW_CONSUMER ending is one more resume
    for (let round = 0; seen.length < TOTAL && round < 100; round++) {
      const chunk = round < 10 ? 200 + round * 37 : TOTAL - seen.length;
      const { events } = await collectResuming(c, query, { u: uuid, after: cursor }, (e) => e.length >= chunk, 30_000);
      for (const e of events) seen.push(idOf(e.cursor));
      if (events.length) cursor = events[events.length - 1].cursor;
    }
    await writing;
    expect(seen.length).toBe(TOTAL);
    expect(new Set(seen).size).toBe(TOTAL);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen); // in id order
    const rows = await writer.query<{ id: number }>('SELECT id::int AS id FROM imports WHERE id > $1 AND uuid = $2 ORDER BY id', [max, uuid]);
    expect(seen).toEqual(rows.rows.map((r) => r.id));
  } finally {
    await c.dispose();
  }
}, 120_000);
