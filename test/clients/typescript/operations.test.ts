import {
  CancelWorkflowRunDocument,
  createClient,
  DatasetImagesDocument,
  FormDocument,
  FormsDocument,
  GraphError,
  ImageLineageDocument,
  ImportOrderDocument,
  ImportOrdersDocument,
  isGraphError,
  LineageDocument,
  LineageExportDocument,
  ProjectDatasetsDocument,
  ProjectsDocument,
  ValidateFormDataDocument,
  WorkflowRunDocument,
  WorkflowRunsDocument,
  WorkflowRunHistoryDocument,
  WorkflowRunUpdatesDocument,
  WorkflowStatisticsTableDocument,
  type OmeroGraphClient,
} from '../../../clients/typescript/src/index.js';
import { DEMO, DEMO_GROUPS, DEMO_PASSWORDS, DEMO_USERS } from '../../../database/demo/index.js';
import { appendEvents, newRunEvents } from '../../../database/demo/workflows.js';
import { parse } from 'graphql';
import { startGateway } from '../../../gateway/server.js';
import { readSupergraph } from '../../../gateway/supergraph.js';
import { createPool } from '../../../subgraphs/common/db.js';
import { startTestStack, TEST_SECRET, type TestStack } from '../../support/stack.js';

/**
 * The TypeScript SDK (clients/typescript) against the real demo stack: every operation of
 * clients/operations, pagination, typed errors, login/logout and the lineage downloads.
 */
let stack: TestStack;
let alice: OmeroGraphClient;
let bob: OmeroGraphClient;
let formmaster: OmeroGraphClient;

beforeAll(async () => {
  stack = await startTestStack({ demoSignIn: true });
  alice = createClient({ url: stack.gateway.url, sessionKey: DEMO_USERS.alice.sessionUuid });
  bob = createClient({ url: stack.gateway.url, sessionKey: DEMO_USERS.bob.sessionUuid });
  formmaster = createClient({ url: stack.gateway.url, sessionKey: DEMO_USERS.formmaster.sessionUuid });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
});

it('follows a run live, the folded run on every stored event (WorkflowRunUpdates), from a cursor', async () => {
  const biomero = createPool(stack.dbs.biomeroUrl, { name: 'ts-client-operations', max: 1 });
  const run = { id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4c11', taskId: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7d11' };
  try {
    await appendEvents(biomero, newRunEvents({ ...run, user: DEMO_USERS.alice.id, group: DEMO_GROUPS.labPrivate.id }));
    const history: string[] = [];
    for await (const event of alice.paginate(WorkflowRunHistoryDocument, { id: run.id }, (d) => d.workflowRun?.events)) history.push(event.cursor);
    expect(history).toHaveLength(3); // the new run's first three events, read first
    const updates = alice.subscribe(
      WorkflowRunUpdatesDocument,
      { filter: { userId: String(DEMO_USERS.alice.id) } },
      { transport: 'sse', after: history.at(-1) },
    );
    try {
      await appendEvents(biomero, [{ originatorId: run.id, version: 2, type: 'WorkflowRun.WorkflowStarted' }]);
      const { value } = await updates.next();
      expect(value.workflowRunUpdated).toMatchObject({
        source: 'STORE',
        event: { type: 'WorkflowRun.WorkflowStarted' },
        run: { id: run.id, tasks: [{ id: run.taskId }] },
      });
      expect(updates.cursor).toBe(value.workflowRunUpdated.cursor);
    } finally {
      await updates.close();
    }
  } finally {
    await biomero.end();
  }
});

/** The GraphError a promise rejects with (fails when it resolves or rejects with anything else). */
async function failure(promise: Promise<unknown>): Promise<GraphError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof GraphError) return err;
    throw err;
  }
  throw new Error('expected a GraphError');
}

it('browses projects → datasets → images with their key-value pairs', async () => {
  const { projects } = await alice.query(ProjectsDocument, { first: 50 });
  const study = projects.nodes.find((p) => p.name === 'Nuclei study');
  expect(study).toBeDefined();
  expect(study!.datasets.totalCount).toBe(2);

  const { project } = await alice.query(ProjectDatasetsDocument, { id: study!.id });
  expect(project?.datasets.nodes.map((d) => d.name).sort()).toEqual(['Raw acquisitions', 'Segmentations']);
  const raw = project!.datasets.nodes.find((d) => d.name === 'Raw acquisitions')!;
  expect(raw.images.totalCount).toBe(4);

  const { dataset } = await alice.query(DatasetImagesDocument, { id: raw.id });
  expect(dataset?.images.nodes).toHaveLength(4);
  // images 1-2 came from an import order: their map annotations carry its UUID
  const pairs = dataset!.images.nodes.flatMap((image) => image.mapAnnotations.flatMap((m) => m.pairs));
  expect(pairs).toContainEqual({ key: 'UUID', value: DEMO.importOrders.completed });
});

it('paginates a connection page by page, typed through a selector or found by itself', async () => {
  const { projects } = await alice.query(ProjectsDocument, {});
  const raw = (await alice.query(ProjectDatasetsDocument, { id: projects.nodes.find((p) => p.name === 'Nuclei study')!.id })).project!.datasets.nodes.find(
    (d) => d.name === 'Raw acquisitions',
  )!;

  const names: string[] = [];
  for await (const image of alice.paginate(DatasetImagesDocument, { id: raw.id, first: 1 }, (data) => data.dataset?.images)) names.push(image.name);
  expect(names).toHaveLength(4);
  expect(new Set(names).size).toBe(4);
  const { dataset } = await alice.query(DatasetImagesDocument, { id: raw.id, first: 10 });
  expect(names).toEqual(dataset!.images.nodes.map((i) => i.name));

  const projectIds: unknown[] = [];
  for await (const p of alice.paginate(ProjectsDocument, { first: 1 })) projectIds.push((p as { id: string }).id);
  expect(projectIds).toEqual(projects.nodes.map((p) => p.id));
  expect(projectIds.length).toBeGreaterThan(1);
});

it('lists import orders and reads one with its stages', async () => {
  const { importOrders } = await alice.query(ImportOrdersDocument, { filter: { stages: ['COMPLETED'] }, first: 50 });
  expect(importOrders.nodes.map((o) => o.uuid)).toEqual(expect.arrayContaining([DEMO.importOrders.completed, DEMO.importOrders.preprocessed]));
  expect(importOrders.nodes.every((o) => o.stage === 'COMPLETED')).toBe(true);

  const { importOrder } = await alice.query(ImportOrderDocument, { uuid: DEMO.importOrders.preprocessed });
  expect(importOrder?.history.map((h) => h.stageRaw)).toEqual(['Import Pending', 'Import Started', 'Import Preprocessing', 'Import Completed']);
});

it('lists workflow runs and reads one with its tasks', async () => {
  const { workflowRuns } = await alice.query(WorkflowRunsDocument, { first: 50 });
  expect(workflowRuns.nodes.map((r) => r.id)).toEqual(expect.arrayContaining([DEMO.workflows.cellpose.id, DEMO.workflows.running.id]));
  expect(workflowRuns.nodes.map((r) => r.id)).not.toContain(DEMO.workflows.unassigned.id); // administrators only

  const { workflowRun } = await alice.query(WorkflowRunDocument, { id: DEMO.workflows.cellpose.id });
  expect(workflowRun?.status).toBe('DONE');
  expect(workflowRun?.tasks.map((t) => t.id).sort()).toEqual(Object.values(DEMO.workflows.cellpose.tasks).sort());
  expect(workflowRun?.tasks.find((t) => t.id === DEMO.workflows.cellpose.tasks.cellpose)?.slurmJobIds).toEqual([DEMO.workflows.cellpose.jobs.cellpose]);
});

it('reads workflow statistics as typed columns of one length, one column per status with runs', async () => {
  const range = { from: '2020-01-01T00:00:00Z', to: '2060-01-01T00:00:00Z' };
  const { workflowStatisticsTable: table } = await alice.query(WorkflowStatisticsTableDocument, { range, groupBy: ['WORKFLOW', 'STATUS'], period: 'MONTH' });
  expect(table.length).toBeGreaterThan(0);
  for (const column of [table.workflow, table.status, table.runs, table.total.p50, ...table.byStatus.map((c) => c.counts)])
    expect(column).toHaveLength(table.length);
  // grouped by status: each bucket's runs are all in its own status column
  table.status.forEach((status, i) => expect(table.byStatus.find((c) => c.status === status)?.counts[i]).toBe(table.runs[i]));
  const { workflowRuns } = await alice.query(WorkflowRunsDocument, { first: 500 });
  expect(table.runs.reduce((a, b) => a + b, 0)).toBe(workflowRuns.nodes.length);
});

it('cancels a run: FORBIDDEN for a run one may only see, NOT_FOUND for a hidden or unknown one', async () => {
  // bob's run in lab-annotate, where alice is a member but not its leader
  expect((await failure(alice.mutate(CancelWorkflowRunDocument, { id: DEMO.workflows.failed.id }))).code).toBe('FORBIDDEN');
  expect((await failure(bob.mutate(CancelWorkflowRunDocument, { id: DEMO.workflows.running.id }))).code).toBe('NOT_FOUND'); // alice's private group
  expect((await failure(alice.mutate(CancelWorkflowRunDocument, { id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4bff' }))).code).toBe('NOT_FOUND');
  // the owner may: without a Slurm cluster configured the gateway says so with its own code
  try {
    const { cancelWorkflowRun } = await alice.mutate(CancelWorkflowRunDocument, { id: DEMO.workflows.cellpose.id });
    expect(cancelWorkflowRun.run.id).toBe(DEMO.workflows.cellpose.id);
    expect(cancelWorkflowRun.cancelledJobIds).toEqual([]); // a finished run has nothing to cancel
  } catch (err) {
    expect(isGraphError(err, 'SLURM_UNAVAILABLE')).toBe(true);
  }
});

it('reads forms with their versions and validates data against a version', async () => {
  const { forms } = await formmaster.query(FormsDocument, { first: 50 });
  expect(forms.nodes.map((f) => f.id)).toContain(DEMO.forms.sampleprep.id);

  const { form } = await formmaster.query(FormDocument, { id: DEMO.forms.sampleprep.id });
  expect(form?.title).toBe('Sample preparation');
  expect(form?.versions.map((v) => v.timestamp)).toEqual(DEMO.forms.sampleprep.versions);

  const missing = await formmaster.query(ValidateFormDataDocument, { formId: DEMO.forms.sampleprep.id, data: {} });
  expect(missing.validateFormData.valid).toBe(false);
  expect(missing.validateFormData.errors.length).toBeGreaterThan(0);
  const good = await formmaster.query(ValidateFormDataDocument, {
    formId: DEMO.forms.sampleprep.id,
    version: DEMO.forms.sampleprep.versions[1],
    data: { fixative: 'Methanol' },
  });
  expect(good.validateFormData).toEqual({ valid: true, version: { timestamp: DEMO.forms.sampleprep.versions[1] }, errors: [] });
});

it('reads the lineage as nodes and edges, and through federation from an image', async () => {
  const { lineage } = await alice.query(LineageDocument, { of: `Image:${DEMO.images.aliceSeg1}`, direction: 'UPSTREAM', depth: 5 });
  expect(lineage.root).toBe(`Image:${DEMO.images.aliceSeg1}`);
  expect(lineage.nodes.map((n) => n.nodeId)).toEqual(expect.arrayContaining([`WorkflowRun:${DEMO.workflows.cellpose.id}`, `Image:${DEMO.images.aliceRaw1}`]));
  expect(lineage.edges.length).toBeGreaterThan(0);

  const { image } = await alice.query(ImageLineageDocument, { id: String(DEMO.images.aliceSeg1) });
  expect(image?.producedBy?.id).toBe(DEMO.workflows.cellpose.id);
  expect(image?.producedBy?.inputs.map((i) => i?.importOrder?.uuid)).toContain(DEMO.importOrders.completed);

  const exported = await alice.query(LineageExportDocument, { of: `Image:${DEMO.images.aliceSeg1}`, prov: true, crate: false });
  expect(exported.lineage.provJson).toHaveProperty('entity');
  expect(exported.lineage.roCrate).toBeUndefined();
});

it('downloads lineage as PROV-JSON and RO-Crate; NOT_FOUND for what the caller may not see', async () => {
  const of = `Image:${DEMO.images.aliceSeg1}`;
  const prov = await alice.downloadLineage(of, 'prov', { direction: 'UPSTREAM', depth: 3 });
  expect(prov).toHaveProperty('entity');
  expect(prov).toHaveProperty('activity');
  const crate = await alice.downloadLineage(of, 'crate');
  expect(crate['@context']).toBeDefined();
  expect(crate['@graph']).toEqual(expect.any(Array));
  expect(alice.lineageUrl(of, 'prov', { depth: 2 })).toBe(stack.gateway.url.replace(/graphql$/, `lineage/Image%3A${DEMO.images.aliceSeg1}.prov.json?depth=2`));

  const hidden = await failure(bob.downloadLineage(of, 'prov')); // alice's private group
  expect(hidden.code).toBe('NOT_FOUND');
  expect(hidden.status).toBe(404);
});

it('throws typed errors carrying the GraphQL code', async () => {
  const anonymous = createClient({ url: stack.gateway.url });
  expect((await failure(anonymous.query(WorkflowRunsDocument, {}))).code).toBe('UNAUTHENTICATED');

  const unknownKey = createClient({ url: stack.gateway.url, sessionKey: '00000000-0000-4000-8000-00000000dead' });
  const refused = await failure(unknownKey.query(ProjectsDocument, {}));
  expect(refused.code).toBe('UNAUTHENTICATED');
  expect(refused.status).toBe(401);

  const tooMany = await failure(alice.query(ProjectsDocument, { first: 501 })); // at most 500 a page
  expect(tooMany.code).toBe('BAD_USER_INPUT');

  const missing = await failure(alice.query(ValidateFormDataDocument, { formId: 'no_such_form', data: {} }));
  expect(missing.code).toBe('NOT_FOUND');
  expect(isGraphError(missing, 'NOT_FOUND')).toBe(true);

  const unreachable = createClient({ url: 'http://127.0.0.1:9/graphql' });
  expect((await failure(unreachable.query(ProjectsDocument, {}))).code).toBe('CONNECTION_FAILED');
});

it('logs in with the demo password and out again', async () => {
  const client = createClient({ url: stack.gateway.url });
  const wrong = await failure(client.login('alice', 'not-her-password'));
  expect(wrong.code).toBe('LOGIN_FAILED');

  const signedIn = await client.login('alice', DEMO_PASSWORDS.alice);
  expect(signedIn.userName).toBe('alice');
  expect(client.sessionKey).toBe(signedIn.sessionKey);
  const { workflowRuns } = await client.query(WorkflowRunsDocument, { first: 5 });
  expect(workflowRuns.nodes.length).toBeGreaterThan(0);

  const closed = signedIn.sessionKey;
  expect(await client.logout()).toBe(true);
  expect(client.sessionKey).toBeNull();
  expect((await failure(client.query(WorkflowRunsDocument, {}))).code).toBe('UNAUTHENTICATED');
  // the closed key is refused from now on
  const reused = createClient({ url: stack.gateway.url, sessionKey: closed });
  expect((await failure(reused.query(WorkflowRunsDocument, {}))).code).toBe('UNAUTHENTICATED');
});

it('runs its operations on a gateway that runs trusted documents only (PERSISTED_OPERATIONS=trusted)', async () => {
  const pool = createPool(stack.dbs.omeroUrl, { name: 'ts-client-trusted', readOnly: true, max: 2 });
  const trusted = await startGateway({
    supergraphSdl: readSupergraph(),
    subgraphUrls: Object.fromEntries(Object.entries(stack.subgraphs).map(([name, s]) => [name, s.url])),
    omeroPool: pool,
    secret: TEST_SECRET,
    host: '127.0.0.1',
    port: 0,
    sessionCacheMs: 0,
    settings: { persistedOperations: 'trusted' },
  });
  try {
    const client = createClient({ url: trusted.url, sessionKey: DEMO_USERS.alice.sessionUuid });
    const { projects } = await client.query(ProjectsDocument, { first: 10 });
    expect(projects.nodes.map((p) => p.name)).toContain('Nuclei study');
    // the same operation name with another selection is not the trusted document: refused
    const other = parse('query Projects { projects { totalCount } }') as unknown as typeof ProjectsDocument;
    expect((await failure(client.query(other, {}))).code).toBe('PERSISTED_QUERY_REQUIRED');
  } finally {
    await trusted.stop();
    await pool.end();
  }
});
