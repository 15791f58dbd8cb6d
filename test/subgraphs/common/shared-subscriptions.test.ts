import { parse } from 'graphql';
import pg from 'pg';
import { DEMO, DEMO_USERS } from '../../../database/demo/index';
import { encodeCursor } from '../../../subgraphs/common/cursor';
import { signIdentity } from '../../../subgraphs/common/identity';
import { startSubgraph, type RunningService } from '../../../subgraphs/common/server';
import { liveSharedFromEnv, operationKey, operationShape, scopeKey } from '../../../subgraphs/common/shared-subscriptions';
import { importsSubgraph } from '../../../subgraphs/imports/index';
import { STAGE_CURSOR } from '../../../subgraphs/imports/resolvers';
import { createTestDatabases, type TestDatabases } from '../../support/databases';
import { demoIdentity } from '../../support/identities';
import { RawSubscriber } from '../../support/raw-subscriber';
import { TEST_SECRET } from '../../support/stack';

/**
 * Live events executed once per (document, variables, scope) in a subgraph and fanned out
 * (subgraphs/common/shared-subscriptions.ts, docs/live-status.md, Shared execution), with the
 * cursors still exact. Executions are counted on the subgraph's /metrics.
 */
let dbs: TestDatabases;
let imports: RunningService;
let writer: pg.Pool;
beforeAll(async () => {
  dbs = await createTestDatabases();
  imports = await startSubgraph(importsSubgraph({ databaseUrl: dbs.biomeroUrl }), { port: 0, host: '127.0.0.1', secret: TEST_SECRET });
  writer = new pg.Pool({ connectionString: dbs.biomeroUrl, max: 3 });
}, 60_000);
afterAll(async () => {
  await writer?.end();
  await imports?.stop();
  await dbs?.drop();
});

const QUERY = `subscription($after: String) { importOrderEvents(after: $after) { cursor uuid stageRaw order { id description user { userName } } } }`;
const open: RawSubscriber[] = [];
afterEach(() => {
  for (const s of open.splice(0)) s.close();
});

function subscriber(user: keyof typeof DEMO_USERS): RawSubscriber {
  const s = new RawSubscriber(imports.url, { identity: signIdentity(demoIdentity(DEMO_USERS[user]), TEST_SECRET, 3600) });
  open.push(s);
  return s;
}

async function counts(): Promise<{ execution: number; delivery: number }> {
  const text = await (await fetch(imports.url.replace(/\/graphql$/, '/metrics'))).text();
  const read = (kind: string) => Number(new RegExp(`omero_graph_live_results_total\\{subgraph="imports",kind="${kind}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  return { execution: read('execution'), delivery: read('delivery') };
}

async function newestCursor(): Promise<string> {
  const { rows } = await writer.query<{ id: string }>('SELECT max(id) AS id FROM imports');
  return encodeCursor(STAGE_CURSOR, Number(rows[0].id));
}

/** Appends a stage row to an order (its owner and group); returns the stage written. */
async function appendStage(uuid: string, stage: string): Promise<string> {
  await writer.query(
    `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
     SELECT group_name, user_name, destination_id, destination_type, $2, uuid, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
    [uuid, stage],
  );
  return stage;
}

const stagesOf = (s: RawSubscriber) => s.results.map((r) => r.data.importOrderEvents.stageRaw as string).filter((stage) => stage !== 'Warm-up');

/** One row every subscriber sees, received: their replays are over, the next rows reach them live. */
async function live(subscribers: RawSubscriber[]): Promise<void> {
  await appendStage(DEMO.importOrders.pending, 'Warm-up');
  for (const s of subscribers) await s.until('the warm-up row', () => s.frames.length === 1);
  for (const s of subscribers) s.frames.length = 0;
}

it('gives two subscribers of one scope byte-identical payloads from one execution per event', async () => {
  const after = await newestCursor();
  const [first, second] = [subscriber('bob'), subscriber('bob')];
  await Promise.all([first.subscribe(QUERY, { after }), second.subscribe(QUERY, { after })]);
  await live([first, second]);
  const before = await counts();
  await appendStage(DEMO.importOrders.pending, 'Shared A');
  await appendStage(DEMO.importOrders.pending, 'Shared B');
  await first.until('two events', () => first.frames.length === 2);
  await second.until('two events', () => second.frames.length === 2);
  const after2 = await counts();
  expect(first.frames).toEqual(second.frames); // the same bytes (operation id "1" on both connections)
  expect(stagesOf(first)).toEqual(['Shared A', 'Shared B']);
  expect(first.results[0].data.importOrderEvents.order.user.userName).toBe('bob');
  expect(after2.delivery - before.delivery).toBe(4);
  expect(after2.execution - before.execution).toBe(2);
});

it('never shares an execution between different scopes, and each sees only its own rows', async () => {
  const after = await newestCursor();
  const [bob, alice] = [subscriber('bob'), subscriber('alice')];
  await Promise.all([bob.subscribe(QUERY, { after }), alice.subscribe(QUERY, { after })]);
  await live([bob, alice]);
  const before = await counts();
  await appendStage(DEMO.importOrders.completed, 'Alice private'); // alice, lab-private: not bob's
  await appendStage(DEMO.importOrders.pending, 'Both see'); // bob's, in the read-annotate group they share
  await alice.until('two events', () => alice.frames.length === 2);
  await bob.until('one event', () => bob.frames.length === 1);
  expect(stagesOf(alice)).toEqual(['Alice private', 'Both see']);
  expect(stagesOf(bob)).toEqual(['Both see']);
  const counted = await counts();
  // the row both see: executed once per scope
  expect(counted.execution - before.execution).toBe(3);
  expect(counted.delivery - before.delivery).toBe(3);
});

it('a subscriber leaving does not disturb the others of its group', async () => {
  const after = await newestCursor();
  const subscribers = [subscriber('bob'), subscriber('bob'), subscriber('bob')];
  await Promise.all(subscribers.map((s) => s.subscribe(QUERY, { after })));
  await appendStage(DEMO.importOrders.pending, 'Leave 1');
  await Promise.all(subscribers.map((s) => s.until('first event', () => s.frames.length === 1)));
  subscribers[0].complete();
  await appendStage(DEMO.importOrders.pending, 'Leave 2');
  await appendStage(DEMO.importOrders.pending, 'Leave 3');
  for (const s of subscribers.slice(1)) await s.until('three events', () => s.frames.length === 3);
  expect(stagesOf(subscribers[1])).toEqual(['Leave 1', 'Leave 2', 'Leave 3']);
  expect(subscribers[2].frames).toEqual(subscribers[1].frames);
  expect(stagesOf(subscribers[0])).toEqual(['Leave 1']);
});

it('resumes exactly after a disconnect while others of its scope stay live', async () => {
  const start = await newestCursor();
  const [steady, leaving] = [subscriber('bob'), subscriber('bob')];
  await Promise.all([steady.subscribe(QUERY, { after: start }), leaving.subscribe(QUERY, { after: start })]);
  await appendStage(DEMO.importOrders.pending, 'Resume 1');
  await appendStage(DEMO.importOrders.pending, 'Resume 2');
  await leaving.until('two events', () => leaving.frames.length === 2);
  const last = leaving.results[1].data.importOrderEvents.cursor as string;
  leaving.close();
  await appendStage(DEMO.importOrders.pending, 'Resume 3'); // written while it is away
  const back = subscriber('bob');
  await back.subscribe(QUERY, { after: last });
  await back.until('the row written while away', () => back.frames.length === 1);
  await appendStage(DEMO.importOrders.pending, 'Resume 4');
  await back.until('the next live row', () => back.frames.length === 2);
  await steady.until('four events', () => steady.frames.length === 4);
  expect(stagesOf(back)).toEqual(['Resume 3', 'Resume 4']);
  expect(stagesOf(steady)).toEqual(['Resume 1', 'Resume 2', 'Resume 3', 'Resume 4']);
  expect(back.frames[1]).toBe(steady.frames[3]); // live again: the shared payload
});

it('a subscriber with a cursor joins while rows are being written, with nothing lost or repeated', async () => {
  const start = await newestCursor();
  const steady = subscriber('bob');
  await steady.subscribe(QUERY, { after: start });
  const total = 40;
  let joiner: RawSubscriber | null = null;
  for (let i = 0; i < total; i++) {
    await appendStage(DEMO.importOrders.pending, `Join ${i}`);
    if (i === 15) {
      await steady.until('row 10', () => steady.frames.length >= 10);
      joiner = subscriber('bob');
      await joiner.subscribe(QUERY, { after: steady.results[9].data.importOrderEvents.cursor }); // after row 9
    }
  }
  await steady.until('every row', () => steady.frames.length === total);
  await joiner!.until('every row after its cursor', () => joiner!.frames.length === total - 10);
  expect(stagesOf(steady)).toEqual(Array.from({ length: total }, (_, i) => `Join ${i}`));
  expect(stagesOf(joiner!)).toEqual(Array.from({ length: total - 10 }, (_, i) => `Join ${i + 10}`));
  // once live, the joiner receives the same payloads as the subscriber that never left
  expect(joiner!.frames.at(-1)).toBe(steady.frames.at(-1));
});

describe('the sharing key', () => {
  const shapeOf = (query: string) => operationShape(parse(query));

  it('leaves out only a cursor variable that gives the root field its `after`, and ignores variable order', () => {
    const shape = shapeOf('subscription($after: String, $f: ImportOrderEventFilter) { importOrderEvents(filter: $f, after: $after) { cursor stageRaw } }');
    expect(shape).toMatchObject({ cursorVariable: 'after', fixedCursor: false, rootKey: 'importOrderEvents', cursorKey: 'cursor' });
    expect(operationKey(shape, { after: 'a', f: { stages: ['FAILED'], userName: 'bob' } })).toBe(
      operationKey(shape, { f: { userName: 'bob', stages: ['FAILED'] }, after: 'b' }),
    );
    expect(operationKey(shape, { f: { stages: ['FAILED'] } })).not.toBe(operationKey(shape, { f: { stages: ['STARTED'] } }));
  });

  it('never treats a cursor written into the document, or a variable used elsewhere too, as a start point only', () => {
    expect(shapeOf('subscription { importOrderEvents(after: "abc") { cursor } }').fixedCursor).toBe(true);
    expect(shapeOf('subscription($a: String) { e: importOrderUpdated(uuid: $a, after: $a) { c: cursor } }')).toMatchObject({
      cursorVariable: null,
      fixedCursor: true,
      rootKey: 'e',
      cursorKey: 'c',
    });
    expect(shapeOf('subscription { importOrderEvents { stageRaw } }')).toMatchObject({ cursorVariable: null, fixedCursor: false, cursorKey: null });
  });

  it('scopes by the whole signed identity, not by the session key', () => {
    const bob = demoIdentity(DEMO_USERS.bob);
    expect(scopeKey(bob)).toBe(scopeKey({ ...bob, sessionKey: 'another' }));
    expect(scopeKey(bob)).not.toBe(scopeKey({ ...bob, groups: bob.groups.slice(1) }));
    expect(scopeKey(bob)).not.toBe(scopeKey(demoIdentity(DEMO_USERS.alice)));
  });

  it('reads LIVE_SHARED: true by default, false to turn sharing off, anything else refused', () => {
    expect(liveSharedFromEnv({})).toBe(true);
    expect(liveSharedFromEnv({ LIVE_SHARED: 'false' })).toBe(false);
    expect(() => liveSharedFromEnv({ LIVE_SHARED: 'no' })).toThrow(/LIVE_SHARED must be true or false/);
  });
});
