/**
 * importStatistics keyed by owner and group, with duration mean and percentiles and zero buckets
 * for empty periods, against a computation here from the orders listed through the API.
 */
import pg from 'pg';
import { DEMO_USERS } from '../../../database/demo/index';
import { gql, startTestStack, type TestStack } from '../../support/stack';

let stack: TestStack;
const erin = DEMO_USERS.erin.sessionUuid;
const bob = DEMO_USERS.bob.sessionUuid;
const RANGE = { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' };

beforeAll(async () => {
  stack = await startTestStack();
  // 40 orders of alice (lab-private, which bob cannot see) and bob (lab-annotate), every third day
  // of June: Pending, then Completed or Failed after a known time; every fifth still pending
  const db = new pg.Client(stack.dbs.biomeroUrl);
  await db.connect();
  try {
    await db.query(
      `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
       SELECT CASE WHEN g % 2 = 0 THEN 'lab-private' ELSE 'lab-annotate' END, CASE WHEN g % 2 = 0 THEN 'alice' ELSE 'bob' END,
              '1', 'Dataset', s.stage, md5('stats-order-' || g)::uuid::text,
              '2026-06-01T08:00:00Z'::timestamptz + (g * 3) * interval '1 day' + s.after * interval '1 second', '["/data/x.tif"]', '["x.tif"]'
         FROM generate_series(0, 39) g
        CROSS JOIN LATERAL (VALUES ('Import Pending', 0), ('Import Started', 5),
                                   (CASE WHEN g % 7 = 0 THEN 'Import Failed' ELSE 'Import Completed' END, 30 + (g * 37) % 900)) s(stage, after)
        WHERE g % 5 <> 4 OR s.stage = 'Import Pending'
        ORDER BY g, s.after`,
    );
  } finally {
    await db.end();
  }
});
afterAll(async () => {
  await stack?.stop();
});

interface Order {
  uuid: string;
  stage: string;
  createdAt: string;
  finishedAt: string | null;
  userName: string;
  groupName: string;
}

async function orders(session: string): Promise<Order[]> {
  const res = await gql(stack.gateway.url, '{ importOrders(first: 500) { nodes { uuid stage createdAt finishedAt user { userName } group { name } } } }', {
    session,
  });
  expect(res.errors).toBeUndefined();
  return (res.data as any).importOrders.nodes.map((o: any) => ({ ...o, userName: o.user.userName, groupName: o.group.name }));
}

function percentileCont(values: number[], p: number): number | null {
  if (!values.length) return null;
  const v = [...values].sort((a, b) => a - b);
  const rank = p * (v.length - 1);
  return v[Math.floor(rank)] + (v[Math.ceil(rank)] - v[Math.floor(rank)]) * (rank - Math.floor(rank));
}

const dayOf = (iso: string) => `${iso.slice(0, 10)}T00:00:00.000Z`;
const Q = `query($r: TimeRange!, $k: [ImportStatisticsKey!], $g: StatisticsPeriod) { importStatistics(groupBy: $g, range: $r, keys: $k) {
  periodStart userName groupName total completed failed failureRate medianDurationSeconds meanDurationSeconds p90DurationSeconds p99DurationSeconds } }`;

async function stats(session: string, keys: string[], period = 'DAY') {
  const res = await gql(stack.gateway.url, Q, { session, variables: { r: RANGE, k: keys, g: period } });
  expect(res.errors).toBeUndefined();
  return (res.data as any).importStatistics as any[];
}

it('per day, owner and group: counts, rates, mean and percentiles match the orders; empty days are zero buckets', async () => {
  const all = await orders(erin);
  const got = await stats(erin, ['USER', 'GROUP']);
  const combos = new Set(all.map((o) => `${o.userName}|${o.groupName}`));
  expect(combos.size).toBeGreaterThanOrEqual(2);
  expect(got).toHaveLength(365 * combos.size);
  const problems: string[] = [];
  for (const b of got) {
    const mine = all.filter((o) => dayOf(o.createdAt) === b.periodStart && o.userName === b.userName && o.groupName === b.groupName);
    const finished = mine.filter((o) => o.stage === 'COMPLETED' || o.stage === 'FAILED');
    const seconds = finished.map((o) => (Date.parse(o.finishedAt!) - Date.parse(o.createdAt)) / 1000);
    const want = {
      total: mine.length,
      completed: mine.filter((o) => o.stage === 'COMPLETED').length,
      failed: mine.filter((o) => o.stage === 'FAILED').length,
      failureRate: finished.length ? mine.filter((o) => o.stage === 'FAILED').length / finished.length : null,
      meanDurationSeconds: seconds.length ? seconds.reduce((a, c) => a + c, 0) / seconds.length : null,
      medianDurationSeconds: percentileCont(seconds, 0.5),
      p90DurationSeconds: percentileCont(seconds, 0.9),
      p99DurationSeconds: percentileCont(seconds, 0.99),
    };
    for (const [k, v] of Object.entries(want)) {
      const actual = b[k];
      if (v === null ? actual !== null : Math.abs(actual - v) > 1e-6) problems.push(`${b.periodStart} ${b.userName} ${k}: ${actual} ≠ ${v}`);
    }
  }
  expect(problems).toEqual([]);
  expect(got.reduce((n, b) => n + b.total, 0)).toBe(all.filter((o) => o.createdAt >= RANGE.from && o.createdAt < '2027').length);
  // a day with several finished orders shows real percentiles
  expect(got.some((b) => b.p90DurationSeconds !== null && b.total > 0)).toBe(true);
});

it('by period alone: every week of the range, summed over owners; only visible orders count', async () => {
  const weeks = await stats(erin, [], 'WEEK');
  expect(weeks.length).toBeGreaterThanOrEqual(52);
  expect(weeks.every((b) => b.userName === null && b.groupName === null)).toBe(true);
  expect(weeks.some((b) => b.total === 0)).toBe(true);
  const bobs = await stats(bob, ['USER']);
  const seen = await orders(bob);
  expect(bobs.reduce((n, b) => n + b.total, 0)).toBe(seen.filter((o) => o.createdAt >= RANGE.from && o.createdAt < '2027').length);
  // alice's lab-private orders are not bob's to count
  const aliceInPrivate = bobs.filter((b) => b.userName === 'alice').reduce((n, b) => n + b.total, 0);
  expect(aliceInPrivate).toBe(seen.filter((o) => o.userName === 'alice').length);
  expect(seen.some((o) => o.groupName === 'lab-private')).toBe(false);
});
