import pg from 'pg';
import { subscribeResumable } from '../../clients/resumable';
import { DEMO, DEMO_USERS } from '../../database/demo/index';
import { startSubgraph } from '../../subgraphs/common/server';
import { importsSubgraph } from '../../subgraphs/imports/index';
import { startTestStack, TEST_SECRET, type TestStack } from '../support/stack';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

async function appendStage(uuid: string, stage: string): Promise<void> {
  const db = new pg.Client(stack.dbs.biomeroUrl);
  await db.connect();
  await db.query(
    `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
     SELECT group_name, user_name, destination_id, destination_type, $2, uuid, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
    [uuid, stage],
  );
  await db.end();
}

async function until(predicate: () => boolean, ms = 10_000, fatal: unknown[] = []): Promise<void> {
  const end = Date.now() + ms;
  while (!predicate()) {
    if (fatal.length) throw new Error(`subscription failed: ${JSON.stringify(fatal)}`);
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

it('loses and repeats nothing across a restart of the subgraph that owns the stream', async () => {
  const uuid = DEMO.importOrders.pending;
  const received: string[] = [];
  const interruptions: { message: string; extensions?: Record<string, unknown> }[] = [];
  const fatal: unknown[] = [];
  const sub = subscribeResumable<{ importOrderUpdated: { cursor: string; stageRaw: string } }>({
    url: stack.gateway.url,
    session: DEMO_USERS.bob.sessionUuid,
    query: 'subscription($uuid: ID!, $after: String) { importOrderUpdated(uuid: $uuid, after: $after) { cursor stageRaw } }',
    variables: { uuid },
    cursorOf: (d) => d.importOrderUpdated.cursor,
    onEvent: (d) => received.push(d.importOrderUpdated.stageRaw),
    onInterrupted: (errors) => interruptions.push(...errors),
    onFatal: (error) => fatal.push(error),
    retryDelayMs: 50,
  });
  try {
    await new Promise((r) => setTimeout(r, 300));
    await appendStage(uuid, 'Import Started');
    await until(() => received.length === 1, 10_000, fatal);

    // The imports subgraph goes away; stages keep being written meanwhile.
    const imports = stack.subgraphs.imports;
    await imports.stop();
    await appendStage(uuid, 'Import Preprocessing');
    await appendStage(uuid, 'Import Postprocessing');
    const restarted = await startSubgraph(importsSubgraph({ databaseUrl: stack.dbs.biomeroUrl }), { port: imports.port, host: '127.0.0.1', secret: TEST_SECRET });
    stack.subgraphs.imports = restarted;

    await appendStage(uuid, 'Import Completed');
    await until(() => received.length >= 4, 10_000, fatal);
    await new Promise((r) => setTimeout(r, 300)); // nothing more may arrive
    expect(received).toEqual(['Import Started', 'Import Preprocessing', 'Import Postprocessing', 'Import Completed']);
    // the drop reached the client as a readable, coded error
    expect(interruptions.length).toBeGreaterThan(0);
    expect(interruptions[0].message).toMatch(/resubscribe/);
    expect(interruptions[0].extensions?.code).toBe('DOWNSTREAM_SERVICE_ERROR');
  } finally {
    await sub.dispose();
  }
});
