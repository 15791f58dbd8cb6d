import type { ExecutionResult } from 'graphql';
import pg from 'pg';
import { SharedSubscriptions } from '../../gateway/shared-subscriptions';
import { DEMO, DEMO_GROUPS, DEMO_USERS } from '../../database/demo/index';
import { encodeCursor } from '../../subgraphs/common/cursor';
import { STAGE_CURSOR } from '../../subgraphs/imports/resolvers';
import { RawSubscriber } from '../support/raw-subscriber';
import { startTestStack, type TestStack } from '../support/stack';
import { copySession } from '../support/identities';

/**
 * graphql-ws subscriptions shared at the gateway (gateway/shared-subscriptions.ts,
 * docs/live-status.md, Shared execution): one execution per operation, variables and access scope —
 * one upstream subscription, one `_entities` fetch per event — with cursors, resuming and the
 * live-session rules unchanged. Counted on /metrics of the gateway and of the subgraphs.
 */
let stack: TestStack;
let omero: pg.Pool;
let biomero: pg.Pool;
beforeAll(async () => {
  stack = await startTestStack({ gateway: { wsSessionCheckMs: 200 } });
  omero = new pg.Pool({ connectionString: stack.dbs.omeroUrl, max: 2 });
  biomero = new pg.Pool({ connectionString: stack.dbs.biomeroUrl, max: 3 });
}, 60_000);
afterAll(async () => {
  await omero?.end();
  await biomero?.end();
  await stack?.stop();
});

/** with an entity field another subgraph resolves: Experimenter.firstName comes from omero through `_entities` */
const QUERY = `subscription($after: String) { importOrderEvents(after: $after) { cursor uuid stageRaw order { id user { userName firstName } } } }`;
const open: RawSubscriber[] = [];
afterEach(async () => {
  for (const s of open.splice(0)) s.close();
  // until the gateway has let them go: a group of the last test still closing would take the next
  // test's subscribers of its scope, and its representative's leaving would count a restart there
  const deadline = Date.now() + 10_000;
  while ((await metric(stack.gateway.url, /omero_graph_live_gateway_subscribers (\d+)/)) > 0) {
    if (Date.now() > deadline) throw new Error('the gateway still serves subscribers of the last test');
    await new Promise((r) => setTimeout(r, 50));
  }
});

function subscriber(session: string): RawSubscriber {
  const s = new RawSubscriber(stack.gateway.url, { authorization: `Bearer ${session}` });
  open.push(s);
  return s;
}

/** A new open OMERO session of a demo user (a copy of their demo session row). */
const newSession = (user: keyof typeof DEMO_USERS): Promise<string> => copySession(omero, DEMO_USERS[user]);

async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(url.replace(/\/graphql$/, '/metrics'))).text();
  return Number(pattern.exec(text)?.[1] ?? 0);
}

/** gateway executions, results the imports subgraph delivered upstream, HTTP requests the omero subgraph served */
async function counts(): Promise<{ executions: number; upstream: number; omeroRequests: number }> {
  const [executions, upstream, omeroRequests] = await Promise.all([
    metric(stack.gateway.url, /omero_graph_live_gateway_results_total\{kind="execution"\} (\d+)/),
    metric(stack.subgraphs.imports.url, /omero_graph_live_results_total\{subgraph="imports",kind="delivery"\} (\d+)/),
    metric(stack.subgraphs.omero.url, /omero_graph_subgraph_request_duration_seconds_count\{subgraph="omero"\} (\d+)/),
  ]);
  return { executions, upstream, omeroRequests };
}

async function appendStage(uuid: string, stage: string, client: pg.Pool | pg.PoolClient = biomero): Promise<void> {
  await client.query(
    `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
     SELECT group_name, user_name, destination_id, destination_type, $2, uuid, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
    [uuid, stage],
  );
}

const WARM_UP = /^Warm-up/;
const stagesOf = (s: RawSubscriber) => s.results.map((r) => r.data?.importOrderEvents.stageRaw as string).filter((stage) => !WARM_UP.test(stage));
const framesOf = (s: RawSubscriber) => s.frames.filter((f) => !/"stageRaw":"Warm-up/.test(f));

/** Subscriptions without a cursor start when they reach the subgraph: rows until each has received one. */
async function live(subscribers: RawSubscriber[]): Promise<void> {
  for (let i = 0; ; i++) {
    await appendStage(DEMO.importOrders.pending, `Warm-up ${i}`);
    await new Promise((r) => setTimeout(r, 300));
    if (subscribers.every((s) => s.frames.length > 0)) break;
  }
  await new Promise((r) => setTimeout(r, 300)); // the last warm-up rows arrive before the test's rows
}

it('gives two subscribers of one session byte-identical payloads from one execution, one upstream subscription and one entity fetch per event', async () => {
  const session = DEMO_USERS.bob.sessionUuid;
  const before = await counts();
  const [first, second] = [subscriber(session), subscriber(session)];
  await first.subscribe(QUERY);
  await second.subscribe(QUERY);
  await live([first, second]);
  const opened = await counts();
  expect(opened.executions - before.executions).toBe(1);
  await appendStage(DEMO.importOrders.pending, 'Shared A');
  await appendStage(DEMO.importOrders.pending, 'Shared B');
  await first.until('two events', () => stagesOf(first).length === 2);
  await second.until('two events', () => stagesOf(second).length === 2);
  const after = await counts();
  expect(framesOf(first)).toEqual(framesOf(second));
  expect(stagesOf(first)).toEqual(['Shared A', 'Shared B']);
  expect(first.results.at(-1)!.data.importOrderEvents.order.user).toEqual({ userName: 'bob', firstName: 'Bob' });
  expect(after.upstream - opened.upstream).toBe(2); // one upstream result per event, for both subscribers
  // one `_entities` per event; the omero subgraph also counted the /metrics read that took `opened`
  expect(after.omeroRequests - opened.omeroRequests).toBe(2 + 1);
});

/**
 * A new OMERO user with exactly bob's groups (lab-annotate, lab-readonly, user; no private group,
 * no leadership): the same access scope as bob. Returns an open session of theirs.
 */
let twins = 0;
async function bobsTwin(): Promise<{ session: string; userId: number }> {
  const userId = 900 + ++twins;
  await omero.query(
    `INSERT INTO experimenter (id, permissions, version, omename, firstname, lastname, email, institution, ldap)
     VALUES ($1, 0, 0, $2::text, 'Twin', 'Of Bob', $2::text || '@example.org', 'Demo Lab', false)`,
    [userId, `bobtwin${twins}`],
  );
  await omero.query(
    `INSERT INTO groupexperimentermap (id, permissions, version, parent, child, child_index, owner)
     SELECT (SELECT max(id) FROM groupexperimentermap) + row_number() OVER (), -52, 0, parent, $2, child_index, owner
       FROM groupexperimentermap WHERE child = $1`,
    [DEMO_USERS.bob.id, userId],
  );
  return { session: await copySession(omero, DEMO_USERS.bob, userId), userId };
}

it('shares between the sessions and the users of one access scope, never between scopes', async () => {
  const before = await counts();
  const twin = await bobsTwin();
  const subscribers = [
    subscriber(DEMO_USERS.bob.sessionUuid),
    subscriber(await newSession('bob')),
    subscriber(twin.session),
    subscriber(DEMO_USERS.alice.sessionUuid), // lab-private member: a scope of her own
  ];
  for (const s of subscribers) await s.subscribe(QUERY);
  await live(subscribers);
  const opened = await counts();
  expect(opened.executions - before.executions).toBe(2); // bob's scope, alice's
  await appendStage(DEMO.importOrders.completed, 'Alice private'); // alice, lab-private: not bob's scope
  await appendStage(DEMO.importOrders.pending, 'All see');
  await subscribers[3].until('two events', () => stagesOf(subscribers[3]).length === 2);
  for (const s of subscribers.slice(0, 3)) await s.until('one event', () => stagesOf(s).length === 1);
  for (const s of subscribers.slice(0, 3)) expect(stagesOf(s)).toEqual(['All see']);
  expect(framesOf(subscribers[2])).toEqual(framesOf(subscribers[0])); // one result, serialised once
  expect(stagesOf(subscribers[3])).toEqual(['Alice private', 'All see']);
  // one upstream result per event and scope that sees it: bob's scope one, alice's two
  expect((await counts()).upstream - opened.upstream).toBe(1 + 2);
});

it('never shares a selection about the caller themself (a caller-specific field) between users', async () => {
  const twin = await bobsTwin();
  const query = 'subscription { importOrderEvents { cursor stageRaw order { importedObjects { ... on Image { id permissions { canEdit } } } } } }';
  const before = await counts();
  const subscribers = [subscriber(DEMO_USERS.bob.sessionUuid), subscriber(await newSession('bob')), subscriber(twin.session)];
  for (const s of subscribers) await s.subscribe(query);
  await live(subscribers);
  expect((await counts()).executions - before.executions).toBe(2); // bob's two sessions together, the twin alone
});

it('an operation without the cursor is shared per session only: its group could not resume exactly', async () => {
  const twin = await bobsTwin();
  const query = 'subscription { importOrderEvents { stageRaw order { id } } }';
  const before = await counts();
  const subscribers = [subscriber(DEMO_USERS.bob.sessionUuid), subscriber(DEMO_USERS.bob.sessionUuid), subscriber(twin.session)];
  for (const s of subscribers) await s.subscribe(query);
  await live(subscribers);
  expect((await counts()).executions - before.executions).toBe(2); // bob's session, the twin's
});

it('the representative leaving hands the group to another member: every row once, in order', async () => {
  const first = await newSession('bob'); // subscribes first: the group runs as this session
  const twin = await bobsTwin();
  const [leaving, staying] = [subscriber(first), subscriber(twin.session)];
  await leaving.subscribe(QUERY);
  await staying.subscribe(QUERY);
  await live([leaving, staying]);
  const before = await counts();
  const ended = () => leaving.results.some((r) => r.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED');
  // rows before, while and after the gateway notices the closed session and hands the group over
  let written = 0;
  const write = async () => appendStage(DEMO.importOrders.pending, `Handover ${written++}`);
  for (let i = 0; i < 10; i++) await write();
  await omero.query('UPDATE session SET closed = now() WHERE uuid = $1', [first]);
  while (!ended()) {
    await write();
    await new Promise((r) => setTimeout(r, 5)); // rows while the new execution starts: its replay must bring them
  }
  for (let i = 0; i < 10; i++) await write();
  await staying.until('every row', () => stagesOf(staying).length >= written);
  await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
  expect(stagesOf(staying)).toEqual(Array.from({ length: written }, (_, i) => `Handover ${i}`));
  expect(stagesOf(leaving).length).toBeLessThan(written);
  expect((await counts()).executions - before.executions).toBe(1); // the group again, as the twin
});

it('a member whose scope changes moves to a stream of its own after its last row: every row once, the new scope at once', async () => {
  const twin = await bobsTwin();
  const [steady, moving] = [subscriber(DEMO_USERS.bob.sessionUuid), subscriber(twin.session)];
  await steady.subscribe(QUERY);
  await moving.subscribe(QUERY);
  await live([steady, moving]);
  const before = await counts();
  // rows (lab-annotate: both scopes see them) before, while and after the gateway notices the change
  let written = 0;
  const write = async () => appendStage(DEMO.importOrders.pending, `Move ${written++}`);
  for (let i = 0; i < 10; i++) await write();
  await omero.query('DELETE FROM groupexperimentermap WHERE child = $1 AND parent = $2', [twin.userId, DEMO_GROUPS.labReadOnly.id]); // leaves lab-readonly
  while ((await counts()).executions === before.executions) {
    await write();
    await new Promise((r) => setTimeout(r, 20));
  }
  for (let i = 0; i < 10; i++) await write();
  const total = written;
  await moving.until('every row', () => stagesOf(moving).length >= total);
  await steady.until('every row', () => stagesOf(steady).length >= total);
  await new Promise((r) => setTimeout(r, 300));
  expect(stagesOf(moving)).toEqual(Array.from({ length: total }, (_, i) => `Move ${i}`));
  expect(stagesOf(steady)).toEqual(Array.from({ length: total }, (_, i) => `Move ${i}`));
  expect(moving.results.every((r) => !r.errors)).toBe(true);
  expect((await counts()).executions - before.executions).toBe(1); // the twin's own stream
});

it('a subscriber leaving does not disturb the others of its group', async () => {
  const session = DEMO_USERS.bob.sessionUuid;
  const subscribers = [subscriber(session), subscriber(session), subscriber(session)];
  for (const s of subscribers) await s.subscribe(QUERY);
  await live(subscribers);
  await appendStage(DEMO.importOrders.pending, 'Leave 1');
  await Promise.all(subscribers.map((s) => s.until('first event', () => stagesOf(s).length === 1)));
  const served = () => metric(stack.gateway.url, /omero_graph_live_gateway_subscribers (\d+)/);
  const before = await served();
  subscribers[0].complete();
  subscribers[1].close();
  await appendStage(DEMO.importOrders.pending, 'Leave 2');
  await appendStage(DEMO.importOrders.pending, 'Leave 3');
  await subscribers[2].until('three events', () => stagesOf(subscribers[2]).length === 3);
  expect(stagesOf(subscribers[2])).toEqual(['Leave 1', 'Leave 2', 'Leave 3']);
  expect(stagesOf(subscribers[0])).toEqual(['Leave 1']);
  expect(await served()).toBe(before - 2);
});

it('a subscriber with a cursor keeps its own upstream subscription: resuming exactly, never joining the group', async () => {
  const session = DEMO_USERS.bob.sessionUuid;
  const [steady, leaving] = [subscriber(session), subscriber(session)];
  await steady.subscribe(QUERY);
  await leaving.subscribe(QUERY);
  await live([steady, leaving]);
  await appendStage(DEMO.importOrders.pending, 'Resume 1');
  await appendStage(DEMO.importOrders.pending, 'Resume 2');
  await leaving.until('two events', () => stagesOf(leaving).length === 2);
  const last = leaving.results.at(-1)!.data.importOrderEvents.cursor as string;
  leaving.close();
  await appendStage(DEMO.importOrders.pending, 'Resume 3'); // written while it is away
  await steady.until('three events', () => stagesOf(steady).length === 3);
  const before = await counts();
  const back = subscriber(session);
  await back.subscribe(QUERY, { after: last });
  await back.until('the row written while away', () => stagesOf(back).length === 1);
  await appendStage(DEMO.importOrders.pending, 'Resume 4');
  await appendStage(DEMO.importOrders.pending, 'Resume 5');
  await back.until('the live rows', () => stagesOf(back).length === 3);
  await steady.until('five events', () => stagesOf(steady).length === 5);
  expect(stagesOf(back)).toEqual(['Resume 3', 'Resume 4', 'Resume 5']);
  expect(stagesOf(steady)).toEqual(['Resume 1', 'Resume 2', 'Resume 3', 'Resume 4', 'Resume 5']);
  const after = await counts();
  expect(after.executions - before.executions).toBe(1); // its own execution, and no new group
  expect(after.upstream - before.upstream).toBe(3 + 2); // its own three results, the group's two
});

it('a subscriber with a cursor loses no row that its group left out: rows committed behind a gap when the group started', async () => {
  // A group started without a cursor skips rows already committed behind an open transaction's
  // lower id (they are not news to it, subgraphs/common/eventlog.ts). A resumer that moved from its
  // own stream onto such a group lost them (the fault campaign); it now stays on its own stream.
  const session = await newSession('bob');
  await appendStage(DEMO.importOrders.pending, 'Gap before');
  const { rows } = await biomero.query<{ id: string }>('SELECT max(id) AS id FROM imports');
  const cursor = encodeCursor(STAGE_CURSOR, Number(rows[0].id) - 1); // just before 'Gap before'
  const slow = await biomero.connect();
  const opened = Array.from({ length: 10 }, (_, i) => `Gap open ${i}`);
  try {
    await slow.query('BEGIN');
    for (const stage of opened) await appendStage(DEMO.importOrders.pending, stage, slow); // lower ids, not yet committed
    await appendStage(DEMO.importOrders.pending, 'Gap held'); // committed, held behind them
    const held = /omero_graph_live_held_rows\{table="imports"\} (\d+)/;
    while ((await metric(stack.subgraphs.imports.url, held)) < 1) await new Promise((r) => setTimeout(r, 50));
    const group = subscriber(session);
    await group.subscribe(QUERY); // starts now: 'Gap held' is not news to it
    await new Promise((r) => setTimeout(r, 500)); // its upstream subscription reaches the subgraph
    const resumer = subscriber(session);
    await resumer.subscribe(QUERY, { after: cursor });
    await resumer.until('its replay', () => stagesOf(resumer).length === 1);
    await slow.query('COMMIT');
    await appendStage(DEMO.importOrders.pending, 'Gap after');
    await resumer.until('every row after its cursor', () => stagesOf(resumer).includes('Gap after'));
    await group.until('the last row', () => stagesOf(group).includes('Gap after'));
    expect(stagesOf(resumer)).toEqual(['Gap before', ...opened, 'Gap held', 'Gap after']);
    expect(stagesOf(group)).toEqual([...opened, 'Gap after']);
  } finally {
    slow.release();
  }
});

it('a subscriber with a cursor arriving while rows are being written gets each row after it once, in order', async () => {
  const session = DEMO_USERS.bob.sessionUuid;
  const steady = subscriber(session);
  await steady.subscribe(QUERY);
  await live([steady]);
  const total = 40;
  let joiner: RawSubscriber | null = null;
  for (let i = 0; i < total; i++) {
    await appendStage(DEMO.importOrders.pending, `Join ${i}`);
    if (i === 15) {
      await steady.until('row 10', () => stagesOf(steady).length >= 10);
      const tenth = steady.results.filter((r) => !WARM_UP.test(r.data.importOrderEvents.stageRaw))[9];
      joiner = subscriber(session);
      await joiner.subscribe(QUERY, { after: tenth.data.importOrderEvents.cursor }); // after row 9
    }
  }
  await steady.until('every row', () => stagesOf(steady).length === total);
  await joiner!.until('every row after its cursor', () => stagesOf(joiner!).length === total - 10);
  await new Promise((r) => setTimeout(r, 300)); // nothing more arrives
  expect(stagesOf(steady)).toEqual(Array.from({ length: total }, (_, i) => `Join ${i}`));
  expect(stagesOf(joiner!)).toEqual(Array.from({ length: total - 10 }, (_, i) => `Join ${i + 10}`));
});

it('shares only event-log streams: a subscription that answers at once when it starts is never joined late', async () => {
  // workflowCatalogueUpdated sends a newer catalogue version at once: a late joiner would miss it
  const session = DEMO_USERS.bob.sessionUuid;
  const before = await counts();
  const [first, second] = [subscriber(session), subscriber(session)];
  await first.subscribe('subscription { workflowCatalogueUpdated(since: "0") { version } }');
  await second.subscribe('subscription { workflowCatalogueUpdated(since: "0") { version } }');
  await new Promise((r) => setTimeout(r, 500));
  expect((await counts()).executions - before.executions).toBe(2);
});

it('ends every subscriber of a shared group with UNAUTHENTICATED when their session closes', async () => {
  const closing = await newSession('bob');
  const subscribers = [subscriber(closing), subscriber(closing)];
  const other = subscriber(DEMO_USERS.bob.sessionUuid);
  for (const s of [...subscribers, other]) await s.subscribe(QUERY);
  await live([...subscribers, other]);
  await omero.query('UPDATE session SET closed = now() WHERE uuid = $1', [closing]);
  for (const s of subscribers) await s.until('UNAUTHENTICATED', () => s.results.some((r) => r.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED'));
  await appendStage(DEMO.importOrders.pending, 'After close');
  await other.until('the row', () => stagesOf(other).includes('After close'));
  for (const s of subscribers) expect(stagesOf(s)).not.toContain('After close');
});

describe('direct frames: a shared result written straight to the socket while graphql-ws waits', () => {
  /** an upstream execution whose results the test pushes */
  function upstream() {
    const results: ExecutionResult[] = [];
    let wake: (() => void) | null = null;
    const iterable: AsyncIterableIterator<ExecutionResult> = {
      async next() {
        while (results.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        return { value: results.shift()!, done: false };
      },
      async return() {
        return { value: undefined, done: true };
      },
      [Symbol.asyncIterator]: () => iterable,
    };
    return {
      iterable,
      push: async (result: ExecutionResult) => {
        results.push(result);
        wake?.();
        await new Promise((r) => setImmediate(r)); // the group hands it on
      },
    };
  }

  async function subscribed(maxQueue = 2) {
    const shared = new SharedSubscriptions({ enabled: true, maxQueue, logStreams: new Set(['importOrderEvents']) });
    const source = upstream();
    const written: ExecutionResult[] = [];
    let writable = true;
    const outcome = await shared.subscribe(
      {
        query: 'subscription { importOrderEvents { stageRaw } }',
        sessionKey: 'session',
        direct: (result) => writable && written.push(result as ExecutionResult) > 0,
      },
      async () => source.iterable,
      () => undefined,
    );
    const stream = outcome as AsyncIterableIterator<ExecutionResult>;
    return { source, stream, written, setWritable: (value: boolean) => void (writable = value) };
  }
  const row = (n: number): ExecutionResult => ({ data: { importOrderEvents: { stageRaw: `Row ${n}` } } });

  it('writes directly only while graphql-ws waits for the next result, in order', async () => {
    const { source, stream, written, setWritable } = await subscribed();
    await source.push(row(0)); // graphql-ws has not asked yet: queued for it
    expect(await stream.next()).toEqual({ value: row(0), done: false });
    const waiting = stream.next();
    await source.push(row(1));
    await source.push(row(2));
    expect(written).toEqual([row(1), row(2)]); // graphql-ws still waits: nothing was handed to it
    setWritable(false); // the socket has bytes buffered: through graphql-ws, which waits for its send
    await source.push(row(3));
    expect(await waiting).toEqual({ value: row(3), done: false });
    setWritable(true);
    await source.push(row(4)); // graphql-ws is sending row 3: row 4 must not overtake it
    expect(written).toEqual([row(1), row(2)]);
    expect(await stream.next()).toEqual({ value: row(4), done: false });
  });

  it('hands a result with errors to graphql-ws, whose onNext hook shapes errors', async () => {
    const { source, stream, written } = await subscribed();
    const waiting = stream.next();
    const failed: ExecutionResult = { errors: [{ message: 'no', extensions: { code: 'X' } }] as never };
    await source.push(failed);
    expect(written).toEqual([]);
    expect((await waiting).value).toBe(failed);
  });

  it('keeps the bounded queue for a subscriber whose socket is backed up: SLOW_CONSUMER', async () => {
    const { source, stream, setWritable } = await subscribed(2);
    setWritable(false);
    const waiting = stream.next();
    await source.push(row(0)); // to graphql-ws, which now waits for its send
    for (const n of [1, 2, 3]) await source.push(row(n)); // 2 queued, the third overflows
    expect((await waiting).value).toEqual(row(0));
    expect((await stream.next()).value).toEqual(row(1)); // what was queued, then the error
    expect((await stream.next()).value).toEqual(row(2));
    await expect(stream.next()).rejects.toMatchObject({ extensions: { code: 'SLOW_CONSUMER' } });
  });
});
