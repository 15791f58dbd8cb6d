import type pg from 'pg';
import WebSocket from 'ws';
import {
  createClient,
  GraphError,
  ImportOrderDocument,
  ImportOrderUpdatesDocument,
  WorkflowRunEventsDocument,
  WorkflowRunHistoryDocument,
  type ImportOrderUpdatesSubscription,
  type OmeroGraphClient,
  type Subscription,
  type WorkflowRunEventsSubscription,
} from '../../../clients/typescript/src/index.js';
import { DEMO, DEMO_GROUPS, DEMO_USERS } from '../../../database/demo/index.js';
import { appendEvents, newRunEvents } from '../../../database/demo/workflows.js';
import { startGateway, type RunningGateway } from '../../../gateway/server.js';
import { readSupergraph } from '../../../gateway/supergraph.js';
import { createPool } from '../../../subgraphs/common/db.js';
import { startSubgraph } from '../../../subgraphs/common/server.js';
import { importsSubgraph } from '../../../subgraphs/imports/index.js';
import { startTestStack, TEST_SECRET, type TestStack } from '../../support/stack.js';

/**
 * The SDK's subscriptions (clients/typescript/src/subscription.ts) over graphql-ws and SSE resume
 * from their last cursor after the gateway or a subgraph goes away: what was written meanwhile
 * arrives once, in order, nothing lost, nothing repeated (docs/live-status.md).
 */
let stack: TestStack;
let biomero: pg.Pool;
let gatewayPool: pg.Pool;
/** a gateway of this test's own over the stack's subgraphs, restarted on its port by the first test */
let gateway: RunningGateway | null = null;

function startOwnGateway(port: number): Promise<RunningGateway> {
  return startGateway({
    supergraphSdl: readSupergraph(),
    subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
    omeroPool: gatewayPool,
    secret: TEST_SECRET,
    host: '127.0.0.1',
    port,
    sessionCacheMs: 0,
  });
}

beforeAll(async () => {
  stack = await startTestStack();
  biomero = createPool(stack.dbs.biomeroUrl, { name: 'ts-client-resume', max: 2 });
  gatewayPool = createPool(stack.dbs.omeroUrl, { name: 'ts-client-resume-gateway', readOnly: true, max: 2 });
  gateway = await startOwnGateway(0);
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await gatewayPool?.end();
  await biomero?.end();
  await stack?.stop();
});

function client(session: string = DEMO_USERS.bob.sessionUuid): OmeroGraphClient {
  return createClient({
    url: gateway!.url,
    sessionKey: session,
    webSocketImpl: WebSocket,
    subscriptions: { retryDelayMs: 50, maxRetryDelayMs: 500, maxReconnects: 40 },
  });
}

async function appendStage(uuid: string, stage: string): Promise<void> {
  await biomero.query(
    `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
     SELECT group_name, user_name, destination_id, destination_type, $2, uuid, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
    [uuid, stage],
  );
}

/** Reads a subscription in the background into `into`; a failure lands in `failures`. */
function collect<T>(subscription: Subscription<T>, into: T[], failures: unknown[]): void {
  void (async () => {
    try {
      for await (const value of subscription) into.push(value);
    } catch (err) {
      failures.push(err);
    }
  })();
}

async function until(predicate: () => boolean, failures: unknown[], seen: () => unknown, ms = 40_000): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (failures.length) throw new Error(`subscription failed: ${String(failures[0])}`);
    if (Date.now() > end) throw new Error(`condition not met in time; received ${JSON.stringify(seen())}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

it('resumes over graphql-ws and SSE across a gateway restart, losing and repeating nothing', async () => {
  const uuid = DEMO.importOrders.pending;
  const run = { id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4c01', taskId: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7d01' };
  await appendEvents(biomero, newRunEvents({ ...run, user: DEMO_USERS.alice.id, group: DEMO_GROUPS.labPrivate.id }));

  const bob = client();
  const alice = client(DEMO_USERS.alice.sessionUuid);
  const stages: ImportOrderUpdatesSubscription[] = [];
  const events: WorkflowRunEventsSubscription[] = [];
  const failures: unknown[] = [];
  // read what happened, then follow from its last cursor: no gap however slow the stream starts
  const { importOrder } = await bob.query(ImportOrderDocument, { uuid });
  const history: string[] = [];
  for await (const event of alice.paginate(WorkflowRunHistoryDocument, { id: run.id }, (d) => d.workflowRun?.events)) history.push(event.cursor);
  const overWs = bob.subscribe(ImportOrderUpdatesDocument, { uuid }, { transport: 'ws', after: importOrder!.history.at(-1)!.cursor });
  const overSse = alice.subscribe(WorkflowRunEventsDocument, { runId: run.id }, { transport: 'sse', after: history.at(-1) });
  collect(overWs, stages, failures);
  collect(overSse, events, failures);
  try {
    await new Promise((r) => setTimeout(r, 500)); // both streams are open
    await appendStage(uuid, 'Import Started');
    await appendEvents(biomero, [{ originatorId: run.taskId, version: 1, type: 'Task.TaskStarted' }]);
    await until(
      () => stages.length === 1 && events.length === 1,
      failures,
      () => [stages, events],
    );

    // The gateway goes away; stages and events keep being written meanwhile.
    const port = gateway!.port;
    await gateway!.stop();
    gateway = null;
    await appendStage(uuid, 'Import Preprocessing');
    await appendEvents(biomero, [{ originatorId: run.taskId, version: 2, type: 'Task.StatusUpdated', fields: { status: 'RUNNING' } }]);
    await new Promise((r) => setTimeout(r, 1000)); // a few failed reconnects
    gateway = await startOwnGateway(port);
    await appendStage(uuid, 'Import Completed');
    await appendEvents(biomero, [{ originatorId: run.id, version: 2, type: 'WorkflowRun.WorkflowStarted' }]);

    await until(
      () => stages.length >= 3 && events.length >= 3,
      failures,
      () => [stages, events, overWs.reconnects, overSse.reconnects],
    );
    await new Promise((r) => setTimeout(r, 500)); // nothing more may arrive
    expect(stages.map((s) => s.importOrderUpdated.stageRaw)).toEqual(['Import Started', 'Import Preprocessing', 'Import Completed']);
    expect(events.map((e) => e.workflowRunEvents.type)).toEqual(['Task.TaskStarted', 'Task.StatusUpdated', 'WorkflowRun.WorkflowStarted']);
    expect(overWs.reconnects).toBeGreaterThan(0);
    expect(overSse.reconnects).toBeGreaterThan(0);
    expect(overSse.cursor).toBe(events[2].workflowRunEvents.cursor);
  } finally {
    await bob.dispose();
    await alice.dispose();
  }
  expect(failures).toEqual([]);
}, 120_000);

it('resumes across a restart of the subgraph that owns the stream, telling of the coded interruption', async () => {
  const uuid = DEMO.importOrders.started;
  const received: string[] = [];
  const interruptions: GraphError[] = [];
  const failures: unknown[] = [];
  const alice = client(DEMO_USERS.alice.sessionUuid);
  const { importOrder } = await alice.query(ImportOrderDocument, { uuid });
  const subscription = alice.subscribe(
    ImportOrderUpdatesDocument,
    { uuid },
    { after: importOrder!.history.at(-1)!.cursor, onInterrupted: (error) => interruptions.push(error) },
  );
  void (async () => {
    try {
      for await (const update of subscription) received.push(update.importOrderUpdated.stageRaw);
    } catch (err) {
      failures.push(err);
    }
  })();
  try {
    await new Promise((r) => setTimeout(r, 500));
    await appendStage(uuid, 'Import Preprocessing');
    await until(
      () => received.length === 1,
      failures,
      () => received,
    );

    const imports = stack.subgraphs.imports;
    await imports.stop();
    await appendStage(uuid, 'Import Postprocessing');
    await appendStage(uuid, 'Import Completed');
    stack.subgraphs.imports = await startSubgraph(importsSubgraph({ databaseUrl: stack.dbs.biomeroUrl }), {
      port: imports.port,
      host: '127.0.0.1',
      secret: TEST_SECRET,
    });

    await until(
      () => received.length >= 3,
      failures,
      () => received,
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(received).toEqual(['Import Preprocessing', 'Import Postprocessing', 'Import Completed']);
    expect(interruptions.length).toBeGreaterThan(0);
    expect(interruptions[0]).toBeInstanceOf(GraphError);
    expect(interruptions[0].code).toBe('DOWNSTREAM_SERVICE_ERROR');
    expect(interruptions[0].message).toMatch(/resubscribe/);
  } finally {
    await alice.dispose();
  }
});

it('ends with a typed error what resubscribing cannot fix, over both transports', async () => {
  for (const transport of ['ws', 'sse'] as const) {
    const badCursor = client().subscribe(ImportOrderUpdatesDocument, { uuid: DEMO.importOrders.pending }, { transport, after: 'not-a-cursor' });
    await expect(badCursor.next()).rejects.toMatchObject({ name: 'GraphError', code: 'BAD_USER_INPUT' });
    expect(badCursor.reconnects).toBe(0);

    const unknownKey = client('00000000-0000-4000-8000-00000000dead').subscribe(ImportOrderUpdatesDocument, { uuid: DEMO.importOrders.pending }, { transport });
    await expect(unknownKey.next()).rejects.toMatchObject({ name: 'GraphError', code: 'UNAUTHENTICATED' });
  }
});
