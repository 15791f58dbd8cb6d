import { createHash } from 'node:crypto';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { DEMO, DEMO_SESSIONS, DEMO_USERS } from '../../database/demo/index';
import { gql, startTestStack, type TestStack } from '../support/stack';

/**
 * Consistent answers through the real gateway stack (docs/security.md, "Bad input"): one status
 * and code for a missing or unusable session on every path, one answer for a lineage download of
 * a root that is missing or hidden, and introspection counted by the rate limit.
 */
let stack: TestStack;
let url: string;
const BURST = 20;

beforeAll(async () => {
  stack = await startTestStack({ gateway: { rateLimitPerSecond: 1, rateLimitBurst: BURST, introspection: 'on' } });
  url = stack.gateway.url;
}, 90_000);
afterAll(async () => {
  await stack?.stop();
});

const code = (res: { errors?: { extensions?: { code?: string } }[] }) => res.errors?.[0]?.extensions?.code;
const INTROSPECTION = '{ __schema { queryType { name } } }';

describe('introspection takes a rate-limit token like any other request', () => {
  it('a burst of introspections is answered, then RATE_LIMITED; the same bucket refuses other operations; others are unaffected', async () => {
    const caller = DEMO_USERS.formmaster.sessionUuid; // used by no other test here: its bucket is this test's
    const answers = await Promise.all(Array.from({ length: BURST + 10 }, () => gql(url, INTROSPECTION, { session: caller })));
    const answered = answers.filter((a) => a.status === 200 && a.data?.__schema?.queryType?.name === 'Query');
    const limited = answers.filter((a) => a.status === 429);
    // the bucket refills at 1/s while the burst is sent: a few more may pass, never all
    expect(answered.length).toBeGreaterThanOrEqual(BURST);
    expect(limited.length).toBeGreaterThan(0);
    expect(answered.length + limited.length).toBe(answers.length);
    expect(code(limited[0])).toBe('RATE_LIMITED');
    // the same bucket: the caller's other operations are refused too (it refills at 1/s, so send more than can refill meanwhile)
    const others = await Promise.all(Array.from({ length: 30 }, () => gql(url, '{ me { userName } }', { session: caller })));
    expect(others.filter((o) => code(o) === 'RATE_LIMITED').length).toBeGreaterThan(0);
    // another identity, and its introspection, still answered
    const carol = await gql(url, INTROSPECTION, { session: DEMO_USERS.carol.sessionUuid });
    expect(carol.status).toBe(200);
    expect(carol.data.__schema.queryType.name).toBe('Query');
  });
});

describe('no usable session: UNAUTHENTICATED with HTTP 401 on every path', () => {
  const query = '{ me { userName } }';
  const KEYS: Array<[string, Record<string, string>]> = [
    ['no session', {}],
    ['an unknown key', { authorization: 'Bearer 00000000-0000-4000-8000-00000000dead' }],
    ['a closed session', { authorization: `Bearer ${DEMO_SESSIONS.aliceClosed.uuid}` }],
    ['an expired session', { authorization: `Bearer ${DEMO_SESSIONS.aliceExpired.uuid}` }],
    ['an unknown cookie', { cookie: 'omero_graph_session=00000000-0000-4000-8000-00000000dead' }],
  ];
  const json = { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' };
  const apqQuery = '{ me { userName firstName } }';
  const apqHash = createHash('sha256').update(apqQuery).digest('hex');
  /** path name → one request with the given headers; the status and the first error code */
  const PATHS: Array<[string, (headers: Record<string, string>) => Promise<{ status: number; code?: string }>]> = [
    [
      'POST query',
      async (h) => {
        const res = await fetch(url, { method: 'POST', headers: { ...json, ...h }, body: JSON.stringify({ query }) });
        return { status: res.status, code: code(await res.json()) };
      },
    ],
    [
      'POST mutation',
      async (h) => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { ...json, ...h },
          body: JSON.stringify({ query: 'mutation { cancelWorkflowRun(id: "0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3affff") { cancelledJobIds } }' }),
        });
        return { status: res.status, code: code(await res.json()) };
      },
    ],
    [
      'GET query',
      async (h) => {
        const res = await fetch(`${url}?query=${encodeURIComponent(query)}`, { headers: { accept: 'application/json', ...h } });
        return { status: res.status, code: code(await res.json()) };
      },
    ],
    [
      'SSE subscription',
      async (h) => {
        const res = await fetch(`${url}?query=${encodeURIComponent('subscription { importOrderEvents { cursor } }')}`, {
          headers: { accept: 'text/event-stream', ...h },
        });
        const text = await res.text();
        const data = /^data: (\{.*\})$/m.exec(text)?.[1];
        return { status: res.status, code: data ? code(JSON.parse(data)) : undefined };
      },
    ],
    [
      'persisted query (APQ hash)',
      async (h) => {
        const res = await fetch(url, {
          method: 'POST',
          headers: { ...json, ...h },
          body: JSON.stringify({ extensions: { persistedQuery: { version: 1, sha256Hash: apqHash } } }),
        });
        return { status: res.status, code: code(await res.json()) };
      },
    ],
    [
      'lineage download (PROV-JSON)',
      async (h) => {
        const res = await fetch(new URL(`/lineage/Image:${DEMO.images.aliceRaw1}.prov.json`, url), { headers: h });
        return { status: res.status, code: code(await res.json()) };
      },
    ],
    [
      'lineage download (RO-Crate)',
      async (h) => {
        const res = await fetch(new URL(`/lineage/Image:${DEMO.images.aliceRaw1}.crate.json`, url), { headers: h });
        return { status: res.status, code: code(await res.json()) };
      },
    ],
    [
      'logout',
      async (h) => {
        const res = await fetch(url, { method: 'POST', headers: { ...json, ...h }, body: JSON.stringify({ query: 'mutation { logout }' }) });
        return { status: res.status, code: code(await res.json()) };
      },
    ],
  ];

  beforeAll(async () => {
    // the APQ document is registered by a signed-in caller first
    const res = await fetch(url, {
      method: 'POST',
      headers: { ...json, authorization: `Bearer ${DEMO_USERS.dave.sessionUuid}` },
      body: JSON.stringify({ query: apqQuery, extensions: { persistedQuery: { version: 1, sha256Hash: apqHash } } }),
    });
    expect(res.status).toBe(200);
  });

  it.each(PATHS)('%s', async (_path, send) => {
    for (const [name, headers] of KEYS) {
      expect({ session: name, ...(await send(headers)) }).toEqual({ session: name, status: 401, code: 'UNAUTHENTICATED' });
    }
  });

  it('positive controls: the same paths with a session are answered', async () => {
    const dave = { authorization: `Bearer ${DEMO_USERS.dave.sessionUuid}` };
    for (const [name, send] of PATHS.filter(([p]) => !/logout|mutation|SSE/.test(p))) {
      expect({ name, ...(await send({ authorization: `Bearer ${DEMO_USERS.alice.sessionUuid}` })) }).toEqual({ name, status: 200, code: undefined });
    }
    expect(await PATHS.find(([p]) => p === 'POST mutation')![1](dave)).toEqual({ status: 200, code: 'NOT_FOUND' });
    // what needs no session still needs none: __typename, and introspection (INTROSPECTION=on here)
    expect(await gql(url, '{ __typename }')).toMatchObject({ status: 200, data: { __typename: 'Query' } });
    expect(await gql(url, INTROSPECTION)).toMatchObject({ status: 200, data: { __schema: { queryType: { name: 'Query' } } } });
    // … but an unknown key is refused even there
    expect(await gql(url, INTROSPECTION, { session: 'not-a-session' })).toMatchObject({ status: 401, errors: [{ extensions: { code: 'UNAUTHENTICATED' } }] });
  });

  it('graphql-ws: an unknown session closes with 4403; an anonymous subscription is UNAUTHENTICATED', async () => {
    const refused = createClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
      connectionParams: { authorization: 'Bearer 00000000-0000-4000-8000-00000000dead' },
      on: { closed: (e) => onClosed((e as { code: number }).code) },
    });
    let onClosed: (code: number) => void = () => undefined;
    const closed = await new Promise<number>((resolve) => (onClosed = resolve));
    await refused.dispose();
    expect(closed).toBe(4403);
    const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    try {
      const errors = await new Promise<unknown>((resolve) => {
        client.subscribe(
          { query: 'subscription { importOrderEvents { cursor } }' },
          {
            next: (v) => resolve(v.errors),
            error: (e) => resolve(e),
            complete: () => resolve('complete'),
          },
        );
      });
      // the code only: an HTTP status means nothing on a WebSocket
      expect(errors).toEqual([
        { message: 'Subscriptions need an OMERO session key (Authorization: Bearer <session uuid>).', extensions: { code: 'UNAUTHENTICATED' } },
      ]);
    } finally {
      await client.dispose();
    }
  });
});

describe('a lineage download of a root that is missing or hidden is 404, the same for both', () => {
  const download = (path: string, session: string) => fetch(new URL(path, url), { headers: { authorization: `Bearer ${session}` } });
  const bob = DEMO_USERS.bob.sessionUuid;
  const alice = DEMO_USERS.alice.sessionUuid;

  it.each(['prov', 'crate'])('%s.json', async (format) => {
    // bob may not see image 17 (alice's, as in test/gateway/lineage.test.ts)
    const hidden = await download(`/lineage/Image:17.${format}.json`, bob);
    const missing = await download(`/lineage/Image:987654.${format}.json`, bob);
    const expected = { errors: [{ message: 'Nothing with this id exists that you may see.', extensions: { code: 'NOT_FOUND' } }] };
    for (const res of [hidden, missing]) {
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual(expected);
    }
    // positive control: the owner downloads it
    const visible = await download(`/lineage/Image:17.${format}.json`, alice);
    expect(visible.status).toBe(200);
    expect(visible.headers.get('content-disposition')).toBe(`attachment; filename="Image_17.${format}.json"`);
  });
});
