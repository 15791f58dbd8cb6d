import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { logger } from '../../subgraphs/common/logger';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { DEMO, DEMO_PASSWORDS, DEMO_USERS } from '../../database/demo/index';
import { buildManifest } from '../../clients/manifest';
import { sha256 } from '../../gateway/persisted';
import { startGateway, type RunningGateway } from '../../gateway/server';
import { startStack, type Stack } from '../../gateway/stack';
import { readSupergraph } from '../../gateway/supergraph';
import { createPool } from '../../subgraphs/common/db';
import { projectRoot } from '../../database/paths';
import { createTestDatabases, type TestDatabases } from '../support/databases';
import { startFakeOmeroWeb, type FakeOmeroWeb } from '../support/omero-web/server';
import { gql, TEST_SECRET } from '../support/stack';

/**
 * The gateway as real users meet it: sign-in through OMERO.web, cookies, rate limits, WebSocket
 * limits, closed sessions, persisted operations, error masking, metrics and traces.
 */
const CACHE_MS = 200;
const CHECK_MS = 200;

/** A local OTLP/HTTP receiver: collects the JSON bodies it is sent. */
const received: {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: { traceId: string; spanId: string; parentSpanId?: string; name: string }[] }[];
  }[];
}[] = [];
let receiver: Server;

let dbs: TestDatabases;
let web: FakeOmeroWeb;
let stack: Stack;
let url: string;
const extraGateways: RunningGateway[] = [];
const pools: pg.Pool[] = [];

beforeAll(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      received.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  // the subgraphs read it when they start, the gateway from its settings
  process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/v1/traces`;
  dbs = await createTestDatabases();
  web = await startFakeOmeroWeb({ omeroDatabaseUrl: dbs.omeroUrl });
  stack = await startStack({
    omeroDatabaseUrl: dbs.omeroUrl,
    biomeroDatabaseUrl: dbs.biomeroUrl,
    secret: TEST_SECRET,
    host: '127.0.0.1',
    ports: { gateway: 0, omero: 0, imports: 0, workflows: 0, forms: 0, provenance: 0 },
    sessionCacheMs: CACHE_MS,
    gateway: {
      omeroWebUrl: web.url,
      rateLimitPerSecond: 2,
      rateLimitBurst: 30,
      loginRateLimitBurst: 100,
      wsMaxConnectionsPerIdentity: 2,
      wsMaxOperationsPerConnection: 2,
      wsConnectionInitTimeoutMs: 300,
      wsSessionCheckMs: CHECK_MS,
    },
  });
  url = stack.gateway.url;
}, 60_000);

afterAll(async () => {
  delete process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  for (const g of extraGateways) await g.stop();
  for (const p of pools) await p.end().catch(() => undefined);
  await stack?.stop();
  await web?.close();
  await dbs?.drop();
  await new Promise((r) => receiver?.close(r));
});

const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;
const LOGIN = 'mutation($u: String!, $p: String!) { login(username: $u, password: $p) { sessionKey userId userName isAdmin memberOfGroups leaderOfGroups } }';

async function sessionRow(key: string): Promise<{ closed: Date | null } | undefined> {
  const db = new pg.Client(dbs.omeroUrl);
  await db.connect();
  try {
    return (await db.query('SELECT closed FROM session WHERE uuid = $1', [key])).rows[0];
  } finally {
    await db.end();
  }
}

async function sql(text: string, params: unknown[]): Promise<void> {
  const db = new pg.Client(dbs.omeroUrl);
  await db.connect();
  try {
    await db.query(text, params);
  } finally {
    await db.end();
  }
}

function wsClient(connectionParams: Record<string, unknown>, onClose?: (code: number) => void): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    connectionParams,
    on: { closed: (e) => onClose?.((e as { code: number }).code) },
  });
}

describe('sign-in through OMERO.web', () => {
  it('login returns the session key and the caller; the key then works as a Bearer token', async () => {
    const res = await gql(url, LOGIN, { variables: { u: 'carol', p: DEMO_PASSWORDS.carol } });
    expect(res.errors).toBeUndefined();
    const login = res.data.login;
    expect(login).toMatchObject({ userId: String(DEMO_USERS.carol.id), userName: 'carol', isAdmin: false });
    expect(login.memberOfGroups.map(Number).sort()).toEqual([...DEMO_USERS.carol.memberOf].sort());
    expect(login.leaderOfGroups.map(Number).sort()).toEqual([...DEMO_USERS.carol.leaderOf].sort());
    expect((await sessionRow(login.sessionKey))?.closed).toBeNull(); // a real OMERO session row
    const me = await gql(url, '{ me { userName } }', { session: login.sessionKey });
    expect(me.data).toEqual({ me: { userName: 'carol' } });
  });

  it('answers a wrong password and a missing username with OMERO.web’s own messages', async () => {
    const wrong = await gql(url, LOGIN, { variables: { u: 'carol', p: 'nope' } });
    expect(wrong.errors?.[0]).toMatchObject({
      message: 'Connection not available, please check your user name and password.',
      extensions: { code: 'LOGIN_FAILED' },
    });
    expect(wrong.data ?? null).toBeNull();
    const empty = await gql(url, LOGIN, { variables: { u: '', p: 'x' } });
    expect(empty.errors?.[0]).toMatchObject({ message: 'Username: This field is required.', extensions: { code: 'LOGIN_FAILED' } });
  });

  it('logout closes the OMERO session; the key stops working at once', async () => {
    const key = (await gql(url, LOGIN, { variables: { u: 'dave', p: DEMO_PASSWORDS.dave } })).data.login.sessionKey;
    expect((await gql(url, '{ me { userName } }', { session: key })).data).toEqual({ me: { userName: 'dave' } });
    const out = await gql(url, 'mutation { logout }', { session: key });
    expect(out).toMatchObject({ data: { logout: true } });
    expect((await sessionRow(key))?.closed).toBeInstanceOf(Date);
    const after = await gql(url, '{ me { userName } }', { session: key });
    expect(after.status).toBe(401);
    expect(code(after)).toBe('UNAUTHENTICATED');
    expect(code(await gql(url, 'mutation { logout }'))).toBe('UNAUTHENTICATED'); // nothing to log out
  });

  it('a session closed or expired in OMERO stops working within the cache time', async () => {
    const key = (await gql(url, LOGIN, { variables: { u: 'bob', p: DEMO_PASSWORDS.bob } })).data.login.sessionKey;
    expect(code(await gql(url, '{ me { userName } }', { session: key }))).toBeUndefined();
    await sql(`UPDATE session SET closed = now() WHERE uuid = $1`, [key]);
    await new Promise((r) => setTimeout(r, CACHE_MS + 50));
    expect(code(await gql(url, '{ me { userName } }', { session: key }))).toBe('UNAUTHENTICATED');

    const key2 = (await gql(url, LOGIN, { variables: { u: 'bob', p: DEMO_PASSWORDS.bob } })).data.login.sessionKey;
    await sql(`UPDATE session SET started = now() - interval '2 hours', timetolive = 60000 WHERE uuid = $1`, [key2]);
    await new Promise((r) => setTimeout(r, CACHE_MS + 50));
    expect(code(await gql(url, '{ me { userName } }', { session: key2 }))).toBe('UNAUTHENTICATED');
  });

  it('login cannot be mixed with graph fields, and reports OMERO.web being down as LOGIN_UNAVAILABLE', async () => {
    expect(code(await gql(url, 'mutation { login(username: "a", password: "b") { sessionKey } createImportOrder(input: {}) { uuid } }'))).toBe(
      'BAD_USER_INPUT',
    );
    const pool = createPool(dbs.omeroUrl, { name: 'test', readOnly: true });
    pools.push(pool);
    const dead = await startGateway({
      supergraphSdl: readSupergraph(),
      omeroPool: pool,
      secret: TEST_SECRET,
      port: 0,
      settings: { omeroWebUrl: 'http://127.0.0.1:9', omeroServerId: 1 },
    });
    extraGateways.push(dead);
    const res = await gql(dead.url, LOGIN, { variables: { u: 'carol', p: DEMO_PASSWORDS.carol } });
    expect(code(res)).toBe('LOGIN_UNAVAILABLE');
  });

  it('introspection shows login, logout and LoginResult beside the composed schema (GraphiQL knows them)', async () => {
    const res = await gql(
      url,
      `{
      __schema { mutationType { name fields { name args { name } type { kind ofType { name } } } } }
      __type(name: "LoginResult") { fields { name } }
    }`,
    );
    expect(res.errors).toBeUndefined();
    const fields = new Map(res.data.__schema.mutationType.fields.map((f: { name: string }) => [f.name, f]));
    expect(fields.get('login')).toEqual({
      name: 'login',
      args: [{ name: 'username' }, { name: 'password' }],
      type: { kind: 'NON_NULL', ofType: { name: 'LoginResult' } },
    });
    expect(fields.has('logout')).toBe(true);
    expect(fields.has('createImportOrder')).toBe(true); // the composed mutations are still there
    expect(res.data.__type.fields.map((f: { name: string }) => f.name)).toEqual(expect.arrayContaining(['sessionKey', 'userId', 'userName']));
    // a mistake in an introspection query is still a validation error
    expect(code(await gql(url, '{ __schema { noSuchField } }'))).toBe('GRAPHQL_VALIDATION_FAILED');
  });
});

describe('session cookie', () => {
  it('accepts the OMERO session key from the omero_graph_session cookie; a bad cookie is UNAUTHENTICATED', async () => {
    const asDave = await gql(url, '{ me { userName } }', { headers: { cookie: `other=1; omero_graph_session=${DEMO_USERS.dave.sessionUuid}` } });
    expect(asDave.data).toEqual({ me: { userName: 'dave' } });
    const bad = await gql(url, '{ me { userName } }', { headers: { cookie: 'omero_graph_session=%E0%A4%A' } });
    expect(bad.status).toBe(401);
    expect(code(bad)).toBe('UNAUTHENTICATED');
    // the Authorization header wins over the cookie
    const both = await gql(url, '{ me { userName } }', {
      session: DEMO_USERS.alice.sessionUuid,
      headers: { cookie: `omero_graph_session=${DEMO_USERS.dave.sessionUuid}` },
    });
    expect(both.data).toEqual({ me: { userName: 'alice' } });
  });
});

describe('rate limit per identity', () => {
  it('lets a burst through, then answers RATE_LIMITED with Retry-After; other identities are unaffected', async () => {
    const erin = DEMO_USERS.erin.sessionUuid;
    const responses = await Promise.all(
      Array.from({ length: 45 }, () =>
        fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${erin}` },
          body: JSON.stringify({ query: '{ __typename }' }),
        }),
      ),
    );
    const limited = responses.filter((r) => r.status === 429);
    expect(responses.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(30);
    expect(limited.length).toBeGreaterThan(0);
    expect(Number(limited[0].headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await limited[0].json()).errors[0].extensions).toMatchObject({ code: 'RATE_LIMITED' });
    expect(code(await gql(url, '{ __typename }', { session: DEMO_USERS.formmaster.sessionUuid }))).toBeUndefined();
  });
});

describe('WebSocket limits', () => {
  it('closes a connection that sends no connection_init within the timeout (4408)', async () => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const started = Date.now();
    const closeCode = await new Promise<number>((resolve) => socket.on('close', (c) => resolve(c)));
    expect(closeCode).toBe(4408);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses a third connection of one identity (1013, try again later) and a third operation on one connection', async () => {
    const carol = { authorization: `Bearer ${DEMO_USERS.carol.sessionUuid}` };
    const closes: number[] = [];
    const clients = [wsClient(carol), wsClient(carol)];
    const sub = `subscription { importOrderUpdated(uuid: "${DEMO.importOrders.started}") { cursor } }`;
    try {
      const outcomes: Promise<unknown>[] = [];
      const subscribe = (c: Client) =>
        new Promise((resolve, reject) => {
          c.subscribe({ query: sub }, { next: () => undefined, error: reject, complete: () => resolve('complete') });
          setTimeout(() => resolve('open'), 800);
        });
      outcomes.push(subscribe(clients[0]), subscribe(clients[0]));
      const third = (await subscribe(clients[0]).catch((e) => e)) as { extensions?: { code?: string }; message?: string }[];
      expect(third[0]?.extensions?.code ?? third[0]?.message).toBe('SUBSCRIPTION_LIMIT_EXCEEDED');
      expect(await Promise.all(outcomes)).toEqual(['open', 'open']);
      // connections: two are open (the second connects lazily=false at once)
      await subscribe(clients[1]);
      const extra = wsClient(carol, (c) => closes.push(c));
      clients.push(extra);
      await subscribe(extra).catch(() => undefined);
      expect(closes).toContain(1013);
    } finally {
      for (const c of clients) await c.dispose();
    }
  });

  it('ends the subscriptions of a session closed in OMERO (close 4401), within cache time + check interval', async () => {
    const key = (await gql(url, LOGIN, { variables: { u: 'alice', p: DEMO_PASSWORDS.alice } })).data.login.sessionKey;
    let closedWith = 0;
    let connecting = 0;
    // a client that would retry: 4401 is terminal for graphql-ws, so it must not come back
    const client = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 3,
      retryWait: () => new Promise((r) => setTimeout(r, 50)),
      lazy: false,
      onNonLazyError: () => undefined,
      connectionParams: { authorization: `Bearer ${key}` },
      on: { closed: (e) => (closedWith = (e as { code: number }).code), connecting: () => void connecting++ },
    });
    try {
      const ended = new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: `subscription { importOrderUpdated(uuid: "${DEMO.importOrders.started}") { cursor } }` },
          { next: () => undefined, error: resolve, complete: () => resolve('complete') },
        );
      });
      await new Promise((r) => setTimeout(r, 500));
      const closedAt = Date.now();
      await sql(`UPDATE session SET closed = now() WHERE uuid = $1`, [key]);
      await ended;
      expect(Date.now() - closedAt).toBeLessThan(CACHE_MS + CHECK_MS + 1000);
      expect(closedWith).toBe(4401);
      await new Promise((r) => setTimeout(r, 500)); // several retry waits long
      expect(connecting).toBe(1);
    } finally {
      await client.dispose();
    }
  });
});

describe('automatic persisted queries', () => {
  it('asks for an unknown hash, stores a verified one, then runs it by hash alone (POST and GET)', async () => {
    const query = `query Apq { image(id: "${DEMO.images.aliceRaw1}") { name } }`;
    const hash = sha256(query);
    const post = (body: unknown) =>
      fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_USERS.alice.sessionUuid}` },
        body: JSON.stringify(body),
      }).then((r) => r.json());
    const ext = { persistedQuery: { version: 1, sha256Hash: hash } };
    const miss = await post({ extensions: ext });
    expect(miss.errors[0]).toMatchObject({ message: 'PersistedQueryNotFound', extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });
    const wrong = await post({ query: '{ __typename }', extensions: ext });
    expect(wrong.errors[0].extensions.code).toBe('PERSISTED_QUERY_HASH_MISMATCH');
    expect((await post({ query, extensions: ext })).data).toEqual({ image: { name: expect.any(String) } });
    expect((await post({ extensions: ext })).data).toEqual({ image: { name: expect.any(String) } });
    const get = new URL(url);
    get.searchParams.set('extensions', JSON.stringify(ext));
    const viaGet = await fetch(get, { headers: { authorization: `Bearer ${DEMO_USERS.alice.sessionUuid}` } }).then((r) => r.json());
    expect(viaGet.data).toEqual({ image: { name: expect.any(String) } });
    expect((await post({ extensions: { persistedQuery: { version: 2, sha256Hash: 'x' } } })).errors[0].extensions.code).toBe('PERSISTED_QUERY_INVALID');
  });
});

describe('trusted documents', () => {
  it('runs only operations of the manifest built from clients/, by hash or by identical text', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'trusted-'));
    const manifestFile = join(dir, 'trusted.json');
    const manifest = buildManifest(join(projectRoot(), 'clients', 'operations'));
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const pool = createPool(dbs.omeroUrl, { name: 'test', readOnly: true });
    pools.push(pool);
    const subgraphUrls = Object.fromEntries(Object.entries(stack.subgraphs).map(([n, s]) => [n, s.url]));
    const trusted = await startGateway({
      supergraphSdl: readSupergraph(),
      subgraphUrls,
      omeroPool: pool,
      secret: TEST_SECRET,
      port: 0,
      settings: { persistedOperations: 'trusted', trustedDocumentsFile: manifestFile },
    });
    extraGateways.push(trusted);
    const [hash, document] = Object.entries(manifest).find(([, d]) => d.startsWith('query ImageLineage'))!;
    const asAlice = { authorization: `Bearer ${DEMO_USERS.alice.sessionUuid}`, 'content-type': 'application/json' };
    const byHash = await fetch(trusted.url, {
      method: 'POST',
      headers: asAlice,
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: hash } }, variables: { id: DEMO.images.aliceSeg1 } }),
    }).then((r) => r.json());
    expect(byHash.errors).toBeUndefined();
    expect(byHash.data.image.producedBy.status).toBe('DONE');
    const byText = await gql(trusted.url, document, { session: DEMO_USERS.alice.sessionUuid, variables: { id: DEMO.images.aliceSeg1 } });
    expect(byText.errors).toBeUndefined();
    const arbitrary = await gql(trusted.url, '{ __typename }');
    expect(arbitrary.status).toBe(403);
    expect(code(arbitrary)).toBe('PERSISTED_QUERY_REQUIRED');
    expect(code(await gql(trusted.url, '{ __typename }', { headers: {} }))).toBe('PERSISTED_QUERY_REQUIRED');
    // introspection is an arbitrary operation too
    expect(code(await gql(trusted.url, '{ __schema { queryType { name } } }', { session: DEMO_USERS.alice.sessionUuid }))).toBe('PERSISTED_QUERY_REQUIRED');
    const unknown = await fetch(trusted.url, {
      method: 'POST',
      headers: asAlice,
      body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: sha256('{ __typename }') } } }),
    }).then((r) => r.json());
    expect(unknown.errors[0].extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');

    // the same rule over graphql-ws: arbitrary operations refused, a trusted subscription runs
    const client = createClient({
      url: trusted.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { authorization: `Bearer ${DEMO_USERS.alice.sessionUuid}` },
    });
    try {
      const outcome = (query: string, variables?: Record<string, unknown>) =>
        new Promise<unknown>((resolve) => {
          const dispose = client.subscribe(
            { query, variables },
            { next: (v) => v.errors && resolve(v.errors), error: resolve, complete: () => resolve('complete') },
          );
          setTimeout(() => {
            dispose();
            resolve('open');
          }, 800);
        });
      const refused = (await outcome(`subscription { importOrderUpdated(uuid: "${DEMO.importOrders.started}") { cursor } }`)) as {
        extensions?: { code?: string };
      }[];
      expect(refused[0]?.extensions?.code).toBe('PERSISTED_QUERY_REQUIRED');
      const subscription = Object.values(manifest).find((d) => d.startsWith('subscription ImportOrderUpdates'))!;
      expect(await outcome(subscription, { uuid: DEMO.importOrders.started })).toBe('open');
    } finally {
      await client.dispose();
    }
  });
});

describe('error masking and request ids', () => {
  it('every response carries a request id; an internal error reaches the client as INTERNAL_SERVER_ERROR with it, no stack, no SQL', async () => {
    const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(ok.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const mine = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'client-chosen-1' },
      body: '{"query":"{ __typename }"}',
    });
    expect(mine.headers.get('x-request-id')).toBe('client-chosen-1');
    const refused = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(2_000_000) }) });
    expect(refused.headers.get('x-request-id')).toBeTruthy();

    // a gateway whose session database has gone away: a real internal failure
    const pool = createPool(dbs.omeroUrl, { name: 'test', readOnly: true });
    const broken = await startGateway({ supergraphSdl: readSupergraph(), omeroPool: pool, secret: TEST_SECRET, port: 0 });
    extraGateways.push(broken);
    await pool.end();
    // the log gets the rest: capture pino's output for this one request
    const lines: string[] = [];
    const target = logger as unknown as Record<symbol, unknown>;
    const stream = target[pino.symbols.streamSym];
    const level = logger.level;
    target[pino.symbols.streamSym] = { write: (line: string) => void lines.push(line) };
    logger.level = 'error';
    let res: Response;
    try {
      res = await fetch(broken.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${DEMO_USERS.alice.sessionUuid}` },
        body: '{"query":"{ me { userName } }"}',
      });
    } finally {
      target[pino.symbols.streamSym] = stream;
      logger.level = level;
    }
    const logged = lines.map((l) => JSON.parse(l)).find((l) => l.requestId === res.headers.get('x-request-id'));
    expect(logged).toMatchObject({ msg: 'internal error', err: { message: expect.stringMatching(/pool/i), stack: expect.any(String) } });
    const text = await res.text();
    const body = JSON.parse(text);
    expect(body.errors[0]).toMatchObject({
      message: 'Internal server error',
      extensions: { code: 'INTERNAL_SERVER_ERROR', requestId: res.headers.get('x-request-id') },
    });
    expect(text).not.toMatch(/pool|SELECT|stack|at \w+ \(/i);
  });
});

describe('metrics and traces', () => {
  it('serves Prometheus metrics: requests, errors by code, latency per operation and subgraph, live subscriptions, event lag', async () => {
    await gql(url, `query Named { image(id: "${DEMO.images.aliceRaw1}") { name datasets { formSubmissions { message } } } }`, {
      session: DEMO_USERS.alice.sessionUuid,
    });
    await gql(url, '{ me { userName } }', { session: 'no-such-session' });
    const client = wsClient({ authorization: `Bearer ${DEMO_USERS.formmaster.sessionUuid}` });
    try {
      client.subscribe(
        { query: `subscription { importOrderUpdated(uuid: "${DEMO.importOrders.started}") { cursor } }` },
        { next: () => undefined, error: () => undefined, complete: () => undefined },
      );
      await new Promise((r) => setTimeout(r, 500));
      const text = await (await fetch(url.replace(/graphql$/, 'metrics'))).text();
      expect(text).toMatch(/omero_graph_requests_total\{operation="Named",transport="http"\} 1/);
      expect(text).toMatch(/omero_graph_errors_total\{code="UNAUTHENTICATED"\} \d+/);
      expect(text).toMatch(/omero_graph_request_duration_seconds_count\{operation="Named"\} 1/);
      expect(text).toMatch(/omero_graph_subgraph_duration_seconds_count\{subgraph="forms"\} \d+/);
      expect(text).toMatch(/omero_graph_live_subscriptions 1/);
      expect(text).toMatch(/omero_graph_event_lag_rows\{table="imports"\} 0/);
      expect(text).toMatch(/omero_graph_event_lag_seconds\{table="workflowtracker_events"\} 0/);
      // a subgraph serves its own
      const sub = await (await fetch(stack.subgraphs.imports.url.replace(/graphql$/, 'metrics'))).text();
      expect(sub).toMatch(/omero_graph_event_lag_rows\{table="imports"\} 0/);
    } finally {
      await client.dispose();
    }
  });

  it('continues the client’s trace: gateway span, subgraph client spans, and the subgraphs’ own spans, exported as OTLP JSON', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parent = '00f067aa0ba902b7';
    await gql(url, `{ image(id: "${DEMO.images.aliceRaw1}") { name datasets { formSubmissions { message } } } }`, {
      session: DEMO_USERS.alice.sessionUuid,
      headers: { traceparent: `00-${traceId}-${parent}-01` },
    });
    await new Promise((r) => setTimeout(r, 1500)); // exporters flush every second
    const spans = received.flatMap((b) =>
      b.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((s) => s.spans.map((span) => ({ ...span, service: rs.resource.attributes[0].value.stringValue })))),
    );
    const ours = spans.filter((s) => s.traceId === traceId);
    const root = ours.find((s) => s.service === 'omero-graph-gateway' && s.parentSpanId === parent);
    expect(root).toBeDefined();
    const toForms = ours.find((s) => s.name === 'subgraph forms' && s.parentSpanId === root!.spanId);
    expect(toForms).toBeDefined();
    // the forms subgraph received traceparent with the gateway's client span as parent
    expect(ours.find((s) => s.service === 'omero-graph-forms' && s.parentSpanId === toForms!.spanId)).toBeDefined();
  });
});
