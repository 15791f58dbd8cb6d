import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { DEMO, DEMO_USERS } from '../../database/demo/index';
import { DEMO_GROUPS } from '../../database/demo/world';
import { appendEvents } from '../../database/demo/workflows';
import { signIdentity, type Identity } from '../../subgraphs/common/identity';
import { demoIdentity } from '../support/identities';
import { startTestStack, TEST_SECRET, type TestStack } from '../support/stack';
import { copySession } from '../support/identities';

/**
 * An open subscription follows its caller (docs/identity.md, Live sessions), on graphql-ws and SSE
 * alike: a closed session ends it with UNAUTHENTICATED, a group left or a group's permissions
 * changed stop that group's events on the open subscription while the rest keep coming, and the
 * identity between gateway and subgraph is renewed while connected (and ends the subscription at
 * the subgraph when it is not). Subgraph error codes reach the client on subscriptions.
 */
const CACHE_MS = 200;
const CHECK_MS = 200;
const TTL_SECONDS = 2;
/** lab-readonly and lab-annotate (database/demo/world.ts): bob is a member of both, alice of lab-annotate */
const DEMO_GROUP = { labReadOnly: DEMO_GROUPS.labReadOnly.id, labAnnotate: DEMO_GROUPS.labAnnotate.id } as const;
/** the documented bound (SESSION_CACHE_MS + WS_SESSION_CHECK_MS), with room for a busy machine */
const BOUND_MS = CACHE_MS + CHECK_MS + 8_000;

let stack: TestStack;
let omero: pg.Pool;
let biomero: pg.Pool;
beforeAll(async () => {
  stack = await startTestStack({ sessionCacheMs: CACHE_MS, gateway: { wsSessionCheckMs: CHECK_MS, identityTtlSeconds: TTL_SECONDS } });
  omero = new pg.Pool({ connectionString: stack.dbs.omeroUrl, max: 2 });
  biomero = new pg.Pool({ connectionString: stack.dbs.biomeroUrl, max: 2 });
}, 60_000);
afterAll(async () => {
  await omero?.end();
  await biomero?.end();
  await stack?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, condition: () => boolean, ms = BOUND_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A new open OMERO session of a demo user (a copy of their demo session row). */
const newSession = (user: keyof typeof DEMO_USERS): Promise<string> => copySession(omero, DEMO_USERS[user]);

/** Appends a stage row of a new import order of `user` in `group`; returns its uuid. */
async function appendRow(group: string, user: string): Promise<string> {
  const uuid = randomUUID();
  await biomero.query(
    `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
     SELECT $2, $3, destination_id, destination_type, 'Import Started', $4, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
    [DEMO.importOrders.pending, group, user, uuid],
  );
  return uuid;
}

/** Appends a Task.StatusUpdated event with a unique status to a demo workflow task; returns that status. */
async function appendTaskEvent(taskId: string): Promise<string> {
  const status = `STATUS-${randomUUID()}`;
  const { rows } = await biomero.query('SELECT coalesce(max(originator_version) + 1, 0)::int AS v FROM workflowtracker_events WHERE originator_id = $1', [
    taskId,
  ]);
  await appendEvents(biomero, [{ originatorId: taskId, version: rows[0].v, type: 'Task.StatusUpdated', fields: { status } }]);
  return status;
}

type Transport = 'graphql-ws' | 'SSE';
type GraphQLErrorBody = { message: string; extensions?: { code?: string } };

/** One client subscription: what it delivered, and how it ended. */
interface Subscription {
  events: any[];
  errors: GraphQLErrorBody[] | null;
  ended: boolean;
  /** graphql-ws: the close code of the client's connection */
  closeCode: number | null;
  close(): Promise<void>;
}

const EVENTS = 'subscription($after: String) { importOrderEvents(after: $after) { cursor uuid } }';

function subscribe(transport: Transport, session: string | null, query = EVENTS, variables: Record<string, unknown> = {}): Subscription {
  return transport === 'graphql-ws' ? overWebSocket(session, query, variables) : overSse(session, query, variables);
}

function overWebSocket(session: string | null, query: string, variables: Record<string, unknown>): Subscription {
  const sub: Subscription = { events: [], errors: null, ended: false, closeCode: null, close: () => client.dispose() as Promise<void> };
  const client: Client = createClient({
    url: stack.gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: session ? { authorization: `Bearer ${session}` } : {},
    on: { closed: (e) => void (sub.closeCode = (e as { code: number }).code) },
  });
  client.subscribe(
    { query, variables },
    {
      next: (v) => (v.errors ? (sub.errors = v.errors as GraphQLErrorBody[]) : sub.events.push(Object.values(v.data as object)[0])),
      error: (e) => {
        sub.errors ??= Array.isArray(e) ? (e as GraphQLErrorBody[]) : [{ message: String((e as { code?: number }).code ?? e) }];
        sub.ended = true;
      },
      complete: () => void (sub.ended = true),
    },
  );
  return sub;
}

/** GraphQL over SSE as Yoga serves it: POST with `accept: text/event-stream`, `next` and `complete` events. */
function overSse(session: string | null, query: string, variables: Record<string, unknown>): Subscription {
  const abort = new AbortController();
  const sub: Subscription = { events: [], errors: null, ended: false, closeCode: null, close: async () => abort.abort() };
  void (async () => {
    const res = await fetch(stack.gateway.url, {
      method: 'POST',
      signal: abort.signal,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...(session ? { authorization: `Bearer ${session}` } : {}) },
      body: JSON.stringify({ query, variables }),
    });
    if (!res.headers.get('content-type')?.includes('text/event-stream')) {
      sub.errors = ((await res.json()) as { errors: GraphQLErrorBody[] }).errors;
      sub.ended = true;
      return;
    }
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(message)?.[1];
        const data = /^data: (.*)$/m.exec(message)?.[1];
        if (event === 'complete') sub.ended = true;
        if (event !== 'next' || !data) continue;
        const result = JSON.parse(data) as { data?: object; errors?: GraphQLErrorBody[] };
        if (result.errors) sub.errors = result.errors;
        else sub.events.push(Object.values(result.data as object)[0]);
      }
    }
    sub.ended = true;
  })().catch((err) => {
    if (!abort.signal.aborted) sub.errors ??= [{ message: String(err) }];
    sub.ended = true;
  });
  return sub;
}

/** what identifies a delivered row: an import order's uuid, a workflow event's (unique) status */
const uuids = (sub: Subscription) => sub.events.map((e) => (e.uuid ?? e.data?.status) as string);
const codeOf = (sub: Subscription) => sub.errors?.[0]?.extensions?.code;

/** Appends a row until the subscription delivers one: it is then open (no cursor: it starts when it is ready). */
async function untilOpen(sub: Subscription, group: string, user: string): Promise<void> {
  const deadline = Date.now() + BOUND_MS;
  for (;;) {
    const uuid = await appendRow(group, user);
    const until = Date.now() + 500;
    while (!uuids(sub).includes(uuid) && Date.now() < until && !sub.ended) await sleep(25);
    if (uuids(sub).includes(uuid)) return;
    if (sub.ended || Date.now() > deadline) throw new Error(`subscription did not open: ${JSON.stringify(sub.errors)}`);
  }
}

/**
 * Rounds of one `hidden` row then one `kept` row, until a round's kept row arrives without its
 * hidden row (rows arrive in id order, so the hidden one was filtered out). Returns the rounds it took.
 */
async function untilHidden(sub: Subscription, hidden: () => Promise<string>, kept: () => Promise<string>): Promise<number> {
  const deadline = Date.now() + BOUND_MS;
  for (let round = 1; ; round++) {
    const h = await hidden();
    const k = await kept();
    await waitFor(`kept row of round ${round}`, () => uuids(sub).includes(k));
    if (!uuids(sub).includes(h)) return round;
    if (Date.now() > deadline) throw new Error('the hidden group’s rows kept arriving');
    await sleep(100);
  }
}

describe.each<Transport>(['graphql-ws', 'SSE'])('over %s', (transport) => {
  it('a closed session ends its subscription with UNAUTHENTICATED; another session’s subscription goes on', async () => {
    const closing = await newSession('alice');
    const staying = await newSession('alice');
    const ending = subscribe(transport, closing);
    const control = subscribe(transport, staying);
    try {
      await untilOpen(ending, 'lab-private', 'alice');
      await untilOpen(control, 'lab-private', 'alice');
      await omero.query('UPDATE session SET closed = now() WHERE uuid = $1', [closing]);
      await waitFor('the end of the closed session’s subscription', () => ending.ended);
      expect(codeOf(ending)).toBe('UNAUTHENTICATED');
      if (transport === 'graphql-ws') await waitFor('close 4401', () => ending.closeCode === 4401);
      // the other session of the same user keeps receiving on the same subscription
      const after = await appendRow('lab-private', 'alice');
      await waitFor('the control’s row', () => uuids(control).includes(after));
      expect(control.ended).toBe(false);
    } finally {
      await ending.close();
      await control.close();
    }
  });

  it('an expired session (timetolive) ends its subscription with UNAUTHENTICATED', async () => {
    const expiring = await newSession('dave');
    const sub = subscribe(transport, expiring);
    try {
      await untilOpen(sub, 'lab-private', 'dave');
      await omero.query(`UPDATE session SET started = now() - interval '2 hours', timetolive = 60000 WHERE uuid = $1`, [expiring]);
      await waitFor('the end of the expired session’s subscription', () => sub.ended);
      expect(codeOf(sub)).toBe('UNAUTHENTICATED');
    } finally {
      await sub.close();
    }
  });

  it('a group left stops that group’s events on the open subscription; another group’s keep coming', async () => {
    // bob: member of lab-annotate (5) and lab-readonly (4)
    const session = await newSession('bob');
    const sub = subscribe(transport, session);
    const membership = (
      await omero.query('SELECT row_to_json(m) AS row FROM groupexperimentermap m WHERE parent = $1 AND child = $2', [
        DEMO_GROUP.labReadOnly,
        DEMO_USERS.bob.id,
      ])
    ).rows[0].row;
    try {
      await untilOpen(sub, 'lab-annotate', 'bob');
      const hidden = () => appendRow('lab-readonly', 'carol');
      const kept = () => appendRow('lab-annotate', 'alice');
      // before: both groups' rows arrive (the test can tell)
      const h = await hidden();
      const k = await kept();
      await waitFor('both rows', () => uuids(sub).includes(k));
      expect(uuids(sub)).toContain(h);
      await omero.query('DELETE FROM groupexperimentermap WHERE parent = $1 AND child = $2', [DEMO_GROUP.labReadOnly, DEMO_USERS.bob.id]);
      await untilHidden(sub, hidden, kept);
      // and for good: one more round, same subscription, never ended
      const h2 = await hidden();
      const k2 = await kept();
      await waitFor('the kept row', () => uuids(sub).includes(k2));
      expect(uuids(sub)).not.toContain(h2);
      expect(sub.ended).toBe(false);
    } finally {
      await sub.close();
      await omero.query('INSERT INTO groupexperimentermap SELECT * FROM json_populate_record(null::groupexperimentermap, $1)', [membership]);
    }
  });

  it('a group left stops that group’s workflow run events too (workflowRunEvents)', async () => {
    // alice: lab-private (3, her own running run) and lab-annotate (5, bob's failed run)
    const W = DEMO.workflows;
    const sub = subscribe(transport, await newSession('alice'), 'subscription { workflowRunEvents { cursor runId data } }');
    const membership = (
      await omero.query('SELECT row_to_json(m) AS row FROM groupexperimentermap m WHERE parent = $1 AND child = $2', [
        DEMO_GROUP.labAnnotate,
        DEMO_USERS.alice.id,
      ])
    ).rows[0].row;
    try {
      const hidden = () => appendTaskEvent(W.failed.tasks.stardist);
      const kept = () => appendTaskEvent(W.running.tasks.cellpose);
      const deadline = Date.now() + BOUND_MS;
      while (sub.events.length === 0 && Date.now() < deadline) await kept().then(() => sleep(200)); // open
      const h = await hidden();
      const k = await kept();
      await waitFor('both events', () => uuids(sub).includes(k));
      expect(uuids(sub)).toContain(h);
      await omero.query('DELETE FROM groupexperimentermap WHERE parent = $1 AND child = $2', [DEMO_GROUP.labAnnotate, DEMO_USERS.alice.id]);
      await untilHidden(sub, hidden, kept);
      expect(sub.ended).toBe(false);
    } finally {
      await sub.close();
      await omero.query('INSERT INTO groupexperimentermap SELECT * FROM json_populate_record(null::groupexperimentermap, $1)', [membership]);
    }
  });

  it('a group made private stops other members’ events on the open subscription; the caller’s own keep coming', async () => {
    const session = await newSession('bob');
    const sub = subscribe(transport, session);
    const before = (await omero.query('SELECT permissions FROM experimentergroup WHERE id = $1', [DEMO_GROUP.labAnnotate])).rows[0].permissions;
    try {
      await untilOpen(sub, 'lab-annotate', 'bob');
      const hidden = () => appendRow('lab-annotate', 'alice');
      const kept = () => appendRow('lab-annotate', 'bob');
      const h = await hidden();
      const k = await kept();
      await waitFor('both rows', () => uuids(sub).includes(k));
      expect(uuids(sub)).toContain(h);
      await omero.query('UPDATE experimentergroup SET permissions = -120 WHERE id = $1', [DEMO_GROUP.labAnnotate]); // rw----
      await untilHidden(sub, hidden, kept);
      expect(sub.ended).toBe(false);
    } finally {
      await sub.close();
      await omero.query('UPDATE experimentergroup SET permissions = $2 WHERE id = $1', [DEMO_GROUP.labAnnotate, before]);
    }
  });

  it('a subscription outlives its identity token (IDENTITY_TTL_SECONDS): the gateway renews it at the subgraph', async () => {
    const sub = subscribe(transport, await newSession('carol'));
    try {
      await untilOpen(sub, 'lab-private', 'alice');
      await sleep((TTL_SECONDS + 1.5) * 1000); // every token it started with has expired by now
      const later = await appendRow('lab-private', 'alice');
      await waitFor('a row after the first token expired', () => uuids(sub).includes(later));
      expect(sub.errors).toBeNull();
      expect(sub.ended).toBe(false);
    } finally {
      await sub.close();
    }
  });

  it('entity fields from another subgraph still resolve after the identity token the subscription started with expired', async () => {
    // `order { user { firstName } }` is fetched from the omero subgraph (`_entities`) for every event, with the caller's identity
    const sub = subscribe(transport, await newSession('carol'), 'subscription { importOrderEvents { cursor uuid order { user { userName firstName } } } }');
    try {
      await untilOpen(sub, 'lab-private', 'alice');
      await sleep((TTL_SECONDS + 1.5) * 1000); // every token it started with has expired by now
      const later = await appendRow('lab-private', 'alice');
      await waitFor('a row after the first token expired', () => uuids(sub).includes(later) || sub.errors !== null);
      expect(sub.errors).toBeNull();
      expect(sub.events.find((e) => e.uuid === later)?.order?.user?.userName).toBe('alice');
      expect(sub.ended).toBe(false);
    } finally {
      await sub.close();
    }
  });

  it('keeps a subgraph’s error codes: a bad cursor is BAD_USER_INPUT, an anonymous subscription UNAUTHENTICATED', async () => {
    const bad = subscribe(transport, DEMO_USERS.bob.sessionUuid, EVENTS, { after: 'not-a-cursor' });
    const anonymous = subscribe(transport, null);
    try {
      await waitFor('both to end', () => bad.ended && anonymous.ended);
      expect(codeOf(bad)).toBe('BAD_USER_INPUT');
      expect(bad.errors?.[0]?.message).toMatch(/cursor/i);
      expect(codeOf(anonymous)).toBe('UNAUTHENTICATED');
    } finally {
      await bad.close();
      await anonymous.close();
    }
  });
});

describe('identity at the subgraph, direct (gateway → subgraph protocol)', () => {
  /** A graphql-ws connection straight to the imports subgraph with a signed identity; `renew` pings a new one. */
  function direct(identity: Identity | null, ttlSeconds: number) {
    let socket: WebSocket | null = null;
    const client = createClient({
      url: stack.subgraphs.imports.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      retryAttempts: 0,
      connectionParams: { identity: signIdentity(identity, TEST_SECRET, ttlSeconds) },
      on: { connected: (s) => void (socket = s as WebSocket) },
    });
    const sub: Subscription = { events: [], errors: null, ended: false, closeCode: null, close: () => client.dispose() as Promise<void> };
    client.subscribe(
      { query: EVENTS },
      {
        next: (v) => (v.errors ? (sub.errors = v.errors as GraphQLErrorBody[]) : sub.events.push(Object.values(v.data as object)[0])),
        error: (e) => {
          sub.errors ??= Array.isArray(e) ? (e as GraphQLErrorBody[]) : [{ message: String(e) }];
          sub.ended = true;
        },
        complete: () => void (sub.ended = true),
      },
    );
    const send = (token: string) => socket?.send(JSON.stringify({ type: 'ping', payload: { identity: token } }));
    const renew = (next: Identity | null, ttl: number) => send(signIdentity(next, TEST_SECRET, ttl));
    return { sub, renew, send };
  }

  it('ends a subscription with UNAUTHENTICATED when its identity token expires without renewal; a renewed one goes on', async () => {
    const bob = demoIdentity(DEMO_USERS.bob);
    const expiring = direct(bob, 2);
    const renewed = direct(bob, 2);
    const renewal = setInterval(() => renewed.renew(bob, 2), 300);
    try {
      await untilOpen(expiring.sub, 'lab-annotate', 'bob');
      await untilOpen(renewed.sub, 'lab-annotate', 'bob');
      await waitFor('the end of the unrenewed subscription', () => expiring.sub.ended, 2_000 + BOUND_MS);
      expect(codeOf(expiring.sub)).toBe('UNAUTHENTICATED');
      // the renewed one outlives the first token's lifetime
      await sleep(1_000);
      const later = await appendRow('lab-annotate', 'bob');
      await waitFor('a row on the renewed subscription', () => uuids(renewed.sub).includes(later));
      expect(renewed.sub.ended).toBe(false);
    } finally {
      clearInterval(renewal);
      await expiring.sub.close();
      await renewed.sub.close();
    }
  });

  it('filters with a renewed scope at once; ends on a renewal naming another user or signed with another secret', async () => {
    const bob = demoIdentity(DEMO_USERS.bob);
    const narrowed = direct(bob, 60);
    const foreign = direct(bob, 60);
    try {
      await untilOpen(narrowed.sub, 'lab-annotate', 'bob');
      await untilOpen(foreign.sub, 'lab-annotate', 'bob');
      narrowed.renew({ ...bob, groups: bob.groups.filter((g) => g.id !== DEMO_GROUP.labReadOnly) }, 60);
      await untilHidden(
        narrowed.sub,
        () => appendRow('lab-readonly', 'carol'),
        () => appendRow('lab-annotate', 'alice'),
      );
      expect(narrowed.sub.ended).toBe(false);
      narrowed.renew(demoIdentity(DEMO_USERS.alice), 60);
      foreign.send(signIdentity(bob, 'another-secret-that-is-long-enough-0123456789', 60));
      await waitFor('both to end', () => narrowed.sub.ended && foreign.sub.ended);
      expect(codeOf(narrowed.sub)).toBe('UNAUTHENTICATED');
      expect(codeOf(foreign.sub)).toBe('UNAUTHENTICATED');
    } finally {
      await narrowed.sub.close();
      await foreign.sub.close();
    }
  });
});
