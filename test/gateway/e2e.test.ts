import pg from 'pg';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { DEMO, DEMO_SESSIONS, DEMO_USERS } from '../../database/demo/index';
import { gql, startTestStack, type TestStack } from '../support/stack';

const alice = DEMO_USERS.alice.sessionUuid;
const bob = DEMO_USERS.bob.sessionUuid;
const dave = DEMO_USERS.dave.sessionUuid;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

function wsClient(url: string, session: string | null): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    connectionParams: session ? { authorization: `Bearer ${session}` } : {},
  });
}

/** First `count` results of a subscription, then unsubscribes. */
function take<T>(client: Client, query: string, count: number, timeoutMs = 5000): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const results: T[] = [];
    const timer = setTimeout(() => {
      dispose();
      reject(new Error(`timed out after ${results.length} of ${count} events`));
    }, timeoutMs);
    const dispose = client.subscribe<T>(
      { query },
      {
        next: (value) => {
          if (value.errors) {
            clearTimeout(timer);
            dispose();
            reject(new Error(JSON.stringify(value.errors)));
            return;
          }
          results.push(value.data as T);
          if (results.length === count) {
            clearTimeout(timer);
            dispose();
            resolve(results);
          }
        },
        error: (err) => {
          clearTimeout(timer);
          reject(err); // a CloseEvent carries the close code
        },
        complete: () => undefined,
      },
    );
  });
}

describe('one query across the four domain subgraphs', () => {
  it('walks result image → workflow run → its input images → import order and the form submissions on their dataset', async () => {
    const res = await gql(
      stack.gateway.url,
      `query Lineage($id: ID!) {
        image(id: $id) {
          name
          producedBy {
            id name status user { userName }
            tasks { name version slurmJobIds }
            inputs {
              id name
              importOrder { uuid stage stageRaw files group { name } user { userName } }
              datasets { name formSubmissions { changedAt message version { timestamp } data form { id title } } }
            }
          }
        }
      }`,
      { session: alice, variables: { id: String(DEMO.images.aliceSeg1) } },
    );
    expect(res.errors).toBeUndefined();
    const run = res.data.image.producedBy;
    expect(run).toMatchObject({ id: DEMO.workflows.cellpose.id, name: 'Slurm Workflow', status: 'DONE', user: { userName: 'alice' } });
    expect(run.tasks.find((t: { name: string }) => t.name === 'cellpose')).toMatchObject({
      version: 'v1.4.0',
      slurmJobIds: [DEMO.workflows.cellpose.jobs.cellpose],
    });
    expect(run.inputs.map((i: { id: string }) => Number(i.id))).toEqual([...DEMO.workflows.cellpose.inputImages]);
    const input = run.inputs[0];
    expect(input.importOrder).toMatchObject({
      uuid: DEMO.importOrders.completed,
      stage: 'COMPLETED',
      stageRaw: 'Import Completed',
      group: { name: 'lab-private' },
      user: { userName: 'alice' },
    });
    expect(input.importOrder.files.length).toBeGreaterThan(0);
    const raw = input.datasets.find((d: { name: string }) => d.name === 'Raw acquisitions');
    expect(raw.formSubmissions.map((s: { changedAt: string }) => s.changedAt)).toEqual([...DEMO.forms.sampleprep.submissions]);
    expect(raw.formSubmissions[0].version.timestamp).toBe(DEMO.forms.sampleprep.versions[0]);
    expect(raw.formSubmissions[1].version.timestamp).toBe(DEMO.forms.sampleprep.versions[1]);
    expect(raw.formSubmissions[0].form).toEqual({ id: 'sample_prep', title: 'Sample preparation' });
    expect(typeof raw.formSubmissions[0].data).toBe('object');
  });

  it('answers GET queries too', async () => {
    const url = new URL(stack.gateway.url);
    url.searchParams.set('query', '{ me { userName isAdmin } }');
    const res = await fetch(url, { headers: { authorization: `Bearer ${DEMO_USERS.erin.sessionUuid}`, accept: 'application/json' } });
    expect(await res.json()).toEqual({ data: { me: { userName: 'erin', isAdmin: true } } });
  });
});

describe('lists', () => {
  it('pages with opaque cursors and a total count, and refuses pages over the limit', async () => {
    const q = `query($after: String) { project(id: "${DEMO.projects.nucleiStudy}") { datasets(first: 1, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id } } } }`;
    const first = (await gql(stack.gateway.url, q, { session: alice })).data.project.datasets;
    expect(first).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: true }, nodes: [{ id: String(DEMO.datasets.aliceRaw) }] });
    const second = (await gql(stack.gateway.url, q, { session: alice, variables: { after: first.pageInfo.endCursor } })).data.project.datasets;
    expect(second).toMatchObject({ totalCount: 2, pageInfo: { hasNextPage: false }, nodes: [{ id: String(DEMO.datasets.aliceSegmentations) }] });

    const tooMany = await gql(stack.gateway.url, '{ images(first: 501) { totalCount } }', { session: alice });
    expect(tooMany.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const badCursor = await gql(stack.gateway.url, '{ images(after: "not-a-cursor") { totalCount } }', { session: alice });
    expect(badCursor.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('counts and lists only what the caller may see', async () => {
    const q = '{ images(first: 500) { totalCount nodes { id } } importOrders { totalCount nodes { uuid } } workflowRuns { totalCount nodes { id } } }';
    const asBob = (await gql(stack.gateway.url, q, { session: bob })).data;
    const bobImages = asBob.images.nodes.map((n: { id: string }) => Number(n.id));
    expect(asBob.images.totalCount).toBe(bobImages.length);
    expect(bobImages).not.toContain(DEMO.images.aliceRaw1);
    expect(bobImages).toEqual(expect.arrayContaining([DEMO.images.bobLive1, DEMO.images.bobReadOnly, DEMO.images.plateA1]));
    expect(asBob.importOrders.nodes.map((n: { uuid: string }) => n.uuid)).not.toContain(DEMO.importOrders.completed);
    const bobRuns = asBob.workflowRuns.nodes.map((n: { id: string }) => n.id);
    expect(bobRuns).toContain(DEMO.workflows.failed.id);
    expect(bobRuns).not.toContain(DEMO.workflows.cellpose.id); // alice's, in private group 3
    expect(asBob.workflowRuns.totalCount).toBe(bobRuns.length);
    const asErin = (await gql(stack.gateway.url, q, { session: DEMO_USERS.erin.sessionUuid })).data;
    // an admin sees every run: every aggregate with a WorkflowInitiated event
    const db = new pg.Client(stack.dbs.biomeroUrl);
    await db.connect();
    const runs = await db
      .query(`SELECT count(DISTINCT originator_id)::int AS n FROM workflowtracker_events WHERE topic LIKE '%WorkflowRun.WorkflowInitiated'`)
      .finally(() => db.end());
    expect(asErin.workflowRuns.totalCount).toBe(runs.rows[0].n);
    expect(asErin.importOrders.totalCount).toBe(Object.keys(DEMO.importOrders).length);
  });
});

describe('live status through the gateway', () => {
  it('delivers an import order stage within a second of a plain SQL insert, with fields from other subgraphs', async () => {
    const client = wsClient(stack.gateway.url, alice);
    try {
      const uuid = DEMO.importOrders.started;
      const db = new pg.Client(stack.dbs.biomeroUrl);
      await db.connect();
      // resume after the newest row: the insert below is delivered however long the subscription takes to reach the subgraph
      const newest = Number((await db.query('SELECT max(id) AS id FROM imports')).rows[0].id);
      const after = Buffer.from(`ImportStage:${newest}`).toString('base64url');
      const events = take<any>(
        client,
        `subscription { importOrderUpdated(uuid: "${uuid}", after: "${after}") { cursor uuid stage stageRaw order { stage user { firstName } destination { ... on Dataset { name } } } } }`,
        1,
      );
      await new Promise((r) => setTimeout(r, 300)); // the latency below is measured from an insert made once the subscription is up
      const insertedAt = Date.now();
      // What BIOMERO.importer writes: a new stage row for the order, no id, timestamp set by the writer.
      await db.query(
        `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
         SELECT group_name, user_name, destination_id, destination_type, 'Import Completed', uuid, now(), files, file_names
           FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
        [uuid],
      );
      await db.end();
      const [event] = await events;
      expect(Date.now() - insertedAt).toBeLessThan(1000);
      expect(event.importOrderUpdated).toMatchObject({
        uuid,
        stage: 'COMPLETED',
        stageRaw: 'Import Completed',
        order: { stage: 'COMPLETED', user: { firstName: 'Alice' }, destination: { name: 'Raw acquisitions' } },
      });
    } finally {
      await client.dispose();
    }
  });

  it('replays history after a cursor over SSE, without repeating the cursor event', async () => {
    const history = await gql(stack.gateway.url, `{ importOrder(uuid: "${DEMO.importOrders.preprocessed}") { history { cursor stageRaw } } }`, {
      session: alice,
    });
    const [first, ...rest] = history.data.importOrder.history;
    const controller = new AbortController();
    const res = await fetch(stack.gateway.url, {
      method: 'POST',
      signal: controller.signal,
      headers: { 'content-type': 'application/json', accept: 'text/event-stream', authorization: `Bearer ${alice}` },
      body: JSON.stringify({
        query: `subscription { importOrderUpdated(uuid: "${DEMO.importOrders.preprocessed}", after: "${first.cursor}") { cursor stageRaw } }`,
      }),
    });
    const reader = res.body!.getReader();
    let text = '';
    const deadline = Date.now() + 5000;
    while ((text.match(/event: next/g) ?? []).length < rest.length && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    controller.abort();
    const events = [...text.matchAll(/data: (\{.*\})/g)].map((m) => JSON.parse(m[1]).data.importOrderUpdated);
    expect(events).toEqual(rest);
  });
});

describe('access', () => {
  const imageQuery = `query($id: ID!) { image(id: $id) { id name } }`;

  it('a member of another group cannot read a private group image', async () => {
    const res = await gql(stack.gateway.url, imageQuery, { session: bob, variables: { id: String(DEMO.images.aliceRaw1) } });
    expect(res.errors).toBeUndefined();
    expect(res.data).toEqual({ image: null });
  });

  it('a plain member of the same private group cannot read another member’s image; the owner and the leader can', async () => {
    const asDave = await gql(stack.gateway.url, imageQuery, { session: dave, variables: { id: String(DEMO.images.aliceRaw1) } });
    expect(asDave.data).toEqual({ image: null });
    const asAlice = await gql(stack.gateway.url, imageQuery, { session: alice, variables: { id: String(DEMO.images.aliceRaw1) } });
    expect(asAlice.data.image).toMatchObject({ id: String(DEMO.images.aliceRaw1) });
    const asCarol = await gql(stack.gateway.url, imageQuery, { session: DEMO_USERS.carol.sessionUuid, variables: { id: String(DEMO.images.aliceRaw1) } });
    expect(asCarol.data.image).toMatchObject({ id: String(DEMO.images.aliceRaw1) });
  });

  it('hides another private group’s import orders and workflow runs too', async () => {
    const res = await gql(
      stack.gateway.url,
      `{ importOrder(uuid: "${DEMO.importOrders.completed}") { uuid } workflowRun(id: "${DEMO.workflows.cellpose.id}") { id } }`,
      { session: bob },
    );
    expect(res.data).toEqual({ importOrder: null, workflowRun: null });
  });

  it('answers UNAUTHENTICATED without a session, and for closed, expired or unknown sessions', async () => {
    const anonymous = await gql(stack.gateway.url, imageQuery, { variables: { id: '1' } });
    expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    for (const key of [DEMO_SESSIONS.aliceClosed.uuid, DEMO_SESSIONS.aliceExpired.uuid, 'no-such-session']) {
      const res = await gql(stack.gateway.url, imageQuery, { session: key, variables: { id: '1' } });
      expect(res.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
      expect(res.data ?? null).toBeNull();
    }
  });

  it('refuses a WebSocket connection with an unknown session', async () => {
    const client = wsClient(stack.gateway.url, 'no-such-session');
    await expect(take(client, 'subscription { importOrderUpdated { cursor } }', 1)).rejects.toMatchObject({ code: 4403 });
    await client.dispose();
  });
});

describe('subgraphs reached directly', () => {
  it('refuse HTTP requests without a valid identity signature, including _entities', async () => {
    const omero = stack.subgraphs.omero.url;
    const plain = await gql(omero, `{ image(id: "${DEMO.images.aliceRaw1}") { name } }`);
    expect(plain.status).toBe(401);
    expect(plain.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(plain.data).toBeUndefined();
    const entities = await gql(omero, `{ _entities(representations: [{__typename: "Image", id: "1"}]) { ... on Image { name } } }`, {
      headers: {
        'x-omero-graph-identity':
          'v1.eyJleHAiOjk5OTk5OTk5OTksImNhbGxlciI6eyJ1c2VySWQiOjAsInVzZXJOYW1lIjoicm9vdCIsImlzQWRtaW4iOnRydWUsImdyb3VwcyI6W119fQ.forged',
      },
    });
    expect(entities.status).toBe(401);
    expect(entities.data).toBeUndefined();
  });

  it('close WebSocket connections without an identity', async () => {
    const client = createClient({ url: stack.subgraphs.imports.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
    await expect(take(client, 'subscription { importOrderUpdated { cursor } }', 1)).rejects.toMatchObject({ code: 4403 });
    await client.dispose();
  });
});

describe('service endpoints', () => {
  const base = () => stack.gateway.url.replace(/\/graphql$/, '');

  it('reports health and per-subgraph readiness', async () => {
    expect((await fetch(`${base()}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base()}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      checks: { sessions: 'ok', omero: 'ok', imports: 'ok', workflows: 'ok', forms: 'ok', provenance: 'ok' },
    });
  });

  it('serves GraphiQL from the package, loading nothing from a CDN', async () => {
    const res = await fetch(stack.gateway.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('<title>omero-graph</title>');
    expect(html).not.toMatch(/<script[^>]+src=["']?https?:/i);
    expect(html).not.toMatch(/<link[^>]+href=["']?https?:/i);
  });
});
