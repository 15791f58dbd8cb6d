import pg from 'pg';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { DEMO, DEMO_USERS } from '../../database/demo/index';
import { runningTailers } from '../../subgraphs/common/eventlog';
import { startTestStack, type TestStack } from '../support/stack';

/**
 * A client that leaves frees its WebSocket slot at once, whatever its subscriptions wait for, and
 * the subscriptions it opened on the subgraphs are ended too (issue: slots leaked until the next
 * matching row, or for good, locking a user out with 4429).
 */
const LIMIT = 2;
let stack: TestStack;
let writer: pg.Pool;

beforeAll(async () => {
  stack = await startTestStack({ gateway: { wsMaxConnectionsPerIdentity: LIMIT } });
  writer = new pg.Pool({ connectionString: stack.dbs.biomeroUrl, max: 2 });
}, 60_000);

afterAll(async () => {
  await writer?.end();
  await stack?.stop();
});

async function appendStage(uuid: string, stage: string): Promise<void> {
  await writer.query(
    `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
     SELECT group_name, user_name, destination_id, destination_type, $2, uuid, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
    [uuid, stage],
  );
}

async function gauge(): Promise<number> {
  const text = await (await fetch(stack.gateway.url.replace(/\/graphql$/, '/metrics'))).text();
  return Number(/^omero_graph_websocket_connections (\d+)/m.exec(text)?.[1]);
}

async function until(check: () => Promise<boolean> | boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

/** live subscribers of the tailers in this process (the whole stack runs here) */
const upstreamSubscribers = () => [...runningTailers].reduce((n, t) => n + t.subscriberCount, 0);

/** Connects as alice, opens `query`, waits until the subgraph holds the subscription, and leaves. */
async function visit(query: string): Promise<void> {
  const closes: number[] = [];
  // the previous visit's subscription has ended on the subgraph too
  expect(await until(() => upstreamSubscribers() === 0, 5000)).toBe(true);
  const client: Client = createClient({
    url: stack.gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    connectionParams: { authorization: `Bearer ${DEMO_USERS.alice.sessionUuid}` },
    on: { closed: (e) => closes.push((e as { code: number }).code) },
  });
  client.subscribe({ query }, { next: () => undefined, error: () => undefined, complete: () => undefined });
  const established = await until(() => upstreamSubscribers() > 0 || closes.length > 0, 10_000);
  expect({ established, closes }).toEqual({ established: true, closes: [] });
  await client.dispose();
}

it('frees the slot of a client that leaves a quiet stream, and ends its upstream subscription', async () => {
  const query = `subscription { importOrderUpdated(uuid: "${DEMO.importOrders.started}") { cursor } }`;
  for (let i = 0; i < LIMIT * 3; i++) await visit(query);
  expect(await until(async () => (await gauge()) === 0, 5000)).toBe(true);
  expect(await until(() => upstreamSubscribers() === 0, 5000)).toBe(true);
});

it('frees the slot of a client subscribed to what no new row can match, while other rows keep coming', async () => {
  const query = `subscription { importOrderUpdated(uuid: "${DEMO.importOrders.completed}") { cursor } }`;
  for (let i = 0; i < LIMIT * 3; i++) {
    await visit(query);
    await appendStage(DEMO.importOrders.started, 'Import Started'); // rows that never match
  }
  expect(await until(async () => (await gauge()) === 0, 5000)).toBe(true);
  expect(await until(() => upstreamSubscribers() === 0, 5000)).toBe(true);
});

it('a graphql-ws client refused for too many connections retries by itself and gets in once a slot frees (1013)', async () => {
  const auth = { authorization: `Bearer ${DEMO_USERS.alice.sessionUuid}` };
  const query = `subscription { importOrderUpdated(uuid: "${DEMO.importOrders.started}") { cursor } }`;
  const open = (extra: Partial<Parameters<typeof createClient>[0]> = {}) => {
    const client = createClient({
      url: stack.gateway.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
      connectionParams: auth,
      ...extra,
    });
    client.subscribe({ query }, { next: () => undefined, error: () => undefined, complete: () => undefined });
    return client;
  };
  const holders = Array.from({ length: LIMIT }, () => open());
  expect(await until(async () => (await gauge()) === LIMIT, 10_000)).toBe(true);
  let freeSlot: () => void = () => undefined;
  const slotFreed = new Promise<void>((resolve) => (freeSlot = resolve));
  const closes: number[] = [];
  let connected = 0;
  const late = open({
    retryAttempts: 3,
    retryWait: () => slotFreed,
    on: { closed: (e) => closes.push((e as { code: number }).code), connected: () => void connected++ },
  });
  try {
    expect(await until(() => closes.length > 0, 10_000)).toBe(true);
    expect(closes[0]).toBe(1013);
    await holders[0].dispose();
    freeSlot();
    expect(await until(() => connected === 1, 10_000)).toBe(true);
  } finally {
    await late.dispose();
    for (const h of holders.slice(1)) await h.dispose();
  }
});
