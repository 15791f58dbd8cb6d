import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import WebSocket from 'ws';
import { DEMO, DEMO_USERS } from '../../database/demo/index';
import { originsFromList } from '../../gateway/browser';
import { gatewaySettingsFromEnv } from '../../gateway/settings';
import { startTestStack, type TestStack } from '../support/stack';
import { get as httpGet } from 'node:http';

/**
 * What a web page may do with a signed-in user's cookie (docs/security.md, Browsers): read only
 * from the origins in CORS_ORIGINS, never act through a form, never open a WebSocket with the
 * cookie from elsewhere. Each rule has its positive control: the allowed request still works.
 */
const APP = 'https://app.example.org';
const EVIL = 'https://evil.example';
const alice = DEMO_USERS.alice.sessionUuid;
const COOKIE = `omero_graph_session=${alice}`;

let stack: TestStack;
let biomero: pg.Pool;
let url: string;
let own: string;
let dir: string;
let file: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'og-browsers-'));
  const mount = join(dir, 'data');
  mkdirSync(join(mount, 'lab-private'), { recursive: true });
  file = join(mount, 'lab-private', 'a.tif');
  writeFileSync(file, 'pixels');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ group_mappings: { '3': { folder: 'lab-private', groupName: 'lab-private' } } }));
  stack = await startTestStack({ imports: { configFile: join(dir, 'config.json'), mountPath: mount }, gateway: { corsOrigins: [APP] } });
  biomero = new pg.Pool({ connectionString: stack.dbs.biomeroUrl, max: 2 });
  url = stack.gateway.url;
  own = new URL(url).origin;
}, 60_000);
afterAll(async () => {
  await biomero?.end();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const ME = '{ me { userName } }';
const CREATE = `mutation { createImportOrder(input: { group: "lab-private", destination: { type: DATASET, id: "${DEMO.datasets.aliceRaw}" }, files: ["FILE"] }) { uuid } }`;
const create = () => CREATE.replace('FILE', file);

async function importRows(): Promise<number> {
  return (await biomero.query<{ n: number }>('SELECT count(*)::int AS n FROM imports')).rows[0].n;
}

function post(body: string, headers: Record<string, string>): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { accept: 'application/graphql-response+json, application/json', ...headers }, body });
}

function getQuery(query: string, headers: Record<string, string>): Promise<Response> {
  const u = new URL(url);
  u.searchParams.set('query', query);
  return fetch(u, { headers: { accept: 'application/graphql-response+json, application/json', ...headers } });
}

function preflight(origin: string): Promise<Response> {
  return fetch(url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
}

function corsOf(res: Response) {
  return { origin: res.headers.get('access-control-allow-origin'), credentials: res.headers.get('access-control-allow-credentials') };
}

describe('CORS', () => {
  it('gives a listed origin its exact origin with credentials, and its preflight succeeds', async () => {
    const res = await getQuery(ME, { origin: APP, cookie: COOKIE });
    expect(corsOf(res)).toEqual({ origin: APP, credentials: 'true' });
    expect(res.headers.get('vary')).toMatch(/Origin/);
    expect((await res.json()).data.me.userName).toBe('alice');

    const pre = await preflight(APP);
    expect(pre.status).toBe(204);
    expect(corsOf(pre)).toEqual({ origin: APP, credentials: 'true' });
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    expect(pre.headers.get('access-control-allow-headers')).toBe('content-type');

    const posted = await post(JSON.stringify({ query: ME }), { origin: APP, cookie: COOKIE, 'content-type': 'application/json' });
    expect(corsOf(posted)).toEqual({ origin: APP, credentials: 'true' });
    expect((await posted.json()).data.me.userName).toBe('alice');
  });

  it.each([
    ['another site', EVIL],
    ['a sandboxed frame or file (null)', 'null'],
    ['the listed host on another port', 'https://app.example.org:8443'],
    ['the listed host over http', 'http://app.example.org'],
    ['the listed origin in upper case', 'HTTPS://APP.EXAMPLE.ORG'],
    ['a suffix of the listed host', 'https://app.example.org.evil.example'],
    ['the gateway host on another port', 'http://127.0.0.1:1'],
  ])('gives %s no CORS headers and refuses its preflight', async (_name, origin) => {
    const res = await getQuery(ME, { origin, cookie: COOKIE });
    expect(res.status).toBe(403); // not even run: a page could time or probe it
    expect((await res.json()).errors[0].extensions.code).toBe('CSRF_REFUSED');
    expect(corsOf(res)).toEqual({ origin: null, credentials: null });
    const bearer = await getQuery(ME, { origin, authorization: `Bearer ${alice}` }); // not cookie-borne: runs, still no CORS headers
    expect((await bearer.json()).data.me.userName).toBe('alice');
    expect(corsOf(bearer)).toEqual({ origin: null, credentials: null });
    const pre = await preflight(origin);
    expect(pre.status).toBe(403);
    expect(corsOf(pre)).toEqual({ origin: null, credentials: null });
    expect(pre.headers.get('access-control-allow-methods')).toBeNull();
  });

  it('serves its own origin and clients without Origin as before, without CORS headers', async () => {
    const same = await post(JSON.stringify({ query: ME }), { origin: own, cookie: COOKIE, 'content-type': 'application/json' });
    expect((await same.json()).data.me.userName).toBe('alice');
    expect(corsOf(same).origin).toBeNull();
    const curl = await post(JSON.stringify({ query: ME }), { authorization: `Bearer ${alice}`, 'content-type': 'application/json' });
    expect((await curl.json()).data.me.userName).toBe('alice');
    expect(corsOf(curl).origin).toBeNull();
  });

  it('reads the allowed origins from CORS_ORIGINS: none by default, browser-serialised, no wildcard', () => {
    expect(gatewaySettingsFromEnv({}).corsOrigins).toEqual([]);
    expect(gatewaySettingsFromEnv({ CORS_ORIGINS: 'https://App.Example.org/, http://localhost:3000 http://host:80' }).corsOrigins).toEqual([
      'https://app.example.org',
      'http://localhost:3000',
      'http://host',
    ]);
    for (const bad of ['*', 'null', 'https://app.example.org/path', 'ftp://app.example.org', 'app.example.org', 'https://u:p@app.example.org']) {
      expect(() => originsFromList(bad)).toThrow(/CORS_ORIGINS/);
    }
  });
});

/** Reads an SSE response until `until(text)` holds, then stops reading. */
async function readEvents(res: Response, until: (text: string) => boolean, ms = 20_000): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const deadline = Date.now() + ms;
  try {
    while (!until(text)) {
      if (Date.now() > deadline) throw new Error(`no matching event within ${ms} ms; got: ${text}`);
      const chunk = await Promise.race([reader.read(), new Promise<null>((r) => setTimeout(() => r(null), 500))]);
      if (chunk?.done) break;
      if (chunk?.value) text += decoder.decode(chunk.value, { stream: true });
    }
    return text;
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

async function appendStage(uuid: string, stage: string): Promise<void> {
  await biomero.query(
    `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
     SELECT group_name, user_name, destination_id, destination_type, $2, uuid, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
    [uuid, stage],
  );
}

describe('SSE', () => {
  const subscribe = (origin: string, extra: Record<string, string> = {}) => {
    const u = new URL(url);
    u.searchParams.set('query', 'subscription { importOrderEvents { uuid stage } }');
    const controller = new AbortController();
    return { controller, res: fetch(u, { headers: { accept: 'text/event-stream', origin, cookie: COOKIE, ...extra }, signal: controller.signal }) };
  };

  it('follows the same origin rule: a listed origin gets CORS headers, another none', async () => {
    const allowed = subscribe(APP);
    const foreign = subscribe(EVIL);
    try {
      const [a, f] = await Promise.all([allowed.res, foreign.res]);
      expect(a.headers.get('content-type')).toMatch(/text\/event-stream/);
      expect(corsOf(a)).toEqual({ origin: APP, credentials: 'true' });
      expect(f.status).toBe(403); // no subscription held open with the user's cookie for a foreign page
      expect(corsOf(f)).toEqual({ origin: null, credentials: null });
      expect((await preflight(EVIL)).status).toBe(403);
    } finally {
      allowed.controller.abort();
      foreign.controller.abort();
    }
  });
});

describe('cross-site WebSocket', () => {
  const wsUrl = () => url.replace(/^http/, 'ws');

  /** Opens a graphql-ws socket with these upgrade headers: the HTTP status of a refusal, or the first server message after connection_init. */
  function open(headers: Record<string, string>, payload: Record<string, unknown> = {}): Promise<{ refused?: number; message?: { type: string } }> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(wsUrl(), 'graphql-transport-ws', { headers });
      socket.once('unexpected-response', (_req, res) => {
        resolve({ refused: res.statusCode });
        socket.terminate();
      });
      socket.once('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload })));
      socket.once('message', (data) => {
        resolve({ message: JSON.parse(String(data)) });
        socket.close();
      });
      socket.once('close', (code) => resolve({ refused: code }));
      socket.once('error', (err) => (err.message.includes('Unexpected server response') ? undefined : reject(err)));
    });
  }

  it('refuses an upgrade carrying the session cookie from an origin not in the list', async () => {
    expect(await open({ origin: EVIL, cookie: COOKIE })).toEqual({ refused: 403 });
    expect(await open({ origin: 'null', cookie: COOKIE })).toEqual({ refused: 403 });
    expect(await open({ origin: 'http://127.0.0.1:1', cookie: COOKIE })).toEqual({ refused: 403 });
  });

  it('accepts the cookie from a listed origin, its own origin or no origin, and connection_init keys from anywhere', async () => {
    expect(await open({ origin: APP, cookie: COOKIE })).toEqual({ message: expect.objectContaining({ type: 'connection_ack' }) });
    expect(await open({ origin: own, cookie: COOKIE })).toEqual({ message: expect.objectContaining({ type: 'connection_ack' }) });
    expect(await open({ cookie: COOKIE })).toEqual({ message: expect.objectContaining({ type: 'connection_ack' }) });
    expect(await open({ origin: EVIL }, { authorization: `Bearer ${alice}` })).toEqual({ message: expect.objectContaining({ type: 'connection_ack' }) });
  });
});

describe('CSRF', () => {
  it('answers form, text and multipart bodies with 415 and writes nothing', async () => {
    const before = await importRows();
    const form = new URLSearchParams({ query: create() }).toString();
    const bodies: [string, string][] = [
      ['application/x-www-form-urlencoded', form],
      ['text/plain', JSON.stringify({ query: create() })],
      ['text/plain;charset=UTF-8', JSON.stringify({ query: create() })],
      ['multipart/form-data; boundary=x', `--x\r\nContent-Disposition: form-data; name="query"\r\n\r\n${create()}\r\n--x--\r\n`],
      ['application/graphql', create()],
      ['application/json, text/plain', JSON.stringify({ query: create() })],
    ];
    for (const [type, body] of bodies) {
      for (const origin of [EVIL, own]) {
        const res = await post(body, { origin, cookie: COOKIE, 'content-type': type });
        expect([type, origin, res.status]).toEqual([type, origin, 415]);
        expect((await res.json()).errors[0].extensions.code).toBe('UNSUPPORTED_MEDIA_TYPE');
      }
    }
    const untyped = await fetch(url, { method: 'POST', headers: { cookie: COOKIE }, body: new Blob([JSON.stringify({ query: create() })]) });
    expect(untyped.status).toBe(415);
    expect(await importRows()).toBe(before);
  });

  it('runs a JSON mutation with the cookie from its own origin (charset allowed), and graphql-response+json bodies', async () => {
    const before = await importRows();
    const res = await post(JSON.stringify({ query: create() }), { origin: own, cookie: COOKIE, 'content-type': 'application/json; charset=utf-8' });
    const body = await res.json();
    expect(body.errors).toBeUndefined();
    expect(body.data.createImportOrder.uuid).toEqual(expect.any(String));
    expect(await importRows()).toBe(before + 1);
    const other = await post(JSON.stringify({ query: ME }), { cookie: COOKIE, 'content-type': 'application/graphql-response+json' });
    expect((await other.json()).data.me.userName).toBe('alice');
  });

  it('refuses a cookie-borne write from another site even as JSON; a Bearer request from there is not cookie-borne', async () => {
    const before = await importRows();
    for (const headers of [{ origin: EVIL }, { origin: 'null' }, { 'sec-fetch-site': 'cross-site' }] as Record<string, string>[]) {
      const res = await post(JSON.stringify({ query: create() }), { ...headers, cookie: COOKIE, 'content-type': 'application/json' });
      expect(res.status).toBe(403);
      expect((await res.json()).errors[0].extensions.code).toBe('CSRF_REFUSED');
    }
    expect(await importRows()).toBe(before);
    const bearer = await post(JSON.stringify({ query: ME }), {
      origin: EVIL,
      cookie: COOKIE,
      authorization: `Bearer ${alice}`,
      'content-type': 'application/json',
    });
    expect((await bearer.json()).data.me.userName).toBe('alice');
  });

  it('lets a link from another site reach a download with the cookie (a navigation), but not a fetch or an embed', async () => {
    // node:http, not fetch: fetch sets Sec-Fetch-Mode itself, as a browser does
    const status = (headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const req = httpGet(
          url.replace(/\/graphql$/, '/lineage/Image:17.prov.json'),
          { headers: { cookie: COOKIE, 'sec-fetch-site': 'cross-site', ...headers } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
      });
    expect(await status({ 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' })).toBe(200);
    for (const [mode, dest] of [
      ['no-cors', 'script'],
      ['no-cors', 'image'],
      ['cors', 'empty'],
    ]) {
      expect(await status({ 'sec-fetch-mode': mode, 'sec-fetch-dest': dest })).toBe(403);
    }
  });

  it('runs a query over GET with the cookie, but never a mutation', async () => {
    const before = await importRows();
    const read = await getQuery(ME, { cookie: COOKIE });
    expect((await read.json()).data.me.userName).toBe('alice');
    for (const [origin, status] of [
      [undefined, 405],
      [own, 405],
      [EVIL, 403],
    ] as const) {
      const res = await getQuery(create(), { cookie: COOKIE, ...(origin ? { origin } : {}) });
      expect(res.status).toBe(status);
    }
    expect(await importRows()).toBe(before);
  });

  it('never signs in or out over GET (a link or an image must not end a session, a password never sits in a URL)', async () => {
    for (const headers of [{ cookie: COOKIE }, { authorization: `Bearer ${alice}` }] as Record<string, string>[]) {
      const res = await getQuery('mutation { logout }', headers);
      expect(res.status).toBe(405);
      expect((await res.json()).errors[0].extensions.code).toBe('METHOD_NOT_ALLOWED');
    }
    const login = await getQuery('mutation { login(username: "alice", password: "x") { sessionKey } }', {});
    expect(login.status).toBe(405);
    // the session is still open: the positive control
    expect((await (await getQuery(ME, { cookie: COOKIE })).json()).data.me.userName).toBe('alice');
  });
});

describe('the session key in an operation’s extensions.headers (GraphiQL’s Headers tab)', () => {
  it('is accepted on graphql-ws, where connection_init carried none', async () => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const messages: any[] = [];
    socket.on('message', (data) => messages.push(JSON.parse(String(data))));
    try {
      await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
      socket.send(JSON.stringify({ type: 'connection_init', payload: {} }));
      await waitFor(() => messages.some((m) => m.type === 'connection_ack'));
      const query = 'subscription { importOrderEvents { uuid stage order { user { userName } } } }';
      // without a key: refused (positive control for the header below)
      socket.send(JSON.stringify({ type: 'subscribe', id: 'anon', payload: { query } }));
      await waitFor(
        () => messages.some((m) => m.id === 'anon' && m.type === 'complete'),
        20_000,
        () => JSON.stringify(messages),
      );
      expect(messages.find((m) => m.id === 'anon' && m.type === 'next').payload.errors[0].extensions.code).toBe('UNAUTHENTICATED');
      socket.send(JSON.stringify({ type: 'subscribe', id: 'tab', payload: { query, extensions: { headers: { Authorization: `Bearer ${alice}` } } } }));
      await sleep(500);
      expect(messages.filter((m) => m.id === 'tab' && m.type !== 'next')).toEqual([]);
      await appendStage(DEMO.importOrders.completed, 'Import Failed');
      await waitFor(
        () => messages.some((m) => m.id === 'tab' && m.type === 'next'),
        20_000,
        () => JSON.stringify(messages),
      );
      const event = messages.find((m) => m.id === 'tab' && m.type === 'next').payload;
      expect(event.errors).toBeUndefined();
      expect(event.data.importOrderEvents).toMatchObject({ uuid: DEMO.importOrders.completed, stage: 'FAILED', order: { user: { userName: 'alice' } } });
    } finally {
      socket.close();
    }
  });

  it('is accepted on SSE', async () => {
    const u = new URL(url);
    u.searchParams.set('query', 'subscription { importOrderEvents { uuid order { user { userName } } } }');
    u.searchParams.set('extensions', JSON.stringify({ headers: { authorization: `Bearer ${alice}` } }));
    const controller = new AbortController();
    try {
      const res = await fetch(u, { headers: { accept: 'text/event-stream' }, signal: controller.signal });
      expect(res.status).toBe(200);
      const appended = sleep(500).then(() => appendStage(DEMO.importOrders.completed, 'Import Completed'));
      const text = await readEvents(res, (t) => t.includes('"userName":"alice"') || t.includes('"errors"'));
      await appended;
      expect(text).toContain(DEMO.importOrders.completed);
      expect(text).not.toContain('"errors"');
    } finally {
      controller.abort();
    }
  });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(condition: () => boolean, ms = 20_000, seen: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out; seen: ${seen()}`);
    await sleep(25);
  }
}
