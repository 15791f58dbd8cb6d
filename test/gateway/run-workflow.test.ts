/**
 * runWorkflow through the gateway on the demo stack (npm start's setup: demo catalogue, demo
 * runner instead of OMERO.web): the launch answers at once, and a workflowRunUpdated
 * subscription from the launch's cursor watches the run the runner writes reach DONE.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { DEMO_USERS } from '../../database/demo/index';
import { demoCatalogue } from '../../database/demo/workflows';
import { workflowsSubgraph } from '../../subgraphs/workflows/index';
import { createTestDatabases, type TestDatabases } from '../support/databases';
import { startFakeOmeroWeb, type FakeOmeroWeb } from '../support/omero-web/server';
import { collect } from '../support/subscriptions';
import { gql, startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
const alice = DEMO_USERS.alice.sessionUuid;

function wsClient(session: string): Client {
  return createClient({
    url: stack.gateway.url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    lazy: true,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${session}` },
  });
}

const RUN = `mutation { runWorkflow(workflow: "cellpose", inputs: ["1", "2"], parameters: {diameter: 25, output_suffix: "_cp"}, options: {newDatasetName: "Masks"}) {
  jobId workflow version launchId after group { id name }
} }`;

describe('the demo runner', () => {
  beforeAll(async () => {
    stack = await startTestStack({ workflows: { slurm: null, catalogue: demoCatalogue(), launcher: 'demo', demoStepMs: 100 } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('makes a launched run happen, live: workflowRunUpdated sees it from WorkflowInitiated to DONE', async () => {
    const launched = await gql(stack.gateway.url, RUN, { session: alice });
    expect(launched.errors).toBeUndefined();
    const result = launched.data!.runWorkflow as { jobId: string; launchId: string; after: string; group: { id: string; name: string } };
    expect(result).toMatchObject({ workflow: 'cellpose', version: 'v1.4.0', group: { id: '3', name: 'lab-private' } });
    expect(result.jobId).toMatch(/^ProcessCallback\//);

    const client = wsClient(alice);
    try {
      const updates = await collect(
        client,
        `subscription($after: String, $user: ID) { workflowRunUpdated(after: $after, filter: { userId: $user }) {
          event { type } run { id status progress user { id } tasks { name status slurmJobIds params } } } }`,
        { after: result.after, user: String(DEMO_USERS.alice.id) },
        (events) => events.some((e) => e.run.status === 'DONE'),
        30_000,
      );
      const types = updates.map((u) => u.event.type);
      expect(types[0]).toBe('WorkflowRun.WorkflowInitiated');
      expect(types).toEqual(
        expect.arrayContaining(['Task.TaskCreated', 'Task.JobIdAdded', 'Task.StatusUpdated', 'Task.ProgressUpdated', 'WorkflowRun.WorkflowCompleted']),
      );
      const statuses = updates.map((u) => u.run.status);
      expect(statuses).toEqual(expect.arrayContaining(['INITIALIZING', 'JOB_PENDING', 'JOB_RUNNING', 'DONE']));
      const done = updates.at(-1)!.run;
      expect(new Set(updates.map((u) => u.run.id))).toEqual(new Set([done.id]));
      expect(done).toMatchObject({ status: 'DONE', progress: 100, user: { id: '2' } });
      const task = done.tasks.find((t: { name: string }) => t.name === 'cellpose');
      expect(task).toMatchObject({
        status: 'COMPLETED',
        params: expect.objectContaining({ IDs: [1, 2], Data_Type: 'Image', diameter: 25, output_suffix: '_cp' }),
      });
      expect(task.slurmJobIds).toHaveLength(1);

      // the launch id finds the same run
      const found = await gql(stack.gateway.url, `query($id: ID!) { launchedWorkflowRun(launchId: $id) { id status } }`, {
        session: alice,
        variables: { id: result.launchId },
      });
      expect(found.data).toEqual({ launchedWorkflowRun: { id: done.id, status: 'DONE' } });
    } finally {
      await client.dispose();
    }
  });

  it('still checks the caller may read the inputs', async () => {
    const res = await gql(stack.gateway.url, `mutation { runWorkflow(workflow: "cellpose", inputs: ["9"], parameters: {output_suffix: "_cp"}) { jobId } }`, {
      session: alice,
    });
    expect(res.errors?.[0]?.extensions?.code).toBe('NOT_FOUND');
  });

  it('is refused in production', () => {
    const saved = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      expect(() => workflowsSubgraph({ pool: null as never, launcher: 'demo', slurm: null })).toThrow(/never used with NODE_ENV=production/);
    } finally {
      process.env.NODE_ENV = saved;
    }
  });
});

describe('through OMERO.web', () => {
  // the local OMERO.web over its own copy of the demo world: the same users, session keys and objects
  let webDbs: TestDatabases;
  let web: FakeOmeroWeb;
  beforeAll(async () => {
    webDbs = await createTestDatabases();
    web = await startFakeOmeroWeb({ omeroDatabaseUrl: webDbs.omeroUrl });
    stack = await startTestStack({ workflows: { slurm: null, catalogue: demoCatalogue(), launcher: { omeroWebUrl: web.url } } });
  });
  afterAll(async () => {
    await stack?.stop();
    await web?.close();
    await webDbs?.drop();
  });

  it('launches as the caller: the session key the gateway resolved reaches OMERO.web', async () => {
    const launched = await gql(stack.gateway.url, RUN, { session: alice });
    expect(launched.errors).toBeUndefined();
    const job = web.workflowJobs.at(-1)!;
    expect(launched.data!.runWorkflow).toMatchObject({ jobId: job.jobId, group: { id: '3' } });
    expect(job).toMatchObject({ workflow: 'cellpose', userId: DEMO_USERS.alice.id, groupId: 3 });
    expect(job.inputs).toMatchObject({ IDs: [1, 2], Data_Type: 'Image', 'cellpose_|_diameter': 25, 'cellpose_|_output_suffix': '_cp' });
  });

  it('sends nothing for invalid parameters', async () => {
    const before = web.requests;
    const res = await gql(stack.gateway.url, `mutation { runWorkflow(workflow: "cellpose", inputs: ["1"], parameters: {diameter: "big"}) { jobId } }`, {
      session: alice,
    });
    const ext = res.errors?.[0]?.extensions as unknown as { code: string; fields: { field: string }[] };
    expect(ext.code).toBe('BAD_USER_INPUT');
    expect(ext.fields.map((f) => f.field).sort()).toEqual(['parameters.diameter', 'parameters.output_suffix']);
    expect(web.requests).toBe(before);
  });
});
