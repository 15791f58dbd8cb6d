import pg from 'pg';
import { DEMO, DEMO_USERS } from '../../../database/demo/index';
import { startSubgraph } from '../../../subgraphs/common/server';
import { importsSubgraph } from '../../../subgraphs/imports/index';
import { gql, startTestStack, TEST_SECRET, type TestStack } from '../../support/stack';

const erin = DEMO_USERS.erin.sessionUuid; // admin
const alice = DEMO_USERS.alice.sessionUuid;
const bob = DEMO_USERS.bob.sessionUuid;

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => {
  await stack?.stop();
});

const ORDER = `uuid stage stageRaw description createdAt finishedAt durationSeconds files fileNames
  destinationType destinationId destination { __typename ... on Dataset { id } ... on Screen { id } }
  user { userName } group { name }
  preprocessing { container image tag inputFile outputFolder altOutputFolder extraParams }
  history { stageRaw cursor }
  importedObjects { __typename ... on Image { id } ... on Plate { id } }`;

async function order(uuid: string, session: string = erin) {
  const res = await gql(stack.gateway.url, `query($u: ID!) { importOrder(uuid: $u) { ${ORDER} } }`, { session, variables: { u: uuid } });
  expect(res.errors).toBeUndefined();
  return res.data.importOrder;
}

async function biomero<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
  const db = new pg.Client(stack.dbs.biomeroUrl);
  await db.connect();
  try {
    return (await db.query<T>(sql, params)).rows;
  } finally {
    await db.end();
  }
}

describe('the fold of stage rows', () => {
  it('a completed order: its stages, files, destination, people and the images annotated with its UUID', async () => {
    const o = await order(DEMO.importOrders.completed);
    expect(o).toMatchObject({
      stage: 'COMPLETED',
      stageRaw: 'Import Completed',
      destinationType: 'Dataset',
      destination: { __typename: 'Dataset', id: String(DEMO.datasets.aliceRaw) },
      user: { userName: 'alice' },
      group: { name: 'lab-private' },
      preprocessing: null,
    });
    expect(o.history.map((h: { stageRaw: string }) => h.stageRaw)).toEqual(['Import Pending', 'Import Started', 'Import Completed']);
    expect(o.files.length).toBe(o.fileNames.length);
    expect(o.importedObjects).toEqual([
      { __typename: 'Image', id: String(DEMO.images.aliceRaw1) },
      { __typename: 'Image', id: String(DEMO.images.aliceRaw2) },
    ]);
    expect(o.durationSeconds).toBeCloseTo((Date.parse(o.finishedAt) - Date.parse(o.createdAt)) / 1000, 3);
  });

  it('an order with preprocessing, imported under the old omeroadi.import namespace', async () => {
    const o = await order(DEMO.importOrders.preprocessed);
    expect(o.history.map((h: { stageRaw: string }) => h.stageRaw)).toEqual(['Import Pending', 'Import Started', 'Import Preprocessing', 'Import Completed']);
    expect(o.preprocessing).toEqual({
      container: 'cellularimagingcf/convertleica-docker:v1.3.1',
      image: 'cellularimagingcf/convertleica-docker',
      tag: 'v1.3.1',
      inputFile: '{Files}',
      outputFolder: '/data',
      altOutputFolder: '/out',
      extraParams: { saveoption: 'single' },
    });
    expect(o.importedObjects.map((x: { id: string }) => Number(x.id))).toEqual([DEMO.images.aliceRaw3, DEMO.images.aliceRaw4]);
  });

  it('failed, pending and running orders; a screen order produced a plate', async () => {
    const failed = await order(DEMO.importOrders.failed);
    expect(failed.stage).toBe('FAILED');
    expect(failed.description).toEqual(expect.any(String));
    expect(failed.finishedAt).not.toBeNull();
    const pending = await order(DEMO.importOrders.pending);
    expect(pending).toMatchObject({ stage: 'PENDING', fileNames: [], finishedAt: null, importedObjects: [] });
    const started = await order(DEMO.importOrders.started);
    expect(started).toMatchObject({ stage: 'STARTED', finishedAt: null });
    expect(started.durationSeconds).toBeGreaterThan(0);
    const screen = await order(DEMO.importOrders.screen);
    expect(screen.destination).toEqual({ __typename: 'Screen', id: String(DEMO.screens.drugScreen) });
    expect(screen.importedObjects).toEqual([{ __typename: 'Plate', id: String(DEMO.plates.plate1) }]);
  });

  it('keeps an unknown future stage readable, with its raw string', async () => {
    await biomero(
      `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
      SELECT group_name, user_name, destination_id, destination_type, 'Import Postprocessing', uuid, now(), files, file_names FROM imports WHERE uuid = $1 ORDER BY id DESC LIMIT 1`,
      [DEMO.importOrders.started],
    );
    const o = await order(DEMO.importOrders.started);
    expect(o).toMatchObject({ stage: 'UNKNOWN', stageRaw: 'Import Postprocessing', finishedAt: null });
  });

  it('reads a database whose imports table predates import_options and description', async () => {
    // a fresh subgraph process would see the old layout from its start: restart it on the same port
    await biomero('ALTER TABLE imports DROP COLUMN import_options, DROP COLUMN description');
    const imports = stack.subgraphs.imports;
    await imports.stop();
    stack.subgraphs.imports = await startSubgraph(importsSubgraph({ databaseUrl: stack.dbs.biomeroUrl }), {
      port: imports.port,
      host: '127.0.0.1',
      secret: TEST_SECRET,
    });
    const o = await order(DEMO.importOrders.completed);
    expect(o).toMatchObject({ stage: 'COMPLETED', description: null });
    const list = await gql(stack.gateway.url, '{ importOrders(first: 500) { totalCount } }', { session: erin });
    expect(list.data.importOrders.totalCount).toBe(Object.keys(DEMO.importOrders).length);
  });

  it('lists source files as entities that lead back to the orders naming them', async () => {
    const res = await gql(stack.gateway.url, `query($u: ID!) { importOrder(uuid: $u) { files sourceFiles { path name importOrders { uuid } } } }`, {
      session: alice,
      variables: { u: DEMO.importOrders.completed },
    });
    const o = res.data.importOrder;
    expect(o.sourceFiles.map((f: { path: string }) => f.path)).toEqual(o.files);
    expect(o.sourceFiles[0].name).toBe(o.files[0].split('/').pop());
    expect(o.sourceFiles[0].importOrders.map((x: { uuid: string }) => x.uuid)).toContain(DEMO.importOrders.completed);
  });
});

describe('lists, filters and statistics', () => {
  const list = async (filter: Record<string, unknown>, session: string = erin) => {
    const res = await gql(
      stack.gateway.url,
      'query($f: ImportOrderFilter) { importOrders(filter: $f, first: 500) { totalCount nodes { uuid stage createdAt finishedAt } } }',
      { session, variables: { f: filter } },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data.importOrders.totalCount).toBe(res.data.importOrders.nodes.length);
    return res.data.importOrders.nodes as { uuid: string; stage: string; createdAt: string; finishedAt: string | null }[];
  };
  const uuids = (nodes: { uuid: string }[]) => nodes.map((n) => n.uuid).sort();

  it('filters by stage, user, group, destination, creation time and file name', async () => {
    expect(uuids(await list({ stages: ['FAILED'] }))).toEqual([DEMO.importOrders.failed]);
    expect(uuids(await list({ stages: ['PENDING', 'FAILED'] }))).toEqual([DEMO.importOrders.failed, DEMO.importOrders.pending].sort());
    expect(uuids(await list({ userName: 'bob' }))).toEqual([DEMO.importOrders.failed, DEMO.importOrders.pending].sort());
    expect(uuids(await list({ groupName: 'lab-annotate' }))).toEqual([DEMO.importOrders.pending, DEMO.importOrders.screen].sort());
    expect(uuids(await list({ destination: { type: 'SCREEN', id: String(DEMO.screens.drugScreen) } }))).toEqual([DEMO.importOrders.screen]);
    const all = await list({});
    const times = all.map((n) => Date.parse(n.createdAt)).sort((a, b) => a - b);
    const middle = new Date(times[Math.floor(times.length / 2)]).toISOString();
    expect((await list({ createdAfter: middle })).every((n) => Date.parse(n.createdAt) >= Date.parse(middle))).toBe(true);
    expect((await list({ createdAfter: middle })).length + (await list({ createdBefore: middle })).length).toBe(all.length);
    const completed = await order(DEMO.importOrders.completed);
    const needle = completed.fileNames[0].toUpperCase();
    expect(uuids(await list({ fileNameContains: needle }))).toContain(DEMO.importOrders.completed);
    expect(await list({ fileNameContains: 'no-such-file-%_' })).toEqual([]);
  });

  it('applies the caller’s visibility to lists and filters alike', async () => {
    expect(uuids(await list({ userName: 'alice' }, bob))).toEqual([DEMO.importOrders.screen]);
    expect(await list({ groupName: 'lab-private' }, bob)).toEqual([]);
  });

  it('counts orders per day and stage with failure rate and median duration, matching the orders themselves', async () => {
    const all = await list({});
    const res = await gql(
      stack.gateway.url,
      `query($r: TimeRange!) { importStatistics(groupBy: DAY, range: $r) { periodStart total completed failed failureRate medianDurationSeconds byStage { stage count } } }`,
      {
        session: erin,
        variables: { r: { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' } },
      },
    );
    expect(res.errors).toBeUndefined();
    const stats = res.data.importStatistics as {
      periodStart: string;
      total: number;
      completed: number;
      failed: number;
      failureRate: number | null;
      medianDurationSeconds: number | null;
      byStage: { stage: string; count: number }[];
    }[];
    expect(stats.reduce((n, s) => n + s.total, 0)).toBe(all.length);
    for (const s of stats) {
      const day = all.filter((o) => o.createdAt.slice(0, 10) === s.periodStart.slice(0, 10));
      expect(s.total).toBe(day.length);
      expect(s.byStage.reduce((n, b) => n + b.count, 0)).toBe(s.total);
      const finished = day.filter((o) => o.stage === 'COMPLETED' || o.stage === 'FAILED');
      expect(s.completed + s.failed).toBe(finished.length);
      expect(s.failureRate).toBe(finished.length ? s.failed / finished.length : null);
      const durations = finished.map((o) => (Date.parse(o.finishedAt!) - Date.parse(o.createdAt)) / 1000).sort((a, b) => a - b);
      const median =
        durations.length === 0
          ? null
          : durations.length % 2
            ? durations[(durations.length - 1) / 2]
            : (durations[durations.length / 2 - 1] + durations[durations.length / 2]) / 2;
      if (median === null) expect(s.medianDurationSeconds).toBeNull();
      else expect(s.medianDurationSeconds).toBeCloseTo(median, 2);
    }
  });

  it('refuses statistics over too many periods or an empty range', async () => {
    const q = 'query($r: TimeRange!, $g: StatisticsPeriod) { importStatistics(groupBy: $g, range: $r) { total } }';
    const tooLong = await gql(stack.gateway.url, q, {
      session: erin,
      variables: { g: 'DAY', r: { from: '2020-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } },
    });
    expect(tooLong.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
    const weekly = await gql(stack.gateway.url, q, {
      session: erin,
      variables: { g: 'WEEK', r: { from: '2020-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } },
    });
    expect(weekly.errors).toBeUndefined();
    const backwards = await gql(stack.gateway.url, q, {
      session: erin,
      variables: { g: 'DAY', r: { from: '2026-02-01T00:00:00Z', to: '2026-01-01T00:00:00Z' } },
    });
    expect(backwards.errors?.[0].extensions?.code).toBe('BAD_USER_INPUT');
  });
});
