import pg from 'pg';
import { DEMO, DEMO_USERS, LINEAGE_DEMO } from '../../../database/demo/index';
import { appendEvents } from '../../../database/demo/workflows';
import { SessionResolver } from '../../../gateway/sessions';
import { IDENTITY_HEADER } from '../../../subgraphs/common/identity';
import { startSubgraph, type RunningService } from '../../../subgraphs/common/server';
import { parseGlobalId } from '../../../subgraphs/provenance/ids';
import { provenanceSubgraph } from '../../../subgraphs/provenance/index';
import { LineageSource } from '../../../subgraphs/provenance/source/edges';
import { walkLineage } from '../../../subgraphs/provenance/walk';
import { createTestDatabases, type TestDatabases } from '../../support/databases';
import { TEST_SECRET } from '../../support/stack';

const R = LINEAGE_DEMO.runs;
const I = DEMO.images;
const cellpose = DEMO.workflows.cellpose.id;
const orders = DEMO.importOrders;

let dbs: TestDatabases;
let omero: pg.Pool;
let biomero: pg.Pool;
let service: RunningService;
let sessions: SessionResolver;

beforeAll(async () => {
  dbs = await createTestDatabases();
  omero = new pg.Pool({ connectionString: dbs.omeroUrl, max: 4 });
  biomero = new pg.Pool({ connectionString: dbs.biomeroUrl, max: 4 });
  service = await startSubgraph(provenanceSubgraph({ omeroPool: omero, biomeroPool: biomero }), { port: 0, host: '127.0.0.1', secret: TEST_SECRET });
  sessions = new SessionResolver(omero, { secret: TEST_SECRET, cacheMs: 0, tokenTtlSeconds: 60 });
});
afterAll(async () => {
  await service?.stop();
  await omero?.end();
  await biomero?.end();
  await dbs?.drop();
});

const NODE = 'id: nodeId type kind hop redacted label startedAt endedAt status';
const LINEAGE = `root truncated redactedCount nodes { ${NODE} } edges { relation from to }`;

interface Node {
  id: string;
  type: string;
  kind: string;
  hop: number;
  redacted: boolean;
  label: string | null;
  startedAt: string | null;
  endedAt: string | null;
  status: string | null;
}
interface Edge {
  relation: string;
  from: string;
  to: string;
}
interface LineageResult {
  root: string;
  truncated: boolean;
  redactedCount: number;
  nodes: Node[];
  edges: Edge[];
  provJson?: any;
  roCrate?: any;
}

async function ask(user: keyof typeof DEMO_USERS, query: string, variables: Record<string, unknown> = {}) {
  const { token } = (await sessions.tokenFor(DEMO_USERS[user].sessionUuid))!;
  const res = await fetch(service.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: token },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as { data?: { lineage: LineageResult }; errors?: { message: string; extensions?: { code?: string } }[] };
}

async function lineage(
  user: keyof typeof DEMO_USERS,
  of: string,
  args: { direction?: string; depth?: number; asOf?: string } = {},
  fields = LINEAGE,
): Promise<LineageResult> {
  const res = await ask(
    user,
    `query($of: ID!, $d: LineageDirection, $depth: Int, $asOf: DateTime) { lineage(of: $of, direction: $d, depth: $depth, asOf: $asOf) { ${fields} } }`,
    { of, d: args.direction ?? 'UPSTREAM', depth: args.depth ?? 10, asOf: args.asOf ?? null },
  );
  expect(res.errors).toBeUndefined();
  return res.data!.lineage;
}

const ids = (l: LineageResult) => l.nodes.map((n) => n.id).sort();
const hopOf = (l: LineageResult, id: string) => l.nodes.find((n) => n.id === id)?.hop;
const has = (l: LineageResult, relation: string, from: string, to: string) => l.edges.some((e) => e.relation === relation && e.from === from && e.to === to);

describe('upstream: from a measurement back to the acquisition files', () => {
  let l: LineageResult;
  beforeAll(async () => {
    l = await lineage('alice', `Image:${LINEAGE_DEMO.images.measurements}`);
  });

  it('walks seven hops: result → measurement run → masks → segmentation runs → raw images → import orders → source files', () => {
    expect(l.root).toBe('Image:17');
    expect(hopOf(l, `WorkflowRun:${R.measurement.id}`)).toBe(1);
    expect(hopOf(l, 'Image:16')).toBe(2);
    expect(hopOf(l, `Image:${I.aliceSeg1}`)).toBe(2);
    expect(hopOf(l, `WorkflowRun:${R.stardist.id}`)).toBe(3);
    expect(hopOf(l, `WorkflowRun:${cellpose}`)).toBe(3);
    for (const img of [I.aliceRaw1, I.aliceRaw2, I.aliceRaw3, I.aliceRaw4]) expect(hopOf(l, `Image:${img}`)).toBe(4);
    expect(hopOf(l, `ImportOrder:${orders.preprocessed}`)).toBe(5);
    expect(hopOf(l, `ImportOrder:${orders.completed}`)).toBe(5);
    expect(hopOf(l, 'SourceFile:/data/lab-private/alice/exp2/experiment2.lif')).toBe(6);
    expect(hopOf(l, 'SourceFile:/data/lab-private/alice/exp1/img_001.tif')).toBe(6);
    expect(l.truncated).toBe(false);
    expect(l.redactedCount).toBe(0);
  });

  it('visits a diamond once: images 3 and 4 share one import order, which appears once with its software', () => {
    expect(l.nodes.filter((n) => n.id === `ImportOrder:${orders.preprocessed}`)).toHaveLength(1);
    expect(has(l, 'WAS_GENERATED_BY', `Image:${I.aliceRaw3}`, `ImportOrder:${orders.preprocessed}`)).toBe(true);
    expect(has(l, 'WAS_GENERATED_BY', `Image:${I.aliceRaw4}`, `ImportOrder:${orders.preprocessed}`)).toBe(true);
    expect(has(l, 'USED', `ImportOrder:${orders.preprocessed}`, 'SourceFile:/data/lab-private/alice/exp2/experiment2.lif')).toBe(true);
    const software = l.nodes.find((n) => n.type === 'Software')!;
    expect(software).toMatchObject({ kind: 'AGENT', label: 'cellularimagingcf/convertleica-docker@v1.3.1' });
    expect(has(l, 'WAS_ASSOCIATED_WITH', `ImportOrder:${orders.preprocessed}`, software.id)).toBe(true);
    expect(new Set(l.nodes.map((n) => n.id)).size).toBe(l.nodes.length);
  });

  it('types every relation: used, wasGeneratedBy, wasDerivedFrom, wasAssociatedWith, wasAttributedTo, hadPlan', () => {
    const run = `WorkflowRun:${R.measurement.id}`;
    expect(has(l, 'WAS_GENERATED_BY', 'Image:17', run)).toBe(true);
    expect(has(l, 'USED', run, 'Image:16')).toBe(true);
    expect(has(l, 'USED', run, `Image:${I.aliceSeg1}`)).toBe(true);
    expect(has(l, 'WAS_DERIVED_FROM', 'Image:17', 'Image:16')).toBe(true);
    expect(has(l, 'WAS_DERIVED_FROM', 'Image:16', `Image:${I.aliceRaw3}`)).toBe(true);
    expect(has(l, 'WAS_ASSOCIATED_WITH', run, `Experimenter:${DEMO_USERS.alice.id}`)).toBe(true);
    expect(has(l, 'WAS_ATTRIBUTED_TO', 'Image:17', `Experimenter:${DEMO_USERS.alice.id}`)).toBe(true);
    expect(has(l, 'HAD_PLAN', run, 'Workflow:cellprofiler_measure@v4.2.6')).toBe(true);
    expect(l.nodes.find((n) => n.id === run)).toMatchObject({
      kind: 'ACTIVITY',
      status: 'COMPLETED',
      startedAt: R.measurement.started,
      endedAt: R.measurement.ended,
    });
    expect(l.nodes.find((n) => n.id === `Experimenter:${DEMO_USERS.alice.id}`)).toMatchObject({ kind: 'AGENT', label: 'Alice Andersen' });
  });

  it('says when the depth cut it short', async () => {
    const short = await lineage('alice', 'Image:17', { depth: 2 });
    expect(short.truncated).toBe(true);
    expect(Math.max(...short.nodes.map((n) => n.hop))).toBe(2);
    const exact = await lineage('alice', 'Image:17', { depth: 7 });
    expect(exact.truncated).toBe(false);
  });
});

describe('downstream: what was derived from an acquisition', () => {
  it('fans out from a raw image through two runs to the summary in another group', async () => {
    const l = await lineage('alice', `Image:${I.aliceRaw1}`, { direction: 'DOWNSTREAM' });
    expect(hopOf(l, `WorkflowRun:${cellpose}`)).toBe(1);
    expect(hopOf(l, `Image:${I.aliceSeg1}`)).toBe(2);
    expect(hopOf(l, `Image:${I.aliceSeg2}`)).toBe(2);
    expect(hopOf(l, `WorkflowRun:${R.measurement.id}`)).toBe(3);
    expect(hopOf(l, 'Image:17')).toBe(4);
    expect(hopOf(l, `WorkflowRun:${R.summary.id}`)).toBe(5);
    expect(hopOf(l, 'Image:18')).toBe(6);
    // downstream does not turn back upstream: no import order, no stardist run
    expect(ids(l).some((id) => id.startsWith('ImportOrder:'))).toBe(false);
    expect(ids(l)).not.toContain(`WorkflowRun:${R.stardist.id}`);
  });

  it('from a source file: the orders that named it and what they produced', async () => {
    const l = await lineage('alice', 'SourceFile:/data/lab-private/alice/exp2/experiment2.lif', { direction: 'DOWNSTREAM', depth: 3 });
    expect(hopOf(l, `ImportOrder:${orders.preprocessed}`)).toBe(1);
    expect(hopOf(l, `Image:${I.aliceRaw3}`)).toBe(2);
    expect(hopOf(l, `WorkflowRun:${R.stardist.id}`)).toBe(3);
  });

  it('BOTH walks both ways from a run', async () => {
    const l = await lineage('alice', `WorkflowRun:${R.stardist.id}`, { direction: 'BOTH', depth: 1 });
    expect(ids(l)).toEqual(expect.arrayContaining(['Image:16', `Image:${I.aliceRaw3}`, `Image:${I.aliceRaw4}`]));
  });
});

describe('access', () => {
  it("alice sees bob's run in lab-readonly (not her group) as a placeholder, and the walk stops there", async () => {
    // bob reads image 18 (lab-annotate) in a run of his in lab-readonly, where alice is no member
    const bobs = '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4bdd';
    const task = '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7cdd';
    const at = new Date('2026-03-09T13:00:00Z');
    await appendEvents(biomero, [
      {
        originatorId: bobs,
        version: 0,
        type: 'WorkflowRun.WorkflowInitiated',
        at,
        fields: { name: 'Slurm Workflow', description: 'bob reuses the summary\n2.0.1', user: DEMO_USERS.bob.id, group: 4 },
      },
      {
        originatorId: task,
        version: 0,
        type: 'Task.TaskCreated',
        at,
        fields: {
          workflow_id: { _type_: 'uuid_hex', _data_: bobs.replace(/-/g, '') },
          task_name: 'bob_secret_pipeline',
          task_version: 'v9',
          input_data: 'x',
          params: { IDs: [18], Data_Type: 'Image' },
        },
      },
      { originatorId: bobs, version: 1, type: 'WorkflowRun.TaskAdded', at, fields: { task_id: { _type_: 'uuid_hex', _data_: task.replace(/-/g, '') } } },
    ]);
    const l = await lineage('alice', 'Image:17', { direction: 'DOWNSTREAM' }, `${LINEAGE} provJson roCrate`);
    const hidden = l.nodes.filter((n) => n.redacted);
    expect(hidden).toEqual([
      { id: 'redacted:1', type: 'WorkflowRun', kind: 'ACTIVITY', hop: 3, redacted: true, label: null, startedAt: null, endedAt: null, status: null },
    ]);
    expect(l.redactedCount).toBe(1);
    expect(has(l, 'USED', 'redacted:1', 'Image:18')).toBe(true);
    expect(l.edges.filter((e) => e.from === 'redacted:1' || e.to === 'redacted:1')).toHaveLength(1);
    const exported = JSON.stringify([l.provJson, l.roCrate]);
    expect(exported).not.toContain(bobs);
    expect(exported).not.toContain('bob_secret_pipeline');
    expect(exported).not.toContain('Brouwer');
    // the owner of the data sees it whole
    const mine = await lineage('bob', 'Image:18', { direction: 'DOWNSTREAM' });
    expect(mine.nodes.find((n) => n.id === `WorkflowRun:${bobs}`)).toMatchObject({ redacted: false, hop: 1 });
  });

  it("bob (lab-annotate) sees the summary, but alice's private measurement as a placeholder and nothing behind it", async () => {
    const l = await lineage('bob', 'Image:18');
    expect(
      l.nodes
        .filter((n) => !n.redacted)
        .map((n) => n.id)
        .sort(),
    ).toEqual(['Experimenter:2', 'Image:18', `WorkflowRun:${R.summary.id}`, 'Workflow:summary_plots@v1.0.0'].sort());
    expect(l.nodes.filter((n) => n.redacted).map((n) => n.type)).toEqual(['Image']);
    expect(l.redactedCount).toBe(1);
  });

  it('a hidden root reads exactly like one that does not exist', async () => {
    const hidden = await lineage('bob', `Image:${I.aliceRaw1}`);
    const missing = await lineage('bob', 'Image:987654');
    expect(hidden).toEqual(missing);
    expect(hidden).toMatchObject({ root: 'redacted:1', nodes: [{ redacted: true, type: 'Image' }], edges: [] });
  });
});

describe('asOf', () => {
  const of = `Image:${I.aliceSeg1}`;
  it('before the measurement run: no run, nothing downstream', async () => {
    const l = await lineage('alice', of, { direction: 'DOWNSTREAM', asOf: '2026-03-08T12:00:00Z' });
    expect(l.nodes.filter((n) => n.kind !== 'AGENT').map((n) => n.id)).toEqual([of]);
  });
  it('while the run ran: RUNNING, no result yet', async () => {
    const l = await lineage('alice', of, { direction: 'DOWNSTREAM', asOf: '2026-03-09T09:20:00Z' });
    expect(l.nodes.find((n) => n.id === `WorkflowRun:${R.measurement.id}`)).toMatchObject({ status: 'RUNNING', endedAt: null });
    expect(ids(l)).not.toContain('Image:17');
  });
  it('after it: COMPLETED with its result', async () => {
    const l = await lineage('alice', of, { direction: 'DOWNSTREAM', depth: 2, asOf: '2026-03-09T10:00:00Z' });
    expect(l.nodes.find((n) => n.id === `WorkflowRun:${R.measurement.id}`)).toMatchObject({ status: 'COMPLETED' });
    expect(hopOf(l, 'Image:17')).toBe(2);
  });
  it('an image that did not exist yet is not there', async () => {
    const l = await lineage('alice', 'Image:17', { asOf: '2026-03-09T09:00:00Z' });
    expect(l).toMatchObject({ root: 'redacted:1', redactedCount: 1 });
  });
});

describe('cost and limits', () => {
  it('runs at most four statements per hop (edges and admission, per database) whatever the width', async () => {
    // a run that used 300 images: the hop that reaches them is 300 nodes wide
    const wide = '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4bff';
    const task = '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7cff';
    const at = new Date('2026-03-10T10:00:00Z');
    const params = { IDs: [...Array.from({ length: 298 }, (_, i) => 100_000 + i), I.aliceRaw1, I.aliceRaw2], Data_Type: 'Image' };
    await appendEvents(biomero, [
      {
        originatorId: wide,
        version: 0,
        type: 'WorkflowRun.WorkflowInitiated',
        at,
        fields: { name: 'Slurm Workflow', description: 'wide\n2.0.1', user: 2, group: 3 },
      },
      {
        originatorId: task,
        version: 0,
        type: 'Task.TaskCreated',
        at,
        fields: { workflow_id: { _type_: 'uuid_hex', _data_: wide.replace(/-/g, '') }, task_name: 'wide', task_version: 'v1', input_data: 'x', params },
      },
      { originatorId: wide, version: 1, type: 'WorkflowRun.TaskAdded', at, fields: { task_id: { _type_: 'uuid_hex', _data_: task.replace(/-/g, '') } } },
    ]);
    const caller = await sessions.resolve(DEMO_USERS.alice.sessionUuid);
    const narrow = await walkLineage(new LineageSource(omero, biomero, caller), parseGlobalId(`WorkflowRun:${R.stardist.id}`), {
      direction: 'UPSTREAM',
      depth: 3,
    });
    const broad = await walkLineage(new LineageSource(omero, biomero, caller), parseGlobalId(`WorkflowRun:${wide}`), { direction: 'UPSTREAM', depth: 3 });
    expect(broad.nodes.length).toBeGreaterThan(300);
    for (const perHop of [narrow.statementsPerHop, broad.statementsPerHop]) {
      // [root admission, hop 1..3, agents (+ the look beyond the last hop)]
      expect(perHop).toHaveLength(5);
      for (const n of perHop.slice(0, 4)) expect(n).toBeLessThanOrEqual(4);
      expect(perHop[4]).toBeLessThanOrEqual(3);
    }
    expect(broad.statementsPerHop.reduce((a, b) => a + b)).toBeLessThanOrEqual(narrow.statementsPerHop.reduce((a, b) => a + b) + 2);
    // the 298 unknown ids become placeholders: visible-or-not is all the caller learns
    expect(broad.redactedCount).toBe(298);

    const capped = await walkLineage(new LineageSource(omero, biomero, caller), parseGlobalId(`WorkflowRun:${wide}`), {
      direction: 'UPSTREAM',
      depth: 1,
      maxNodesPerHop: 50,
    });
    expect(capped.truncated).toBe(true);
    expect(capped.nodes.filter((n) => n.hop === 1 && n.type === 'Image')).toHaveLength(50);
  });

  it('terminates on a cycle and visits each node once', async () => {
    // a run that used image 18 and whose result annotation was (wrongly) put on 18 itself
    const loop = '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4bee';
    const task = '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7cee';
    const at = new Date('2026-03-10T11:00:00Z');
    await appendEvents(biomero, [
      {
        originatorId: loop,
        version: 0,
        type: 'WorkflowRun.WorkflowInitiated',
        at,
        fields: { name: 'Slurm Workflow', description: 'loop\n2.0.1', user: 2, group: 5 },
      },
      {
        originatorId: task,
        version: 0,
        type: 'Task.TaskCreated',
        at,
        fields: {
          workflow_id: { _type_: 'uuid_hex', _data_: loop.replace(/-/g, '') },
          task_name: 'loop',
          task_version: 'v1',
          input_data: 'x',
          params: { IDs: [18], Data_Type: 'Image' },
        },
      },
      { originatorId: loop, version: 1, type: 'WorkflowRun.TaskAdded', at, fields: { task_id: { _type_: 'uuid_hex', _data_: task.replace(/-/g, '') } } },
    ]);
    await omero.query(
      `INSERT INTO annotation (discriminator, id, ns, permissions, version, owner_id, group_id, creation_id, update_id) VALUES ('/map/', 990, 'biomero/workflow', -40, 0, 2, 5, 42, 42)`,
    );
    await omero.query(`INSERT INTO annotation_mapvalue (annotation_id, index, name, value) VALUES (990, 0, 'Workflow_ID', $1)`, [loop]);
    await omero.query(
      `INSERT INTO imageannotationlink (id, parent, child, permissions, version, owner_id, group_id, creation_id, update_id) VALUES (990, 18, 990, -40, 0, 2, 5, 42, 42)`,
    );
    const l = await lineage('alice', 'Image:18', { direction: 'BOTH', depth: 20 });
    expect(new Set(l.nodes.map((n) => n.id)).size).toBe(l.nodes.length);
    expect(has(l, 'USED', `WorkflowRun:${loop}`, 'Image:18')).toBe(true);
    expect(has(l, 'WAS_GENERATED_BY', 'Image:18', `WorkflowRun:${loop}`)).toBe(true);
  });

  it.each([
    [{ of: 'Image:1', depth: 21 }, 'BAD_USER_INPUT'],
    [{ of: 'Image:1', depth: -1 }, 'BAD_USER_INPUT'],
    [{ of: 'Dataset:1', depth: 1 }, 'BAD_USER_INPUT'],
    [{ of: 'ImportOrder:not-a-uuid', depth: 1 }, 'BAD_USER_INPUT'],
    [{ of: 'Image:1', depth: 1, asOf: '2999-01-01T00:00:00Z' }, 'BAD_USER_INPUT'],
  ])('refuses %j with %s', async (vars, code) => {
    const res = await ask('alice', 'query($of: ID!, $depth: Int, $asOf: DateTime) { lineage(of: $of, depth: $depth, asOf: $asOf) { root } }', vars);
    expect(res.errors?.[0]?.extensions?.code).toBe(code);
  });
});
