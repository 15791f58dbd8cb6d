/**
 * runWorkflow against the local OMERO.web (test/support/omero-web/), whose OMERO.biomero endpoint
 * parses the launch as analyzer_views.run_workflow_script does; the workflows subgraph alone,
 * with the demo catalogue and OMERO database. The demo runner through the whole gateway is in
 * test/gateway/run-workflow.test.ts.
 */
import pg from 'pg';
import { DEMO, DEMO_USERS } from '../../../database/demo/index';
import { appendEvents, demoCatalogue, newRunEvents } from '../../../database/demo/workflows';
import { OmeroWebError, OmeroWebSession } from '../../../subgraphs/common/omero-web/client';
import { createTestDatabases } from '../../support/databases';
import { startFakeOmeroWeb, type FakeOmeroWeb } from '../../support/omero-web/server';
import { gql, startWorkflows, type WorkflowsService } from './support';

let stack: WorkflowsService;
let web: FakeOmeroWeb;

beforeAll(async () => {
  const dbs = await createTestDatabases();
  web = await startFakeOmeroWeb({ omeroDatabaseUrl: dbs.omeroUrl });
  stack = await startWorkflows(
    {
      slurm: null,
      catalogue: demoCatalogue(),
      launcher: { omeroWebUrl: web.url },
      omeroDatabaseUrl: dbs.omeroUrl,
      launchLimits: { maxInputs: 5, maxParameterBytes: 300 },
    },
    dbs,
  );
});
afterAll(async () => {
  await web?.close();
  await stack?.stop();
});

const RUN = `mutation Run($workflow: String!, $version: String, $inputs: [ID!]!, $parameters: JSON, $options: RunWorkflowOptions) {
  runWorkflow(workflow: $workflow, version: $version, inputs: $inputs, parameters: $parameters, options: $options) {
    jobId message warnings { code message } workflow version group { id } submittedAt launchId after run { id }
  }
}`;

const VALID = { diameter: 30, model_type: 'cyto', output_suffix: '_mask' };

async function biomero(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const db = new pg.Client(stack.dbs.biomeroUrl);
  await db.connect();
  try {
    return await db.query(sql, params);
  } finally {
    await db.end();
  }
}

/** What the local OMERO.web saw of launches so far: requests and accepted jobs. */
function seen() {
  return { requests: web.requests, jobs: web.workflowJobs.length };
}

describe('checks before anything is sent', () => {
  it('refuses invalid parameters field by field, and sends nothing to OMERO.web', async () => {
    const before = seen();
    const res = await gql(stack.url, RUN, 'alice', {
      workflow: 'cellpose',
      inputs: ['1'],
      parameters: { diameter: 'large', model_type: 'bacteria', bogus: 1 },
    });
    expect(res.data).toBeNull();
    const error = res.errors![0] as unknown as { extensions: { code: string; fields: { field: string; message: string }[] } };
    expect(error.extensions.code).toBe('BAD_USER_INPUT');
    const fields = Object.fromEntries(error.extensions.fields.map((f) => [f.field, f.message]));
    expect(Object.keys(fields).sort()).toEqual(['parameters.bogus', 'parameters.diameter', 'parameters.model_type', 'parameters.output_suffix']);
    expect(fields['parameters.output_suffix']).toBe('is required');
    expect(fields['parameters.model_type']).toBe('must be one of ["nuclei","cyto","cyto2"]');
    expect(fields['parameters.bogus']).toBe('is not a parameter of this workflow');
    expect(fields['parameters.diameter']).toMatch(/integer/);
    expect(seen()).toEqual(before);
  });

  it('answers an input the caller may not read exactly as a missing one, and sends nothing', async () => {
    const before = seen();
    // image 9 is bob's, in lab-readonly (group 4), where alice is no member
    const hidden = await gql(stack.url, RUN, 'alice', { workflow: 'cellpose', inputs: ['1', '9'], parameters: VALID });
    const missing = await gql(stack.url, RUN, 'alice', { workflow: 'cellpose', inputs: ['1', '999999'], parameters: VALID });
    expect(hidden.errors![0].extensions).toEqual({ code: 'NOT_FOUND', field: 'inputs' });
    expect(missing.errors![0].extensions).toEqual({ code: 'NOT_FOUND', field: 'inputs' });
    expect(hidden.errors![0].message.replace(/\d+\.$/, 'N')).toBe(missing.errors![0].message.replace(/\d+\.$/, 'N'));
    // bob may read his own image 9
    const bobsOwn = await gql(stack.url, RUN, 'bob', { workflow: 'cellpose', inputs: ['9'], parameters: { ...VALID, diameter: 'x' } });
    expect(bobsOwn.errors![0].extensions!.code).toBe('BAD_USER_INPUT'); // got past nothing but the parameters
    expect(seen()).toEqual(before);
  });

  it('refuses an unknown workflow, too many inputs, too large parameters, a foreign group, bad ids', async () => {
    const before = seen();
    const cases: [Record<string, unknown>, string, string][] = [
      [{ workflow: 'nope', inputs: ['1'], parameters: VALID }, 'BAD_USER_INPUT', 'workflow'],
      [{ workflow: 'cellpose', inputs: ['1', '2', '3', '4', '5', '6'], parameters: VALID }, 'BAD_USER_INPUT', 'inputs'],
      [{ workflow: 'cellpose', inputs: [], parameters: VALID }, 'BAD_USER_INPUT', 'inputs'],
      [{ workflow: 'cellpose', inputs: ['1x'], parameters: VALID }, 'BAD_USER_INPUT', 'inputs'],
      [{ workflow: 'cellpose', inputs: ['1'], parameters: { ...VALID, output_suffix: 'x'.repeat(400) } }, 'BAD_USER_INPUT', 'parameters'],
      [{ workflow: 'cellpose', inputs: ['1'], parameters: [1, 2] }, 'BAD_USER_INPUT', 'parameters'],
      [{ workflow: 'cellpose', inputs: ['1'], parameters: VALID, options: { groupId: '4' } }, 'FORBIDDEN', 'options.groupId'],
      [
        { workflow: 'cellpose', inputs: ['1'], parameters: VALID, options: { newDatasetName: 'a', datasetId: '1' } },
        'BAD_USER_INPUT',
        'options.newDatasetName',
      ],
      [{ workflow: 'cellpose', inputs: ['1'], parameters: VALID, version: 'v1 ; rm' }, 'BAD_USER_INPUT', 'version'],
      // dataset 4 is bob's, in a group alice is not in
      [{ workflow: 'cellpose', inputs: ['1'], parameters: VALID, options: { datasetId: '4' } }, 'NOT_FOUND', 'options.datasetId'],
    ];
    for (const [variables, code, field] of cases) {
      const res = await gql(stack.url, RUN, 'alice', variables);
      expect({ variables, ext: res.errors?.[0]?.extensions }).toEqual({ variables, ext: expect.objectContaining({ code, field }) });
    }
    expect(seen()).toEqual(before);
  });
});

describe('a valid launch', () => {
  it('sends exactly the body OMERO.biomero parses, returns its job id, and finds the run once BIOMERO writes it', async () => {
    const jobsBefore = web.workflowJobs.length;
    const res = await gql(stack.url, RUN, 'alice', { workflow: 'cellpose', inputs: ['2', '1', '2'], parameters: VALID, options: { newDatasetName: 'Masks' } });
    expect(res.errors).toBeUndefined();
    const result = res.data.runWorkflow;
    expect(web.workflowJobs.length).toBe(jobsBefore + 1);
    const job = web.workflowJobs.at(-1)!;
    expect(result).toMatchObject({ jobId: job.jobId, workflow: 'cellpose', version: 'v1.4.0', group: { id: '3' }, warnings: [], run: null });
    expect(result.jobId).toMatch(/^ProcessCallback\//);
    expect(result.message).toContain('SLURM_Run_Workflow.py');
    expect(job.body).toEqual({
      params: {
        IDs: [2, 1],
        Data_Type: 'Image',
        active_group_id: 3,
        receiveEmail: false,
        attachToOriginalImages: false,
        importAsZip: true,
        uploadCsv: true,
        useZarrFormat: false,
        version: 'v1.4.0',
        selectedDatasets: ['Masks'],
        diameter: 30,
        model_type: 'cyto',
        output_suffix: '_mask',
      },
    });
    expect(job).toMatchObject({ workflow: 'cellpose', script: 'SLURM_Run_Workflow.py', userId: DEMO_USERS.alice.id, groupId: 3 });
    expect(job.inputs).toEqual({
      cellpose: true,
      cellpose_Version: 'v1.4.0',
      IDs: [2, 1],
      Data_Type: 'Image',
      'cellpose_|_diameter': 30,
      'cellpose_|_model_type': 'cyto',
      'cellpose_|_output_suffix': '_mask',
    });

    const launched = `query($id: ID!) { launchedWorkflowRun(launchId: $id) { id status user { id } } }`;
    expect((await gql(stack.url, launched, 'alice', { id: result.launchId })).data.launchedWorkflowRun).toBeNull();
    // What the script writes once it starts: first someone else's run on the same images, then one
    // of alice's on other images, then hers.
    const other = {
      id: '0b0b0b0b-0000-4000-8000-000000000001',
      taskId: '0b0b0b0b-0000-4000-8000-000000000002',
      user: DEMO_USERS.carol.id,
      group: 3,
      params: { IDs: [1, 2], Data_Type: 'Image' },
    };
    const elsewhere = {
      id: '0b0b0b0b-0000-4000-8000-000000000003',
      taskId: '0b0b0b0b-0000-4000-8000-000000000004',
      user: DEMO_USERS.alice.id,
      group: 3,
      params: { IDs: [3], Data_Type: 'Image' },
    };
    const hers = {
      id: '0b0b0b0b-0000-4000-8000-000000000005',
      taskId: '0b0b0b0b-0000-4000-8000-000000000006',
      user: DEMO_USERS.alice.id,
      group: 3,
      params: { Data_Type: 'Image', IDs: [1, 2], Folder_Name: 'x' },
    };
    const db = new pg.Client(stack.dbs.biomeroUrl);
    await db.connect();
    try {
      for (const run of [other, elsewhere, hers]) await appendEvents(db, newRunEvents(run));
    } finally {
      await db.end();
    }
    expect((await gql(stack.url, launched, 'alice', { id: result.launchId })).data.launchedWorkflowRun).toEqual({
      id: hers.id,
      status: 'INITIALIZING',
      user: { id: '2' },
    });
    // another user asking with alice's launch id finds nothing of hers
    expect((await gql(stack.url, launched, 'bob', { id: result.launchId })).data.launchedWorkflowRun).toBeNull();
    // the cursor is the store position before the launch: every event of the new run comes after it
    const { rows } = await biomero('SELECT min(id) AS id FROM workflowtracker_events WHERE originator_id = $1', [hers.id]);
    const position = Number(Buffer.from(result.after, 'base64url').toString().split(':')[1]);
    expect(Number(rows[0].id)).toBeGreaterThan(position);
  });

  it('launches on a Plate in its group, and passes the group asked for', async () => {
    const res = await gql(stack.url, RUN, 'alice', {
      workflow: 'stardist',
      inputs: [String(DEMO.plates.plate1)],
      parameters: { stardist_prob_t: 0.6 },
      options: { inputType: 'PLATE', datasetId: String(DEMO.datasets.aliceSegmentations) },
    });
    expect(res.errors).toBeUndefined();
    expect(res.data.runWorkflow).toMatchObject({ workflow: 'stardist', version: 'v1.3.2', group: { id: '5' } });
    const job = web.workflowJobs.at(-1)!;
    expect(job.inputs).toMatchObject({
      stardist: true,
      stardist_Version: 'v1.3.2',
      IDs: [DEMO.plates.plate1],
      Data_Type: 'Plate',
      'stardist_|_stardist_prob_t': 0.6,
    });
    expect(job.groupId).toBe(5);
    expect((job.body as { params: Record<string, unknown> }).params.selectedDatasetId).toBe(DEMO.datasets.aliceSegmentations);
  });

  it('malformed launch ids are BAD_USER_INPUT', async () => {
    const res = await gql(stack.url, `{ launchedWorkflowRun(launchId: "nope") { id } }`, 'alice');
    expect(res.errors![0].extensions!.code).toBe('BAD_USER_INPUT');
  });
});

describe('the local OMERO.biomero endpoint refuses what the real view refuses', () => {
  const path = '/omero_biomero/api/analyzer/workflows/cellpose/jobs/';

  async function session(): Promise<OmeroWebSession> {
    const s = new OmeroWebSession(web.url);
    await s.login(DEMO_USERS.alice.sessionUuid, DEMO_USERS.alice.sessionUuid);
    return s;
  }

  async function refusal(fn: () => Promise<unknown>): Promise<{ status: number; message: string }> {
    try {
      await fn();
    } catch (err) {
      if (err instanceof OmeroWebError) return { status: err.status, message: err.message };
      throw err;
    }
    throw new Error('accepted');
  }

  it('refuses bodies and inputs of other shapes, and records no job for them', async () => {
    const s = await session();
    const before = web.workflowJobs.length;
    const post = (json: unknown) => () => s.request('POST', path, { json });
    expect(await refusal(post([1]))).toMatchObject({ status: 500 });
    expect(await refusal(post({ params: [1] }))).toMatchObject({ status: 500 });
    expect(await refusal(post({ params: { IDs: ['1'], Data_Type: 'Image' } }))).toMatchObject({ status: 500, message: expect.stringContaining('IDs') });
    expect(await refusal(post({ params: { IDs: [1], Data_Type: 'Project' } }))).toMatchObject({ status: 500, message: expect.stringContaining('Data_Type') });
    expect(await refusal(post({ params: { IDs: [1], version: 1 } }))).toMatchObject({ status: 500 });
    expect(await refusal(() => s.request('POST', '/omero_biomero/api/analyzer/workflows/unknown/jobs/', { json: { params: { IDs: [1] } } }))).toMatchObject({
      status: 500,
    });
    expect(await refusal(post({ params: { IDs: [1], active_group_id: 4 } }))).toEqual({
      status: 403,
      message: 'Cannot access group 4. Check group permissions.',
    });
    expect(await refusal(() => s.get(path))).toMatchObject({ status: 405 });
    expect(web.workflowJobs.length).toBe(before);
  });

  it('refuses a body that is not JSON, a POST without the CSRF token, and a caller who is not logged in', async () => {
    const cookie = (await fetch(`${web.url}/api/v0/token/`)).headers.getSetCookie()[0].split(';')[0];
    const token = cookie.split('=')[1];
    const raw = (headers: Record<string, string>, body: string) => fetch(`${web.url}${path}`, { method: 'POST', headers, body });
    const anonymous = await raw({ cookie, 'x-csrftoken': token, 'content-type': 'application/json' }, '{"params": {"IDs": [1]}}');
    expect(anonymous.status).toBe(403);
    expect(await anonymous.json()).toEqual({ message: 'Not logged in' });
    const noCsrf = await raw({ cookie, 'content-type': 'application/json' }, '{}');
    expect(noCsrf.status).toBe(403);
    expect((await noCsrf.json()).message).toMatch(/^CSRF Failed/);
    // the same session's cookies, a body that is not JSON
    const sessionCookie = await (async () => {
      const res = await fetch(`${web.url}/api/v0/login/`, {
        method: 'POST',
        headers: { cookie, 'x-csrftoken': token, 'content-type': 'application/json' },
        body: JSON.stringify({ server: 1, username: DEMO_USERS.alice.sessionUuid, password: DEMO_USERS.alice.sessionUuid }),
      });
      return res.headers.getSetCookie()[0].split(';')[0];
    })();
    const notJson = await raw({ cookie: `${cookie}; ${sessionCookie}`, 'x-csrftoken': token }, 'IDs=1');
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toEqual({ error: 'Invalid JSON data' });
    // and the accepted shape, for contrast: JSON whatever the content type
    const ok = await raw(
      { cookie: `${cookie}; ${sessionCookie}`, 'x-csrftoken': token, 'content-type': 'text/plain' },
      '{"params": {"IDs": [1], "version": "v1.4.0"}}',
    );
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ status: 'success', jobId: expect.stringMatching(/^ProcessCallback\//), warnings: [] });
  });

  it('answers 404 when the script is not installed, which runWorkflow reports as WORKFLOW_LAUNCH_UNAVAILABLE', async () => {
    const bare = await startFakeOmeroWeb({ omeroDatabaseUrl: stack.dbs.omeroUrl, biomeroScripts: { installed: false } });
    const other = await startWorkflows(
      { slurm: null, catalogue: demoCatalogue(), launcher: { omeroWebUrl: bare.url }, omeroDatabaseUrl: stack.dbs.omeroUrl },
      stack.dbs,
    );
    try {
      const res = await gql(other.url, RUN, 'alice', { workflow: 'cellpose', inputs: ['1'], parameters: VALID });
      expect(res.errors![0].extensions!.code).toBe('WORKFLOW_LAUNCH_UNAVAILABLE');
      expect(res.errors![0].message).toContain('Script SLURM_Run_Workflow.py not found on server');
    } finally {
      await other.service.stop();
      await bare.close();
    }
  });
});
