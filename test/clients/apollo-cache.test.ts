/**
 * Apollo Client with its normalised InMemoryCache, configured from clients/cache-config.json,
 * against the whole stack over HTTP and graphql-ws: what a browser application does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApolloClient, ApolloLink, CombinedGraphQLErrors, HttpLink, InMemoryCache, gql } from '@apollo/client';
import { GraphQLWsLink } from '@apollo/client/link/subscriptions';
import { createClient, type Client } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { DEMO, DEMO_USERS, LINEAGE_DEMO } from '../../database/demo/index';
import type { CacheConfig } from '../../clients/cache-config';
import { startTestStack, type TestStack } from '../support/stack';

const config = JSON.parse(readFileSync(join(__dirname, '..', '..', 'clients', 'cache-config.json'), 'utf8')) as CacheConfig;
const alice = DEMO_USERS.alice.sessionUuid;
const bob = DEMO_USERS.bob.sessionUuid;

let stack: TestStack;
const sockets: Client[] = [];
const FIXTURES = join(__dirname, '..', 'fixtures', 'workflows');

beforeAll(async () => {
  stack = await startTestStack({ workflows: { catalogue: { configFile: join(FIXTURES, 'slurm-config.ini'), descriptorsDir: join(FIXTURES, 'descriptors') } } });
});
afterAll(async () => {
  await Promise.all(sockets.map((s) => s.dispose()));
  await stack?.stop();
});

/** An Apollo client for one user: queries over HTTP, subscriptions over graphql-ws. */
function apollo(session: string): ApolloClient {
  const http = new HttpLink({ uri: stack.gateway.url, headers: { authorization: `Bearer ${session}` } });
  const socket = createClient({
    url: stack.gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${session}` },
  });
  sockets.push(socket);
  const link = ApolloLink.split(
    ({ query }) => query.definitions.some((d) => d.kind === 'OperationDefinition' && d.operation === 'subscription'),
    new GraphQLWsLink(socket),
    http,
  );
  return new ApolloClient({ link, cache: new InMemoryCache({ possibleTypes: config.possibleTypes, typePolicies: config.typePolicies }) });
}

/** The code of the first GraphQL error of an Apollo result. */
function errorCode(error: unknown): unknown {
  return CombinedGraphQLErrors.is(error) ? error.errors[0]?.extensions?.code : error;
}

async function until<T>(read: () => T | undefined, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const LINEAGE = gql`
  query Lineage($of: ID!, $direction: LineageDirection) {
    lineage(of: $of, direction: $direction, depth: 10) {
      root
      nodes {
        nodeId
        kind
        hop
        redacted
        entity {
          __typename
          ... on Image {
            id
            name
          }
          ... on WorkflowRun {
            id
            status
          }
          ... on ImportOrder {
            id
            stage
          }
        }
      }
    }
  }
`;
type LineageData = { lineage: { root: string; nodes: { nodeId: string; hop: number; entity: { __typename: string; id: string; name?: string } | null }[] } };
const hop = (data: LineageData, id: string) => data.lineage.nodes.find((n) => n.nodeId === id)?.hop;

describe('lineage views from different roots', () => {
  it('keep their own hops in one cache, and share the objects they show', async () => {
    const client = apollo(alice);
    const measurement = `Image:${LINEAGE_DEMO.images.measurements}`;
    const raw = `Image:${DEMO.images.aliceRaw1}`;
    const up = await client.query<LineageData>({ query: LINEAGE, variables: { of: measurement, direction: 'UPSTREAM' } });
    expect(hop(up.data!, measurement)).toBe(0);
    const down = await client.query<LineageData>({ query: LINEAGE, variables: { of: raw, direction: 'DOWNSTREAM' } });
    // the same image, seen from another root, further away
    expect(hop(down.data!, measurement)).toBeGreaterThan(0);
    expect(hop(down.data!, raw)).toBe(0);

    const cachedUp = client.readQuery<LineageData>({ query: LINEAGE, variables: { of: measurement, direction: 'UPSTREAM' } });
    expect(cachedUp).toEqual(up.data);
    expect(hop(cachedUp!, measurement)).toBe(0);
    expect(hop(cachedUp!, raw)).toBe(hop(up.data!, raw));
    // the entity itself is one cache object, under the global id node(id:) takes
    const entity = cachedUp!.lineage.nodes.find((n) => n.nodeId === measurement)!.entity!;
    expect(client.cache.identify(entity)).toBe(measurement);
    expect((client.cache.extract() as Record<string, unknown>)[measurement]).toMatchObject({ __typename: 'Image', name: 'nuclei_measurements.tif' });
  });
});

describe('a live import event', () => {
  it('updates the cached order it names, with no refetch', async () => {
    const client = apollo(alice);
    const uuid = DEMO.importOrders.started;
    const ORDER = gql`
      query Order($uuid: ID!) {
        importOrder(uuid: $uuid) {
          id
          uuid
          stage
          stageRaw
        }
      }
    `;
    const first = await client.query<{ importOrder: { id: string; stage: string } }>({ query: ORDER, variables: { uuid } });
    expect(first.data!.importOrder).toMatchObject({ id: uuid, stage: 'STARTED' });

    const events: unknown[] = [];
    const subscription = client
      .subscribe({
        query: gql`
          subscription Updates($uuid: ID!) {
            importOrderUpdated(uuid: $uuid) {
              cursor
              stage
              order {
                id
                stage
                stageRaw
              }
            }
          }
        `,
        variables: { uuid },
      })
      .subscribe({ next: (e) => events.push(e) });
    try {
      await new Promise((r) => setTimeout(r, 500)); // let the subscription reach the subgraph
      const db = new pg.Client(stack.dbs.biomeroUrl);
      await db.connect();
      await db
        .query(
          `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
         SELECT group_name, user_name, destination_id, destination_type, 'Import Completed', uuid, now(), files, file_names
           FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
          [uuid],
        )
        .finally(() => db.end());
      const cached = await until(() => {
        const data = client.readQuery<{ importOrder: { stage: string; stageRaw: string } }>({ query: ORDER, variables: { uuid } });
        return data?.importOrder.stage === 'COMPLETED' ? data : undefined;
      });
      expect(cached.importOrder).toMatchObject({ id: uuid, stage: 'COMPLETED', stageRaw: 'Import Completed' });
      expect(events.length).toBeGreaterThan(0);
    } finally {
      subscription.unsubscribe();
    }
  });
});

describe('node(id:)', () => {
  const NODE = gql`
    query Node($id: ID!) {
      node(id: $id) {
        __typename
        id
        ... on Image {
          name
        }
        ... on ImportOrder {
          uuid
          stage
        }
        ... on Dataset {
          name
        }
        ... on SourceFile {
          path
          name
        }
      }
    }
  `;

  it('refetches what the cache holds under the same global id', async () => {
    const client = apollo(alice);
    const images = await client.query<{ images: { nodes: { __typename: string; id: string; name: string }[] } }>({
      query: gql`
        {
          images(first: 2) {
            nodes {
              id
              name
            }
          }
        }
      `,
    });
    const image = images.data!.images.nodes[0];
    const globalId = client.cache.identify(image)!;
    expect(globalId).toBe(`Image:${image.id}`);
    const fresh = await client.query<{ node: { __typename: string; id: string; name: string } }>({
      query: NODE,
      variables: { id: globalId },
      fetchPolicy: 'network-only',
    });
    expect(fresh.data!.node).toEqual({ __typename: 'Image', id: image.id, name: image.name });
    expect(client.cache.identify(fresh.data!.node)).toBe(globalId);
  });

  it('resolves every kind of global id the lineage uses, across subgraphs', async () => {
    const client = apollo(alice);
    const ask = async (id: string) =>
      (await client.query<{ node: Record<string, unknown> | null }>({ query: NODE, variables: { id }, fetchPolicy: 'network-only' })).data!.node;
    expect(await ask(`ImportOrder:${DEMO.importOrders.completed}`)).toMatchObject({
      __typename: 'ImportOrder',
      id: DEMO.importOrders.completed,
      uuid: DEMO.importOrders.completed,
      stage: 'COMPLETED',
    });
    expect(await ask(`Dataset:${DEMO.datasets.aliceRaw}`)).toMatchObject({
      __typename: 'Dataset',
      id: String(DEMO.datasets.aliceRaw),
      name: 'Raw acquisitions',
    });
    const file = '/data/lab-private/alice/exp2/experiment2.lif';
    expect(await ask(`SourceFile:${file}`)).toEqual({ __typename: 'SourceFile', id: file, path: file, name: 'experiment2.lif' });
    const run = (
      await client.query<{ node: Record<string, unknown> | null }>({
        query: gql`
          query ($id: ID!) {
            node(id: $id) {
              id
              ... on WorkflowRun {
                status
              }
            }
          }
        `,
        variables: { id: `WorkflowRun:${LINEAGE_DEMO.runs.measurement.id}` },
      })
    ).data!.node;
    expect(run).toMatchObject({ __typename: 'WorkflowRun', id: LINEAGE_DEMO.runs.measurement.id, status: 'DONE' });
    const tasks = await client.query<{ workflowRun: { tasks: { id: string; name: string }[] } }>({
      query: gql`
        query ($id: ID!) {
          workflowRun(id: $id) {
            id
            tasks {
              id
              name
            }
          }
        }
      `,
      variables: { id: LINEAGE_DEMO.runs.measurement.id },
    });
    const task = tasks.data!.workflowRun.tasks[0];
    const TASK = gql`
      query ($id: ID!) {
        node(id: $id) {
          id
          ... on Task {
            name
          }
        }
      }
    `;
    expect((await client.query<{ node: unknown }>({ query: TASK, variables: { id: `Task:${task.id}` } })).data!.node).toEqual({
      __typename: 'Task',
      id: task.id,
      name: task.name,
    });
    // bob may not see alice's private run, nor its tasks
    expect((await apollo(bob).query<{ node: unknown }>({ query: TASK, variables: { id: `Task:${task.id}` } })).data!.node).toBeNull();
  });

  it('forms, form versions and submissions, catalogue workflows and Slurm jobs: refetched under their cache ids, filled by their subgraphs', async () => {
    const client = apollo(alice);
    const SP = DEMO.forms.sampleprep;
    const history = await client.query<{ form: { id: string; title: string; latestVersion: { id: string; timestamp: string } } }>({
      query: gql`
        query ($id: ID!) {
          form(id: $id) {
            id
            title
            latestVersion {
              id
              timestamp
            }
          }
        }
      `,
      variables: { id: SP.id },
    });
    const form = history.data!.form;
    const FORMS = gql`
      query ($id: ID!) {
        node(id: $id) {
          id
          ... on Form {
            title
          }
          ... on FormVersion {
            formId
            timestamp
          }
          ... on FormSubmission {
            formId
            changedAt
          }
          ... on Workflow {
            name
          }
          ... on SlurmJob {
            jobId
            run {
              id
            }
          }
        }
      }
    `;
    const ask = async (id: string, as = client) =>
      (await as.query<{ node: Record<string, unknown> | null }>({ query: FORMS, variables: { id }, fetchPolicy: 'network-only' })).data!.node;
    expect(await ask(client.cache.identify(form)!)).toEqual({ __typename: 'Form', id: SP.id, title: form.title });
    const version = await ask(client.cache.identify(form.latestVersion)!);
    expect(version).toEqual({ __typename: 'FormVersion', id: form.latestVersion.id, formId: SP.id, timestamp: form.latestVersion.timestamp });
    const submissions = await client.query<{ formSubmissions: { nodes: { id: string; formId: string; changedAt: string }[] } }>({
      query: gql`
        query ($formId: ID) {
          formSubmissions(first: 1, filter: { formId: $formId }) {
            nodes {
              id
              formId
              changedAt
            }
          }
        }
      `,
      variables: { formId: SP.id },
    });
    const submission = submissions.data!.formSubmissions.nodes[0];
    expect(await ask(client.cache.identify(submission)!)).toEqual({ __typename: 'FormSubmission', ...submission });
    expect(await ask('Workflow:cellpose')).toEqual({ __typename: 'Workflow', id: 'cellpose', name: 'cellpose' });
    const job = DEMO.workflows.cellpose.jobs.cellpose;
    expect(await ask(`SlurmJob:${job}`)).toEqual({
      __typename: 'SlurmJob',
      id: String(job),
      jobId: job,
      run: { __typename: 'WorkflowRun', id: DEMO.workflows.cellpose.id },
    });
    // hidden and missing alike: bob may see neither alice's form nor her run's job
    for (const id of [
      `Form:${SP.id}`,
      `FormVersion:${form.latestVersion.id}`,
      `FormSubmission:${submission.id}`,
      `SlurmJob:${job}`,
      'Workflow:nope',
      'Form:nope',
    ]) {
      expect(await ask(id, apollo(bob))).toBeNull();
    }
  });

  it('is an interface of the entities wherever they appear, not only under node', async () => {
    const client = apollo(alice);
    const res = await client.query<{ images: { nodes: { __typename: string; id: string }[] }; importOrder: { id: string } }>({
      query: gql`
        fragment Ref on Node {
          id
        }
        query ($uuid: ID!) {
          images(first: 2) {
            nodes {
              ...Ref
            }
          }
          importOrder(uuid: $uuid) {
            ...Ref
          }
        }
      `,
      variables: { uuid: DEMO.importOrders.completed },
      fetchPolicy: 'network-only',
    });
    expect(res.data!.images.nodes).toHaveLength(2);
    expect(res.data!.images.nodes[0]).toEqual({ __typename: 'Image', id: expect.stringMatching(/^\d+$/) });
    expect(res.data!.importOrder).toEqual({ __typename: 'ImportOrder', id: DEMO.importOrders.completed });
  });

  it('answers null for hidden and missing objects alike, BAD_USER_INPUT for a malformed id', async () => {
    const client = apollo(bob);
    const ask = (id: string) => client.query<{ node: unknown }>({ query: NODE, variables: { id }, fetchPolicy: 'network-only', errorPolicy: 'all' });
    const hidden = await ask(`Image:${DEMO.images.aliceRaw1}`);
    const missing = await ask('Image:987654');
    expect(hidden.error).toBeUndefined();
    expect(hidden.data).toEqual({ node: null });
    expect(missing.data).toEqual({ node: null });
    expect((await ask(`ImportOrder:${DEMO.importOrders.completed}`)).data).toEqual({ node: null }); // alice's private group
    for (const bad of ['Image:abc', 'Nope:1', '5', 'ImportOrder:x']) expect(errorCode((await ask(bad)).error)).toBe('BAD_USER_INPUT');
    const many = await client.query<{ nodes: ({ id: string } | null)[] }>({
      query: gql`
        query ($ids: [ID!]!) {
          nodes(ids: $ids) {
            id
          }
        }
      `,
      variables: { ids: ['Image:18', `Image:${DEMO.images.aliceRaw1}`, 'Image:18'] },
      fetchPolicy: 'network-only',
    });
    expect(many.data!.nodes).toEqual([{ __typename: 'Image', id: '18' }, null, { __typename: 'Image', id: '18' }]);
  });
});

describe('backward pagination', () => {
  type Page = {
    pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
    edges: { cursor: string }[];
    nodes: Record<string, string>[];
  };
  const PAGE = 'pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor } nodes';

  // each list: a field, the node field naming a row, and a query with first/after/last/before
  const lists: [string, string, string][] = [
    [
      'images',
      'id',
      `query($first: Int, $after: String, $last: Int, $before: String) { images(first: $first, after: $after, last: $last, before: $before) { ${PAGE} { id } } }`,
    ],
    [
      'importOrders',
      'uuid',
      `query($first: Int, $after: String, $last: Int, $before: String) { importOrders(first: $first, after: $after, last: $last, before: $before) { ${PAGE} { uuid } } }`,
    ],
    [
      'workflowRuns',
      'id',
      `query($first: Int, $after: String, $last: Int, $before: String) { workflowRuns(first: $first, after: $after, last: $last, before: $before) { ${PAGE} { id } } }`,
    ],
  ];

  it.each(lists)('%s: the previous page of a page is the page before it, as a table shows it', async (field, key, text) => {
    const client = apollo(DEMO_USERS.erin.sessionUuid);
    const query = gql(text);
    const page = async (variables: Record<string, unknown>) =>
      (await client.query<Record<string, Page>>({ query, variables, fetchPolicy: 'network-only' })).data![field];
    const ids = (p: Page) => p.nodes.map((n) => n[key]);
    const all = ids(await page({ first: 500 }));
    expect(all.length).toBeGreaterThanOrEqual(5);

    const one = await page({ first: 2 });
    const two = await page({ first: 2, after: one.pageInfo.endCursor });
    expect(ids(one)).toEqual(all.slice(0, 2));
    expect(ids(two)).toEqual(all.slice(2, 4));
    expect(one.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true, startCursor: one.edges[0].cursor, endCursor: one.edges[1].cursor });
    expect(two.pageInfo.hasPreviousPage).toBe(true);

    const back = await page({ last: 2, before: two.pageInfo.startCursor });
    expect(ids(back)).toEqual(ids(one));
    expect(back.pageInfo).toMatchObject({ hasPreviousPage: false, hasNextPage: true, startCursor: one.edges[0].cursor, endCursor: one.edges[1].cursor });
    const partial = await page({ last: 5, before: two.edges[1].cursor });
    expect(ids(partial)).toEqual(all.slice(0, 3));
    expect(partial.pageInfo.hasPreviousPage).toBe(false);

    const end = await page({ last: 2 });
    expect(ids(end)).toEqual(all.slice(-2));
    expect(end.pageInfo).toMatchObject({ hasPreviousPage: true, hasNextPage: false });
    const beforeEnd = await page({ last: 2, before: end.pageInfo.startCursor });
    expect(ids(beforeEnd)).toEqual(all.slice(-4, -2));

    const both = await client.query({ query, variables: { first: 2, last: 2 }, fetchPolicy: 'network-only', errorPolicy: 'all' });
    expect(errorCode(both.error)).toBe('BAD_USER_INPUT');
  });

  it('import order cursors stay valid while new orders arrive', async () => {
    const client = apollo(DEMO_USERS.erin.sessionUuid);
    const query = gql(lists[1][2]);
    const page = async (variables: Record<string, unknown>) =>
      (await client.query<Record<string, Page>>({ query, variables, fetchPolicy: 'network-only' })).data!.importOrders;
    const one = await page({ first: 2 });
    const two = await page({ first: 2, after: one.pageInfo.endCursor });
    const db = new pg.Client(stack.dbs.biomeroUrl);
    await db.connect();
    await db
      .query(
        `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
       VALUES ('lab-private', 'alice', '1', 'Dataset', 'Import Pending', '3f9c2a61-8b4e-4d7a-9c15-2e6b8d0a4fff', now(), '["/data/x.tif"]', '["x.tif"]')`,
      )
      .finally(() => db.end());
    const newest = await page({ first: 1 });
    expect(newest.nodes[0].uuid).toBe('3f9c2a61-8b4e-4d7a-9c15-2e6b8d0a4fff');
    expect((await page({ first: 2, after: one.pageInfo.endCursor })).nodes).toEqual(two.nodes);
    expect((await page({ last: 2, before: two.pageInfo.startCursor })).nodes).toEqual(one.nodes);
  });
});
