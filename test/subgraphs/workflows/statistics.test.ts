/**
 * workflowStatistics (SQL over the event store) against an independent computation here, from the
 * folded runs fetched through the API (their tasks, jobs and times, not the new summary fields);
 * the new run fields and the filter additions on workflowRuns and workflowRunUpdated.
 */
import pg from 'pg';
import { appendEvents } from '../../../database/demo/workflows';
import { generateStatisticsRuns, queueSeconds, runSeconds, WORKFLOWS } from '../../bench/statistics-world';
import { collect, gql, startWorkflows, wsClient, type DemoUser, type WorkflowsService } from './support';

const FROM = new Date('2026-06-01T00:00:00Z');
/** 30 h apart: every few days a day with no generated run */
const SPACING = 30 * 3600;
const RUNS = 80;
const YEAR = { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' };

let stack: WorkflowsService;
beforeAll(async () => {
  stack = await startWorkflows({ slurm: null });
  const db = new pg.Client(stack.dbs.biomeroUrl);
  await db.connect();
  try {
    // alice in private group 3 (dave, a member, may not see them), bob in group 5
    await generateStatisticsRuns(db, {
      runs: RUNS,
      from: FROM,
      spacingSeconds: SPACING,
      owners: [
        { user: 2, group: 3 },
        { user: 3, group: 5 },
      ],
      tag: 'stats-test',
    });
  } finally {
    await db.end();
  }
});
afterAll(async () => {
  await stack?.stop();
});

async function query<T = any>(q: string, user: DemoUser, variables: Record<string, unknown> = {}): Promise<T> {
  const res = await gql(stack.url, q, user, variables);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return res.data as T;
}

interface ApiRun {
  id: string;
  status: string;
  createdAt: string;
  finishedAt: string | null;
  user: { id: string } | null;
  group: { id: string } | null;
  tasks: { id: string; name: string; version: string | null; slurmJobs: { submittedAt: string | null; startedAt: string | null; endedAt: string | null }[] }[];
}

const RUN_FIELDS = 'id status createdAt finishedAt user { id } group { id } tasks { id name version slurmJobs { submittedAt startedAt endedAt } }';

/** Every run `user` may see, paged through workflowRuns. */
async function allRuns(user: DemoUser, filter: Record<string, unknown> = {}): Promise<ApiRun[]> {
  const out: ApiRun[] = [];
  let after: string | null = null;
  for (;;) {
    const data: any = await query(
      `query($a: String, $f: WorkflowRunFilter) { workflowRuns(first: 200, after: $a, filter: $f) { pageInfo { hasNextPage endCursor } nodes { ${RUN_FIELDS} } } }`,
      user,
      { a: after, f: filter },
    );
    out.push(...data.workflowRuns.nodes);
    if (!data.workflowRuns.pageInfo.hasNextPage) return out;
    after = data.workflowRuns.pageInfo.endCursor;
  }
}

// ---- the independent computation -------------------------------------------------------------

const seconds = (a: string | null | undefined, b: string | null | undefined) => (a && b ? (Date.parse(b) - Date.parse(a)) / 1000 : null);

/** BIOMERO's main_task_name: the first task not one of its own steps, else the last. */
function workflowTask(run: ApiRun) {
  return run.tasks.find((t) => !/^(_slurm_|slurm_|convert_)/i.test(t.name)) ?? run.tasks.at(-1) ?? null;
}

function facts(run: ApiRun) {
  const task = workflowTask(run);
  const job = task?.slurmJobs[0];
  return {
    workflow: task?.name ?? null,
    workflowVersion: task?.version ?? null,
    user: run.user?.id ?? null,
    group: run.group?.id ?? null,
    status: run.status,
    queued: seconds(job?.submittedAt, job?.startedAt),
    running: seconds(job?.startedAt, job?.endedAt),
    total: run.status === 'DONE' || run.status === 'FAILED' ? seconds(run.createdAt, run.finishedAt) : null,
    jobs: run.tasks.reduce((n, t) => n + t.slurmJobs.length, 0),
  };
}

/** PostgreSQL percentile_cont: linear interpolation between the closest ranks. */
function percentileCont(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = p * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - lo);
}

function durations(values: (number | null)[]) {
  const v = values.filter((x): x is number => x !== null);
  return {
    count: v.length,
    mean: v.length ? v.reduce((a, b) => a + b, 0) / v.length : null,
    p50: percentileCont(v, 0.5),
    p90: percentileCont(v, 0.9),
    p99: percentileCont(v, 0.99),
  };
}

function startOf(period: 'DAY' | 'WEEK' | 'MONTH', iso: string): string {
  const d = new Date(iso);
  const day = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), period === 'MONTH' ? 1 : d.getUTCDate()));
  if (period === 'WEEK') day.setUTCDate(day.getUTCDate() - ((day.getUTCDay() + 6) % 7));
  return day.toISOString();
}

type Key = 'PERIOD' | 'WORKFLOW' | 'WORKFLOW_VERSION' | 'USER' | 'GROUP' | 'STATUS';

/** The buckets workflowStatistics should give, keyed like bucketKey(). */
function expected(runs: ApiRun[], keys: Key[], period: 'DAY' | 'WEEK' | 'MONTH', range: { from: string; to: string }) {
  const inRange = runs.filter((r) => r.createdAt >= new Date(range.from).toISOString() && r.createdAt < new Date(range.to).toISOString());
  const groups = new Map<string, ReturnType<typeof facts>[]>();
  for (const run of inRange) {
    const f = facts(run);
    const k = keyOf({
      periodStart: keys.includes('PERIOD') ? startOf(period, run.createdAt) : null,
      workflow: keys.includes('WORKFLOW') ? f.workflow : null,
      workflowVersion: keys.includes('WORKFLOW_VERSION') ? f.workflowVersion : null,
      user: keys.includes('USER') && f.user ? { id: f.user } : null,
      group: keys.includes('GROUP') && f.group ? { id: f.group } : null,
      status: keys.includes('STATUS') ? f.status : null,
    });
    groups.set(k, [...(groups.get(k) ?? []), f]);
  }
  return new Map(
    [...groups].map(([k, fs]) => {
      const count = (s: string) => fs.filter((f) => f.status === s).length;
      const byStatus = [...new Set(fs.map((f) => f.status))]
        .map((status) => ({ status, count: count(status) }))
        .sort((a, b) => a.status.localeCompare(b.status));
      const finished = count('DONE') + count('FAILED');
      return [
        k,
        {
          runs: fs.length,
          byStatus,
          succeeded: count('DONE'),
          failed: count('FAILED'),
          successRate: finished ? count('DONE') / finished : null,
          failureRate: finished ? count('FAILED') / finished : null,
          queueWait: durations(fs.map((f) => f.queued)),
          runTime: durations(fs.map((f) => f.running)),
          total: durations(fs.map((f) => f.total)),
          slurmJobs: fs.reduce((n, f) => n + f.jobs, 0),
        },
      ];
    }),
  );
}

function keyOf(b: {
  periodStart: string | null;
  workflow: string | null;
  workflowVersion: string | null;
  user: { id: string } | null;
  group: { id: string } | null;
  status: string | null;
}): string {
  return JSON.stringify([b.periodStart, b.workflow, b.workflowVersion, b.user?.id ?? null, b.group?.id ?? null, b.status]);
}

const DURATION = '{ count mean p50 p90 p99 }';
const BUCKET = `periodStart workflow workflowVersion user { id } group { id } status runs byStatus { status count } succeeded failed successRate failureRate
  queueWait ${DURATION} runTime ${DURATION} total ${DURATION} slurmJobs`;
const STATS = `query($r: TimeRange!, $g: [WorkflowStatisticsKey!]!, $p: WorkflowStatisticsPeriod, $f: WorkflowRunFilter) {
  workflowStatistics(range: $r, groupBy: $g, period: $p, filter: $f) { ${BUCKET} } }`;

/** Where `actual` differs from `wanted` (numbers to 6 decimals), as paths: one assertion per check, not one per value. */
function differences(actual: any, wanted: any, path: string, out: string[]): void {
  if (typeof wanted === 'number') {
    if (typeof actual !== 'number' || Math.abs(actual - wanted) > 1e-6) out.push(`${path}: ${actual} ≠ ${wanted}`);
  } else if (wanted && typeof wanted === 'object') {
    if (Array.isArray(wanted) && actual?.length !== wanted.length) out.push(`${path}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(wanted)}`);
    for (const k of Object.keys(wanted)) differences(actual?.[k], wanted[k], `${path}.${k}`, out);
  } else if (actual !== wanted) {
    out.push(`${path}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(wanted)}`);
  }
}

const ZERO = {
  runs: 0,
  byStatus: [],
  succeeded: 0,
  failed: 0,
  successRate: null,
  failureRate: null,
  slurmJobs: 0,
  queueWait: { count: 0, mean: null, p50: null, p90: null, p99: null },
  total: { count: 0, mean: null },
};

/** Every bucket against the computation; buckets with no runs must be zero ones, only with PERIOD. */
async function check(user: DemoUser, keys: Key[], period: 'DAY' | 'WEEK' | 'MONTH', range = YEAR, filter: Record<string, unknown> = {}) {
  const runs = await allRuns(user, filter);
  const want = expected(runs, keys, period, range);
  const { workflowStatistics: got } = await query(STATS, user, { r: range, g: keys, p: period, f: filter });
  const seen = new Set<string>();
  const problems: string[] = [];
  for (const bucket of got) {
    const k = keyOf(bucket);
    if (seen.has(k)) problems.push(`${k}: twice`);
    seen.add(k);
    const w = want.get(k);
    if (w) differences({ ...bucket, byStatus: [...bucket.byStatus].sort((a: any, b: any) => a.status.localeCompare(b.status)) }, w, k, problems);
    else if (!keys.includes('PERIOD')) problems.push(`${k}: not expected`);
    else differences(bucket, ZERO, k, problems);
  }
  for (const k of want.keys()) if (!seen.has(k)) problems.push(`${k}: missing`);
  expect(problems).toEqual([]);
  return { got, want, runs };
}

// ---- the tests --------------------------------------------------------------------------------

describe('workflowStatistics', () => {
  it('a year of daily buckets by workflow × status matches the folded runs, gaps filled with zero buckets', async () => {
    const { got, want } = await check('erin', ['PERIOD', 'WORKFLOW', 'STATUS'], 'DAY');
    expect(want.size).toBeGreaterThan(30);
    // every day of the year, once per workflow × status combination seen
    const combos = new Set(got.map((b: any) => JSON.stringify([b.workflow, b.status])));
    const days = new Set(got.map((b: any) => b.periodStart));
    expect(days.size).toBe(365);
    expect(got.length).toBe(365 * combos.size);
    expect([...days].sort()[0]).toBe('2026-01-01T00:00:00.000Z');
    // the generated workflows and outcomes are all there, with real durations
    for (const w of WORKFLOWS) expect(combos.has(JSON.stringify([w, 'DONE']))).toBe(true);
    expect(combos.has(JSON.stringify(['cellpose', 'JOB_PENDING'])) || combos.has(JSON.stringify(['stardist', 'JOB_PENDING']))).toBe(true);
    expect(got.some((b: any) => b.queueWait.count > 0 && b.runTime.p99 > 0 && b.total.mean > 0)).toBe(true);
  });

  it('by period alone: one bucket per day even with no run in the range', async () => {
    const empty = { from: '2030-01-01T00:00:00Z', to: '2030-01-08T00:00:00Z' };
    const { workflowStatistics } = await query(STATS, 'erin', { r: empty, g: ['PERIOD'], p: 'DAY' });
    expect(workflowStatistics.map((b: any) => [b.periodStart, b.runs])).toEqual([1, 2, 3, 4, 5, 6, 7].map((d) => [`2030-01-0${d}T00:00:00.000Z`, 0]));
    await check('erin', ['PERIOD'], 'DAY', { from: '2026-06-01T00:00:00Z', to: '2026-07-01T00:00:00Z' });
  });

  it('weeks (from Monday) and months, by owner, group and version', async () => {
    await check('erin', ['PERIOD', 'USER'], 'WEEK');
    const { got } = await check('carol', ['PERIOD', 'GROUP', 'WORKFLOW_VERSION'], 'MONTH');
    expect(new Set(got.map((b: any) => b.periodStart)).size).toBe(12);
    for (const b of got) expect(new Date(b.periodStart).getUTCDate()).toBe(1);
    const { got: weeks } = await check('erin', ['PERIOD'], 'WEEK', { from: '2026-06-01T00:00:00Z', to: '2026-09-01T00:00:00Z' });
    for (const b of weeks) expect(new Date(b.periodStart).getUTCDay()).toBe(1);
  });

  it('no keys: one bucket over the range; the filter narrows it as it narrows workflowRuns', async () => {
    const { got } = await check('erin', [], 'DAY');
    expect(got).toHaveLength(1);
    expect(got[0].runs).toBeGreaterThan(RUNS);
    const filtered = await check('erin', ['STATUS'], 'DAY', YEAR, { workflow: 'CellPose', version: 'v1.1.0', statuses: ['DONE', 'FAILED', 'JOB_RUNNING'] });
    expect(filtered.runs.length).toBeGreaterThan(0);
    expect(filtered.runs.length).toBeLessThan(RUNS / 4);
    await check('erin', ['USER'], 'DAY', YEAR, { groupId: '5' });
  });

  it('counts only runs the caller may see', async () => {
    const all = (await check('erin', ['USER'], 'DAY')).got;
    const dave = (await check('dave', ['USER'], 'DAY')).got;
    const runsOf = (buckets: any[], user: string) => buckets.find((b) => b.user?.id === user)?.runs ?? 0;
    expect(runsOf(all, '2')).toBeGreaterThan(RUNS / 2 - 1); // alice's runs, in private group 3
    expect(runsOf(dave, '2')).toBe(0);
    expect(dave.reduce((n: number, b: any) => n + b.runs, 0)).toBe((await allRuns('dave')).length);
    await check('alice', ['PERIOD', 'WORKFLOW'], 'WEEK');
  });

  it('refuses a range over the limit, an empty range and bad filter ids with BAD_USER_INPUT', async () => {
    const codeOf = async (variables: Record<string, unknown>) => (await gql(stack.url, STATS, 'erin', variables)).errors?.[0]?.extensions?.code;
    expect(await codeOf({ r: { from: '2026-01-01T00:00:00Z', to: '2029-01-01T00:00:00Z' }, g: ['PERIOD'], p: 'DAY' })).toBe('BAD_USER_INPUT');
    expect(await codeOf({ r: { from: '2026-01-01T00:00:00Z', to: '2029-01-01T00:00:00Z' }, g: ['PERIOD'], p: 'WEEK' })).toBeUndefined();
    expect(await codeOf({ r: { from: '2026-02-01T00:00:00Z', to: '2026-02-01T00:00:00Z' }, g: [] })).toBe('BAD_USER_INPUT');
    expect(await codeOf({ r: YEAR, g: [], f: { ids: ['not-a-uuid'] } })).toBe('BAD_USER_INPUT');
    expect(await codeOf({ r: YEAR, g: ['NOPE'] })).toBe('BAD_USER_INPUT');
  });
});

describe('workflowStatisticsTable', () => {
  const COLUMNS = `{ length periodStart workflow workflowVersion userId groupId status runs byStatus { status counts } succeeded failed successRate failureRate
    queueWait ${DURATION} runTime ${DURATION} total ${DURATION} slurmJobs }`;
  const TABLE = `query($r: TimeRange!, $g: [WorkflowStatisticsKey!]!, $p: WorkflowStatisticsPeriod, $f: WorkflowRunFilter) {
    workflowStatisticsTable(range: $r, groupBy: $g, period: $p, filter: $f) ${COLUMNS} }`;

  /** The table read back as buckets: entry i of every column is bucket i. */
  function rows(table: any): any[] {
    const durations = (d: any, i: number) => ({ count: d.count[i], mean: d.mean[i], p50: d.p50[i], p90: d.p90[i], p99: d.p99[i] });
    return Array.from({ length: table.length }, (_, i) => ({
      periodStart: table.periodStart[i],
      workflow: table.workflow[i],
      workflowVersion: table.workflowVersion[i],
      user: table.userId[i] === null ? null : { id: table.userId[i] },
      group: table.groupId[i] === null ? null : { id: table.groupId[i] },
      status: table.status[i],
      runs: table.runs[i],
      byStatus: table.byStatus.filter((c: any) => c.counts[i] > 0).map((c: any) => ({ status: c.status, count: c.counts[i] })),
      succeeded: table.succeeded[i],
      failed: table.failed[i],
      successRate: table.successRate[i],
      failureRate: table.failureRate[i],
      queueWait: durations(table.queueWait, i),
      runTime: durations(table.runTime, i),
      total: durations(table.total, i),
      slurmJobs: table.slurmJobs[i],
    }));
  }

  it.each<[DemoUser, Key[], 'DAY' | 'WEEK' | 'MONTH', Record<string, unknown>]>([
    ['erin', ['PERIOD', 'WORKFLOW', 'STATUS'], 'DAY', {}],
    ['carol', ['PERIOD', 'GROUP', 'WORKFLOW_VERSION'], 'MONTH', {}],
    ['erin', ['USER'], 'DAY', { groupId: '5' }],
    ['dave', [], 'DAY', {}],
  ])('as %s by %j per %s: the buckets of workflowStatistics, in their order, as columns of one length', async (user, keys, period, filter) => {
    const variables = { r: YEAR, g: keys, p: period, f: filter };
    const [{ workflowStatistics: buckets }, { workflowStatisticsTable: table }] = await Promise.all([
      query(STATS, user, variables),
      query(TABLE, user, variables),
    ]);
    expect(table.length).toBe(buckets.length);
    for (const column of [table.periodStart, table.runs, table.status, table.total.p99, ...table.byStatus.map((c: any) => c.counts)]) {
      expect(column).toHaveLength(buckets.length);
    }
    const byStatusSorted = (b: any) => ({ ...b, byStatus: [...b.byStatus].sort((x: any, y: any) => x.status.localeCompare(y.status)) });
    expect(rows(table).map(byStatusSorted)).toEqual(buckets.map(byStatusSorted));
    // a column per status that has runs somewhere, never an empty one
    for (const c of table.byStatus) expect(c.counts.some((n: number) => n > 0)).toBe(true);
  });
});

describe('run fields and filters', () => {
  const generated = async () => (await allRuns('erin')).filter((r) => r.createdAt >= FROM.toISOString()).sort((a, b) => a.createdAt.localeCompare(b.createdAt));

  it('workflow, workflowVersion, currentTask, durationSeconds, queuedSeconds and lastModified', async () => {
    const runs = await generated();
    expect(runs).toHaveLength(RUNS);
    const ids = runs.map((r) => r.id);
    const { workflowRuns } = await query(
      `query($f: WorkflowRunFilter) { workflowRuns(first: 200, filter: $f) { nodes { id createdAt finishedAt status workflow workflowVersion currentTask { name } durationSeconds queuedSeconds lastModified events(first: 100) { nodes { timestamp } } } } }`,
      'erin',
      { f: { ids } },
    );
    const byId = new Map(workflowRuns.nodes.map((n: any) => [n.id, n]));
    expect(byId.size).toBe(RUNS);
    runs.forEach((run, r) => {
      const n: any = byId.get(run.id);
      expect(n.workflow).toBe(WORKFLOWS[r % 4]);
      expect(n.workflowVersion).toBe(`v1.${r % 3}.0`);
      const finished = r % 10 !== 1 && r % 10 !== 2;
      expect(n.currentTask.name).toBe(finished && r % 10 !== 0 ? 'SLURM_Import_Results.py' : WORKFLOWS[r % 4]);
      expect(n.queuedSeconds).toBe(r % 10 === 2 ? null : queueSeconds(r));
      expect(n.durationSeconds).toBe(finished ? seconds(n.createdAt, n.finishedAt) : null);
      if (r % 10 === 3) expect(n.durationSeconds).toBe(53 + queueSeconds(r) + runSeconds(r) + 40);
      const last = n.events.nodes
        .map((e: any) => e.timestamp)
        .sort()
        .at(-1);
      expect(n.lastModified).toBe(last);
    });
  });

  it('workflowRuns filters by workflow, version and ids', async () => {
    const runs = await generated();
    const all = await allRuns('erin');
    const ids = async (f: Record<string, unknown>) => (await allRuns('erin', f)).map((r) => r.id).sort();
    expect(await ids({ workflow: 'STARDIST' })).toEqual(
      all
        .filter((r) => workflowTask(r)?.name === 'stardist')
        .map((r) => r.id)
        .sort(),
    );
    expect(await ids({ version: 'v1.2.0' })).toEqual(
      all
        .filter((r) => workflowTask(r)?.version === 'v1.2.0')
        .map((r) => r.id)
        .sort(),
    );
    expect(await ids({ workflow: 'cellpose', version: 'v1.2.0' })).toEqual(
      all
        .filter((r) => workflowTask(r)?.name === 'cellpose' && workflowTask(r)?.version === 'v1.2.0')
        .map((r) => r.id)
        .sort(),
    );
    expect(await ids({ ids: [runs[0].id, runs[5].id] })).toEqual([runs[0].id, runs[5].id].sort());
    expect(await ids({ ids: [] })).toEqual([]);
    const count = await query(`query($f: WorkflowRunFilter) { workflowRuns(filter: $f) { totalCount } }`, 'erin', { f: { workflow: 'stardist' } });
    expect(count.workflowRuns.totalCount).toBe((await ids({ workflow: 'stardist' })).length);
    const bad = await gql(stack.url, '{ workflowRuns(filter: { ids: ["x"] }) { totalCount } }', 'erin');
    expect(bad.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('workflowRunUpdated applies workflow, version and ids', async () => {
    const runs = await generated();
    // still running (r % 10 === 1): r = 1 cellpose... pick two unfinished runs of different workflows
    const running = runs.filter((_, r) => r % 10 === 1); // r = 1 (stardist), 11 (cellprofiler), 21 (stardist), …
    const [a, b] = [running[0], running[1]];
    const task = (run: ApiRun) => workflowTask(run)!;
    const client = wsClient(stack.url, 'erin');
    const writer = new pg.Client(stack.dbs.biomeroUrl);
    await writer.connect();
    try {
      const q = 'subscription($f: WorkflowRunFilter) { workflowRunUpdated(filter: $f) { event { type } run { id workflow } } }';
      const byWorkflow = collect(client, q, { f: { workflow: task(b).name, version: task(b).version } }, (e) => e.length === 1);
      const byId = collect(client, q, { f: { ids: [a.id] } }, (e) => e.length === 1);
      await new Promise((r) => setTimeout(r, 300));
      const next = async (id: string) =>
        (await writer.query('SELECT max(originator_version) + 1 AS v FROM workflowtracker_events WHERE originator_id = $1', [id])).rows[0].v;
      await appendEvents(writer, [{ originatorId: task(a).id, version: await next(task(a).id), type: 'Task.ProgressUpdated', fields: { progress: '10%' } }]);
      await appendEvents(writer, [{ originatorId: task(b).id, version: await next(task(b).id), type: 'Task.ProgressUpdated', fields: { progress: '20%' } }]);
      const [gotB] = await byWorkflow;
      const [gotA] = await byId;
      expect(gotB.run.id).toBe(b.id);
      expect(gotA.run.id).toBe(a.id);
      expect(task(a).name).not.toBe(task(b).name);
      const bad = await collect(client, q, { f: { ids: ['x'] } }, () => true).catch((e) => e.code);
      expect(bad).toBe('BAD_USER_INPUT');
    } finally {
      await writer.end();
      await client.dispose();
    }
  });
});
