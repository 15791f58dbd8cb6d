import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { DEMO, DEMO_USERS } from '../../database/demo/index';
import { projectRoot } from '../../database/paths';
import { startGateway, type RunningGateway } from '../../gateway/server';
import { readSupergraph } from '../../gateway/supergraph';
import { SUBGRAPH_NAMES } from '../../subgraphs/common/config';
import { createPool } from '../../subgraphs/common/db';
import { createTestDatabases, type TestDatabases } from '../support/databases';
import pg from 'pg';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { startTestStack } from '../support/stack';
import { gql, TEST_SECRET } from '../support/stack';

/**
 * A subgraph that dies or hangs costs only its own fields: each subgraph runs as its own process
 * (as in production), one is killed under a running query load and started again.
 */
const root = projectRoot();
let dbs: TestDatabases;
const children: ChildProcess[] = [];
const gateways: RunningGateway[] = [];
let pool: ReturnType<typeof createPool>;
let blackHole: Server;

function start(entry: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['-r', join(root, 'test/support/register-ts.cjs'), join(root, entry)], {
    env: {
      ...process.env,
      JEST_WORKER_ID: '',
      LOG_LEVEL: 'info',
      IDENTITY_SECRET: TEST_SECRET,
      HOST: '127.0.0.1',
      OMERO_DATABASE_URL: dbs.omeroUrl,
      BIOMERO_DATABASE_URL: dbs.biomeroUrl,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${entry} did not start:\n${out}`)), 30_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:[^"]+)","msg":"subgraph listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}:\n${out}`)));
  });
}

beforeAll(async () => {
  dbs = await createTestDatabases();
  pool = createPool(dbs.omeroUrl, { name: 'gateway', readOnly: true });
  blackHole = createServer(() => undefined); // accepts requests, never answers
  await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', () => r()));
}, 60_000);
afterAll(async () => {
  for (const g of gateways) await g.stop();
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  blackHole?.closeAllConnections();
  await new Promise((r) => blackHole?.close(r));
  await pool?.end();
  await dbs?.drop();
});

const QUERY = `{ image(id: "${DEMO.images.aliceRaw1}") { name datasets { name formSubmissions { message } } } }`;
const alice = DEMO_USERS.alice.sessionUuid;

it('a killed subgraph costs only its fields under load, /readyz names it, and the gateway recovers by itself when it returns', async () => {
  const services = await Promise.all(SUBGRAPH_NAMES.map((name) => start(`subgraphs/${name}/main.ts`, { [`${name.toUpperCase()}_PORT`]: '0' })));
  const urls = Object.fromEntries(SUBGRAPH_NAMES.map((name, i) => [name, services[i].url]));
  const gateway = await startGateway({
    supergraphSdl: readSupergraph(),
    subgraphUrls: urls,
    omeroPool: pool,
    secret: TEST_SECRET,
    port: 0,
    settings: { rateLimitPerSecond: 0, subgraphTimeoutMs: 2000 },
  });
  gateways.push(gateway);
  const readyz = gateway.url.replace(/graphql$/, 'readyz');
  expect((await fetch(readyz)).status).toBe(200);

  type Outcome = { at: number; status: number; name: unknown; errors: { message: string; extensions?: { code?: string; serviceName?: string } }[] };
  const outcomes: Outcome[] = [];
  let running = true;
  const worker = async () => {
    while (running) {
      const res = await gql(gateway.url, QUERY, { session: alice });
      outcomes.push({
        at: Date.now(),
        status: res.status,
        name: (res.data as { image?: { name?: unknown } } | undefined)?.image?.name,
        errors: (res.errors ?? []) as Outcome['errors'],
      });
    }
  };
  const load = Promise.all(Array.from({ length: 4 }, worker));
  await new Promise((r) => setTimeout(r, 1000));

  const formsIndex = SUBGRAPH_NAMES.indexOf('forms');
  const formsPort = new URL(urls.forms).port;
  const killedAt = Date.now();
  services[formsIndex].child.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 1500));
  const down = await fetch(readyz);
  expect(down.status).toBe(503);
  expect((await down.json()).checks).toMatchObject({ forms: 'unavailable', omero: 'ok', imports: 'ok' });

  const restartedAt = Date.now();
  await start('subgraphs/forms/main.ts', { FORMS_PORT: formsPort });
  // recovers without a gateway restart: wait for error-free answers
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const recent = outcomes.filter((o) => o.at > Date.now() - 300);
    if (recent.length > 3 && recent.every((o) => o.errors.length === 0)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  running = false;
  await load;

  expect(outcomes.length).toBeGreaterThan(20);
  // every answer has the omero fields and no 5xx, throughout
  expect(outcomes.filter((o) => o.status >= 500 || o.name !== 'img_001.tif')).toEqual([]);
  const during = outcomes.filter((o) => o.at > killedAt + 200 && o.at < restartedAt);
  expect(during.length).toBeGreaterThan(0);
  for (const o of during)
    expect(o.errors).toEqual([
      expect.objectContaining({ message: 'The forms service is unavailable.', extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'forms' } }),
    ]);
  expect(outcomes.slice(-3).every((o) => o.errors.length === 0)).toBe(true);
  expect((await fetch(readyz)).status).toBe(200);
}, 90_000);

it('a subgraph slower than SUBGRAPH_TIMEOUT_MS costs only its fields, answered in time', async () => {
  const services = await Promise.all(['omero'].map((name) => start(`subgraphs/${name}/main.ts`, { OMERO_PORT: '0' })));
  const hole = `http://127.0.0.1:${(blackHole.address() as AddressInfo).port}/graphql`;
  // The timeout must only ever catch the hole: warm the omero process first (its first request
  // compiles code), and give it a timeout a loaded machine cannot reach on a warm query.
  const timeoutMs = 2000;
  const gateway = await startGateway({
    supergraphSdl: readSupergraph(),
    subgraphUrls: { omero: services[0].url, forms: hole },
    omeroPool: pool,
    secret: TEST_SECRET,
    port: 0,
    settings: { rateLimitPerSecond: 0, subgraphTimeoutMs: timeoutMs },
  });
  gateways.push(gateway);
  await gql(gateway.url, `{ image(id: "${DEMO.images.aliceRaw1}") { name datasets { name } } }`, { session: alice });
  const started = Date.now();
  const res = await gql(gateway.url, QUERY, { session: alice });
  // answered once the timeout passed, not when the hole (which never answers) would have
  expect(Date.now() - started).toBeGreaterThanOrEqual(timeoutMs - 50);
  expect(Date.now() - started).toBeLessThan(timeoutMs + 15_000);
  expect(res.status).toBe(200);
  expect((res.data as { image: { name: string } }).image.name).toBe('img_001.tif');
  expect(res.errors).toEqual([
    expect.objectContaining({ message: 'The forms service did not answer in time.', extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'forms' } }),
  ]);
}, 60_000);

it('the subgraph timeout never ends a long-lived subscription', async () => {
  const stack = await startTestStack({ gateway: { subgraphTimeoutMs: 200 } });
  const client = createClient({
    url: stack.gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${alice}` },
  });
  try {
    const uuid = DEMO.importOrders.started;
    const event = new Promise<unknown>((resolve, reject) => {
      client.subscribe(
        { query: `subscription { importOrderUpdated(uuid: "${uuid}") { stageRaw order { stage } } }` },
        { next: (v) => (v.errors ? reject(new Error(JSON.stringify(v.errors))) : resolve(v.data)), error: reject, complete: () => reject(new Error('ended')) },
      );
    });
    await new Promise((r) => setTimeout(r, 1000)); // five timeouts long
    const db = new pg.Client(stack.dbs.biomeroUrl);
    await db.connect();
    await db.query(
      `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
       SELECT group_name, user_name, destination_id, destination_type, 'Import Completed', uuid, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
      [uuid],
    );
    await db.end();
    expect(await event).toEqual({ importOrderUpdated: { stageRaw: 'Import Completed', order: { stage: 'COMPLETED' } } });
  } finally {
    await client.dispose();
    await stack.stop();
  }
}, 60_000);
