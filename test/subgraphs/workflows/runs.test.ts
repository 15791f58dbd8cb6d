import { join } from 'node:path';
import pg from 'pg';
import Ajv2020 from 'ajv/dist/2020';
import { DEMO, LINEAGE_DEMO } from '../../../database/demo/index';
import { gql as post, startWorkflows, type DemoUser, type WorkflowsService } from './support';

const [alice, bob, carol, dave, erin] = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;
const W = DEMO.workflows;
/** the demo's provenance chain (database/demo/lineage.ts): three more runs of alice's */
const L = LINEAGE_DEMO.runs;
const LINEAGE = Object.values(L).map((r) => r.id);
const FIXTURES = join(__dirname, '../../fixtures/workflows');

let stack: WorkflowsService;
beforeAll(async () => {
  stack = await startWorkflows({ slurm: null, catalogue: { configFile: join(FIXTURES, 'slurm-config.ini'), descriptorsDir: join(FIXTURES, 'descriptors') } });
});
afterAll(async () => {
  await stack?.stop();
});

const gql = (_url: string, q: string, opts: { session?: DemoUser; variables?: Record<string, unknown> }) =>
  post(stack.url, q, opts.session ?? null, opts.variables);

async function query<T = any>(q: string, session: DemoUser, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await post(stack.url, q, session, variables);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data as T;
}

async function biomero(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const db = new pg.Client(stack.dbs.biomeroUrl);
  await db.connect();
  try {
    return await db.query(sql, params);
  } finally {
    await db.end();
  }
}

const RUN = `id name description version status statusRaw slurmState progress createdAt startedAt finishedAt error
  user { id } group { id }
  inputs { id }
  tasks { id name version status progress statusHistory { status at } params inputData slurmJobIds resultMessage createdAt startedAt finishedAt error
    slurmJobs { id jobId state progress submittedAt startedAt endedAt live { state } log { tail } task { id } run { id } }
    results { command environment { name value } stdout stderr at } }`;

async function run(id: string, session: DemoUser = erin) {
  return (await query(`query($id: ID!) { workflowRun(id: $id) { ${RUN} } }`, session, { id })).workflowRun;
}

async function runIds(session: DemoUser, filter: Record<string, unknown> = {}): Promise<string[]> {
  const data = await query(`query($f: WorkflowRunFilter) { workflowRuns(filter: $f, first: 500) { totalCount nodes { id } } }`, session, { f: filter });
  expect(data.workflowRuns.totalCount).toBe(data.workflowRuns.nodes.length);
  return data.workflowRuns.nodes.map((n: { id: string }) => n.id);
}

describe('a run folded from its events', () => {
  it('the completed cellpose run: status, progress, times, tasks, jobs, results, inputs, owner', async () => {
    const r = await run(W.cellpose.id, alice);
    expect(r).toMatchObject({
      name: 'Slurm Workflow',
      version: '2.0.1',
      status: 'DONE',
      statusRaw: 'DONE',
      slurmState: null,
      progress: 100,
      createdAt: '2026-03-05T12:00:00.100Z',
      startedAt: '2026-03-05T12:00:01.200Z',
      finishedAt: '2026-03-05T12:40:31.300Z',
      error: null,
      user: { id: '2' },
      group: { id: '3' },
      inputs: [{ id: '1' }, { id: '2' }],
    });
    expect(r.tasks.map((t: { name: string }) => t.name)).toEqual(['_SLURM_Image_Transfer.py', 'CONVERT_ZARR_TO_TIFF', 'cellpose', 'SLURM_Get_Results.py']);
    const cellpose = r.tasks[2];
    expect(cellpose).toMatchObject({
      id: W.cellpose.tasks.cellpose,
      version: 'v1.4.0',
      status: 'COMPLETED',
      progress: 100,
      slurmJobIds: [W.cellpose.jobs.cellpose],
    });
    expect(cellpose.statusHistory.map((s: { status: string }) => s.status)).toEqual(['CREATED', 'PENDING', 'RUNNING', 'COMPLETED']);
    expect(cellpose.params).toMatchObject({ IDs: [1, 2], model_type: 'nuclei' });
    expect(cellpose.slurmJobs).toEqual([
      {
        id: String(W.cellpose.jobs.cellpose),
        jobId: W.cellpose.jobs.cellpose,
        state: 'COMPLETED',
        progress: 100,
        submittedAt: '2026-03-05T12:04:15.200Z',
        startedAt: '2026-03-05T12:05:00.900Z',
        endedAt: '2026-03-05T12:30:10.400Z',
        live: null,
        log: null,
        task: { id: W.cellpose.tasks.cellpose },
        run: { id: W.cellpose.id },
      },
    ]);
    const result = cellpose.results[0];
    expect(result.command).toContain('sbatch --gres=gpu:1g.10gb:1');
    expect(result.environment).toContainEqual({ name: 'OMERO_PASSWORD', value: '[REDACTED]' });
    expect(result.environment).toContainEqual({ name: 'MODEL_TYPE', value: 'nuclei' });
    const refs = await query(`{ workflowRun(id: "${W.cellpose.id}") { inputReferences { dataType id } } }`, alice);
    expect(refs.workflowRun.inputReferences).toEqual([
      { dataType: 'Image', id: '1' },
      { dataType: 'Image', id: '2' },
    ]);
  });

  it('a failed run, a running one, a v2.0.1 one stopped in conversion, and one without owner', async () => {
    expect(await run(W.failed.id)).toMatchObject({ status: 'FAILED', error: expect.stringContaining('stardist'), progress: 52.8 });
    expect(await run(W.running.id)).toMatchObject({ status: 'JOB_RUNNING', statusRaw: 'JOB_RUNNING', slurmState: 'RUNNING', progress: 50, finishedAt: null });
    const deployed = await run(W.deployed.id);
    expect(deployed).toMatchObject({ status: 'CONVERTING', progress: 25, user: { id: '5' } });
    expect(deployed.tasks[1].slurmJobs[0]).toMatchObject({ state: 'RUNNING', startedAt: '2026-03-14T09:01:20.500Z', endedAt: null });
    const unassigned = await run(W.unassigned.id);
    expect(unassigned).toMatchObject({ name: 'cellpose', version: '1.4.0', user: null, group: null, status: 'FAILED' });
    expect(unassigned.tasks[0]).toMatchObject({ slurmJobIds: [-1], slurmJobs: [], error: expect.stringContaining('sbatch: error') });
  });

  it('never serves a secret: results, parameters and raw event data are redacted', async () => {
    const r = await run(W.secrets.id, alice);
    const events = await query(`query($id: ID!) { workflowRun(id: $id) { events(first: 500) { nodes { type data } } } }`, alice, { id: W.secrets.id });
    const text = JSON.stringify([r, events]);
    for (const secret of W.secrets.secretValues) expect(text).not.toContain(secret);
    const result = r.tasks[0].results[0];
    expect(result.command).toBe(
      'export OMERO_PASSWORD=[REDACTED] SLURM_API_TOKEN=[REDACTED] DATA_PATH=/data && sbatch --output=omero-%j.log --ssh-password [REDACTED] jobs/cellpose.sh',
    );
    expect(result.environment).toEqual([
      { name: 'DATA_PATH', value: '/data' },
      { name: 'DIAMETER', value: '0' },
      { name: 'OMERO_PASSWORD', value: '[REDACTED]' },
      { name: 'SLURM_API_TOKEN', value: '[REDACTED]' },
      { name: 'SSH_PASS', value: '[REDACTED]' },
    ]);
    expect(result.stdout).toBe(`Submitted batch job ${W.secrets.jobs.cellpose}\nconnecting with token [REDACTED]\n`);
    expect(r.tasks[0].params.omero_password).toBe('[REDACTED]');
    const added = events.workflowRun.events.nodes.find((e: { type: string }) => e.type === 'Task.ResultAdded');
    expect(added.data.result.environment).toContainEqual({ name: 'SSH_PASS', value: '[REDACTED]' });
  });

  it('pages through a run’s events with opaque cursors, in store order', async () => {
    const q = `query($id: ID!, $after: String) { workflowRun(id: $id) { events(first: 7, after: $after) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { cursor type runId taskId timestamp } } } } }`;
    const seen: { cursor: string; type: string }[] = [];
    let after: string | null = null;
    let total = 0;
    for (let page = 0; page < 100; page++) {
      const events: any = (await query(q, alice, { id: W.progress.id, after })).workflowRun.events;
      total = events.totalCount;
      for (const e of events.edges) {
        expect(e.cursor).toBe(e.node.cursor);
        expect(e.node.runId).toBe(W.progress.id);
        seen.push(e.node);
      }
      if (!events.pageInfo.hasNextPage) break;
      after = events.pageInfo.endCursor;
    }
    expect(total).toBe(1 + 2 + 3 + W.progress.progressUpdates);
    expect(seen.length).toBe(total);
    expect(new Set(seen.map((e) => e.cursor)).size).toBe(total);
    expect(seen[0].type).toBe('WorkflowRun.WorkflowInitiated');
    expect(seen.filter((e) => e.type === 'Task.ProgressUpdated').length).toBe(W.progress.progressUpdates);
    const { rows } = await biomero('SELECT count(*)::int AS n FROM workflowtracker_events WHERE originator_id = ANY($1::uuid[])', [
      [W.progress.id, W.progress.tasks.cellpose],
    ]);
    expect(rows[0].n).toBe(total);
    const bad = await gql(stack.url, `{ workflowRun(id: "${W.progress.id}") { events(after: "bm90LWEtY3Vyc29y") { totalCount } } }`, { session: alice });
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});

describe('listing runs', () => {
  it('shows each caller what OMERO’s group rules let them see', async () => {
    expect(new Set(await runIds(erin))).toEqual(new Set([...Object.values(W).map((w) => w.id), ...LINEAGE]));
    expect(new Set(await runIds(alice))).toEqual(new Set([W.cellpose.id, W.failed.id, W.running.id, W.secrets.id, W.progress.id, ...LINEAGE]));
    expect(await runIds(bob)).toEqual([L.summary.id, W.failed.id]); // the lineage chain's summary run is in lab-annotate
    expect(new Set(await runIds(carol))).toEqual(new Set([W.cellpose.id, W.failed.id, W.running.id, W.deployed.id, W.secrets.id, W.progress.id, ...LINEAGE]));
    expect(await runIds(dave)).toEqual([W.deployed.id]);
    const hidden = await gql(stack.url, `{ a: workflowRun(id: "${W.deployed.id}") { id } b: workflowRun(id: "${W.unassigned.id}") { id } }`, {
      session: alice,
    });
    expect(hidden.data).toEqual({ a: null, b: null });
  });

  it('filters by status (each status against the fold: source/events.test.ts), owner, group and time', async () => {
    const all = (await query(`{ workflowRuns(first: 500) { nodes { id status } } }`, erin)).workflowRuns.nodes as { id: string; status: string }[];
    const statuses = [...new Set(all.map((r) => r.status))];
    expect(statuses.sort()).toEqual(['CONVERTING', 'DONE', 'FAILED', 'JOB_RUNNING']);
    for (const status of [...statuses, 'UNKNOWN', 'JOB_PENDING']) {
      expect(new Set(await runIds(erin, { statuses: [status] }))).toEqual(new Set(all.filter((r) => r.status === status).map((r) => r.id)));
    }
    expect(new Set(await runIds(erin, { statuses: ['DONE', 'CONVERTING'] }))).toEqual(new Set([W.cellpose.id, W.secrets.id, W.deployed.id, ...LINEAGE]));
    expect(await runIds(erin, { userId: '5' })).toEqual([W.deployed.id]);
    expect(await runIds(erin, { groupId: '5' })).toEqual([L.summary.id, W.failed.id]);
    expect(await runIds(alice, { groupId: '3', statuses: ['JOB_RUNNING'] })).toEqual([W.progress.id, W.running.id]);
    expect(await runIds(erin, { createdAfter: '2026-03-08T00:00:00Z', createdBefore: '2026-03-14T09:00:00.2Z' })).toEqual([
      L.summary.id,
      L.measurement.id,
      L.stardist.id,
      W.running.id,
      W.failed.id,
    ]);
    const bad = await gql(stack.url, '{ workflowRuns(filter: { userId: "x" }) { totalCount } }', { session: erin });
    expect(bad.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('pages newest first with cursors and a total count', async () => {
    const q = `query($after: String) { workflowRuns(first: 2, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id createdAt } } }`;
    const ids: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: any = (await query(q, carol, { after })).workflowRuns;
      expect(page.totalCount).toBe(9);
      ids.push(...page.nodes.map((n: { id: string }) => n.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    // store order: the lineage chain's events were appended after the core demo's
    expect(ids).toEqual([L.summary.id, L.measurement.id, L.stardist.id, W.progress.id, W.secrets.id, W.deployed.id, W.running.id, W.failed.id, W.cellpose.id]);
  });
});

describe('links to OMERO images and Slurm jobs', () => {
  it('Image.consumedBy lists the visible runs whose tasks name the image, batched over a list', async () => {
    const refs = Array.from({ length: 15 }, (_, i) => ({ __typename: 'Image', id: String(i + 1) }));
    const data = await query(`query($r: [_Any!]!) { _entities(representations: $r) { ... on Image { id consumedBy { totalCount nodes { id } } } } }`, carol, {
      r: refs,
    });
    const byImage = Object.fromEntries(data._entities.map((n: any) => [n.id, n.consumedBy.nodes.map((r: { id: string }) => r.id)]));
    expect(byImage['1']).toEqual([W.secrets.id, W.cellpose.id]);
    expect(byImage['2']).toEqual([W.progress.id, W.cellpose.id]);
    expect(byImage['3']).toEqual([L.stardist.id, W.deployed.id, W.running.id]);
    expect(byImage['7']).toEqual([W.failed.id]);
    expect(byImage['5']).toEqual([L.measurement.id]);
    expect(byImage['6']).toEqual([]);
    // alice may see image 3 but not dave's run on it
    const asAlice = await query(
      `{ _entities(representations: [{ __typename: "Image", id: "3" }]) { ... on Image { consumedBy(first: 1) { totalCount pageInfo { hasNextPage } nodes { id } } } } }`,
      alice,
    );
    expect(asAlice._entities[0].consumedBy).toEqual({ totalCount: 2, pageInfo: { hasNextPage: true }, nodes: [{ id: L.stardist.id }] });
  });

  it('finds a Slurm job by id, only through a run the caller may see', async () => {
    const q = (id: number) => `{ slurmJob(id: "${id}") { jobId state task { name } run { id status } } }`;
    expect((await query(q(W.running.jobs.cellpose), alice)).slurmJob).toEqual({
      jobId: W.running.jobs.cellpose,
      state: 'RUNNING',
      task: { name: 'cellpose' },
      run: { id: W.running.id, status: 'JOB_RUNNING' },
    });
    expect((await query(q(W.deployed.jobs.convert), alice)).slurmJob).toBeNull();
    expect((await query(q(999999), erin)).slurmJob).toBeNull();
  });

  it("slurmJob(-1): the row BIOMERO's job views keep for a failed sbatch (its first task), through a visible run only", async () => {
    const E = DEMO.workflows.unassigned;
    const q = `{ slurmJob(id: "-1") { id jobId state progress submittedAt startedAt endedAt live { state } log { tail } task { id resultMessage } run { id status } } }`;
    expect((await query(q, erin)).slurmJob).toEqual({
      id: '-1',
      jobId: -1,
      state: null,
      progress: null,
      submittedAt: '2026-03-15T08:00:02.000Z',
      startedAt: null,
      endedAt: null,
      live: null,
      log: null,
      task: { id: E.tasks.cellpose, resultMessage: expect.stringContaining('sbatch: error: Batch job submission failed') },
      run: { id: E.id, status: 'FAILED' },
    });
    expect((await query(q, alice)).slurmJob).toBeNull(); // a run of user -1: admins only
  });
});

describe('cancelWorkflowRun', () => {
  const cancel = async (id: string, session?: DemoUser) => {
    const res = await gql(stack.url, `mutation($id: ID!) { cancelWorkflowRun(id: $id) { cancelledJobIds run { id } } }`, { session, variables: { id } });
    return res.errors?.[0].extensions?.code ?? 'OK';
  };

  it('is allowed to the owner, the group’s leader and admins; forbidden to other members; hidden runs are not found', async () => {
    // Without a Slurm cluster configured an allowed caller learns that it is unavailable.
    expect(await cancel(W.running.id, alice)).toBe('SLURM_UNAVAILABLE'); // owner
    expect(await cancel(W.running.id, carol)).toBe('SLURM_UNAVAILABLE'); // leader of group 3
    expect(await cancel(W.running.id, erin)).toBe('SLURM_UNAVAILABLE'); // admin
    expect(await cancel(W.running.id, dave)).toBe('NOT_FOUND'); // member of private group 3: cannot see it
    expect(await cancel(W.running.id, bob)).toBe('NOT_FOUND');
    expect(await cancel(W.failed.id, alice)).toBe('FORBIDDEN'); // sees bob's run in lab-annotate, may not cancel it
    expect(await cancel(W.failed.id, bob)).toBe('SLURM_UNAVAILABLE');
    expect(await cancel(W.failed.id, carol)).toBe('SLURM_UNAVAILABLE'); // leader of group 5
    expect(await cancel(W.unassigned.id, alice)).toBe('NOT_FOUND');
    expect(await cancel(W.unassigned.id, erin)).toBe('SLURM_UNAVAILABLE');
    expect(await cancel('0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3affff', erin)).toBe('NOT_FOUND');
    expect(await cancel('not-a-uuid', erin)).toBe('BAD_USER_INPUT'); // an id that cannot exist (subgraphs/common/ids.ts)
    expect(await cancel(W.running.id)).toBe('UNAUTHENTICATED');
  });

  it('leaves the event store untouched', async () => {
    const { rows } = await biomero('SELECT count(*)::int AS n FROM workflowtracker_events WHERE originator_id = ANY($1::uuid[])', [
      [W.running.id, ...Object.values(W.running.tasks)],
    ]);
    expect(rows[0].n).toBe((await query(`{ workflowRun(id: "${W.running.id}") { events { totalCount } } }`, alice)).workflowRun.events.totalCount);
  });
});

describe('the workflow catalogue', () => {
  it('lists workflows with repository, tag, sbatch extras, parameters and a renderable JSON Schema, paginated', async () => {
    const q = `query($after: String) { workflows(first: 3, after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes {
      name section title description imageFolder repository versionTag jobScript useGpu containerImage descriptorFormat descriptorError
      sbatchOptions { flag value argument } parameters { name title type default choices optional commandLineFlag } parametersSchema } } }`;
    const first = (await query(q, alice)).workflows;
    expect(first.totalCount).toBe(4);
    expect(first.pageInfo.hasNextPage).toBe(true);
    const second = (await query(q, alice, { after: first.pageInfo.endCursor })).workflows;
    expect(second.pageInfo.hasNextPage).toBe(false);
    const all = [...first.nodes, ...second.nodes];
    expect(all.map((w: { name: string }) => w.name)).toEqual(['cellpose', 'deconvolution', 'spotdetection', 'stardist']);
    const cellpose = all[0];
    expect(cellpose).toMatchObject({
      section: 'WORKFLOWS',
      versionTag: 'v1.4.0',
      useGpu: true,
      containerImage: 'torecluik/w_nucleisegmentation-cellpose',
      descriptorFormat: 'cytomine-0.1',
      descriptorError: null,
    });
    expect(cellpose.sbatchOptions.map((o: { argument: string }) => o.argument)).toEqual(['--gres=gpu:1g.10gb:1', '--mem=15GB', '--time=00:45:00']);
    expect(cellpose.parameters.find((p: { name: string }) => p.name === 'model_type')).toEqual({
      name: 'model_type',
      title: 'Model',
      type: 'string',
      default: 'nuclei',
      choices: ['nuclei', 'cyto', 'cyto2'],
      optional: true,
      commandLineFlag: '--model_type',
    });
    const ajv = new Ajv2020({ strict: true });
    expect(ajv.validateSchema(cellpose.parametersSchema)).toBe(true);
    expect(all[1]).toMatchObject({
      name: 'deconvolution',
      descriptorError: 'descriptor not found in the descriptor folder',
      parameters: [],
      parametersSchema: null,
    });
    expect((await query(`{ workflow(name: "SpotDetection") { descriptorFormat } }`, alice)).workflow).toEqual({ descriptorFormat: 'biomero-0.1' });
    expect((await query(`{ workflow(name: "nope") { name } }`, alice)).workflow).toBeNull();
  });
});

describe('the view tables are never the truth', () => {
  it('answers the same with the views disagreeing (half rebuilt, v2.0.1 statuses) and with them dropped', async () => {
    const q = `{ workflowRuns(first: 500) { totalCount nodes { id status progress tasks { status slurmJobs { state } } } } }`;
    const before = await query(q, erin);
    // half rebuilt by a v2.0.1 projector: rows missing, others stale or with the old status rule
    await biomero(`DELETE FROM biomero_workflow_progress_view WHERE workflow_id = $1`, [W.cellpose.id]);
    await biomero(
      `INSERT INTO biomero_workflow_progress_view (workflow_id, status, progress, "user", "group", name, task, main_task_name, start_time)
                   VALUES ($1, 'JOB_RUNNING', '50%', 5, 3, 'Slurm Workflow', 'CONVERT_ZARR_TO_TIFF', 'CONVERT_ZARR_TO_TIFF', '2026-03-14 09:00:00.2')`,
      [W.deployed.id],
    );
    await biomero(`UPDATE biomero_job_progress_view SET status = 'RUNNING'`);
    expect(await query(q, erin)).toEqual(before);
    for (const table of ['biomero_job_view', 'biomero_job_progress_view', 'biomero_workflow_progress_view', 'biomero_task_execution']) {
      await biomero(`DROP TABLE ${table}`);
    }
    expect(await query(q, erin)).toEqual(before);
    expect(before.workflowRuns.nodes.find((r: { id: string }) => r.id === W.deployed.id).status).toBe('CONVERTING');
    const ready = await fetch(stack.url.replace(/\/graphql$/, '/readyz'));
    expect(ready.status).toBe(200);
  });
});
