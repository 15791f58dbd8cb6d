import type pg from 'pg';
import type { GroupScope } from '../../common/access';
import { badInput } from '../../common/errors';
import { stageOf, type ImportStage } from '../stages';
import { filteredOrders, type ImportOrderFilter } from './filter';

/** The most periods one statistics request may span (docs/limits.md). */
export const MAX_STATISTICS_PERIODS = 1000;

export type StatisticsPeriod = 'DAY' | 'WEEK';
/** What a bucket is keyed by besides its period. */
export type ImportStatisticsKey = 'USER' | 'GROUP';

export interface ImportStatistics {
  periodStart: Date;
  userName: string | null;
  groupName: string | null;
  total: number;
  byStage: { stage: ImportStage; stageRaw: string; count: number }[];
  completed: number;
  failed: number;
  failureRate: number | null;
  medianDurationSeconds: number | null;
  meanDurationSeconds: number | null;
  p90DurationSeconds: number | null;
  p99DurationSeconds: number | null;
}

const PERIOD_MS: Record<StatisticsPeriod, number> = { DAY: 86_400_000, WEEK: 7 * 86_400_000 };
const KEY_COLUMNS: Record<ImportStatisticsKey, string> = { USER: 'user_name', GROUP: 'group_name' };

/**
 * Counts per period (and owner / group when asked) and current stage, and per bucket the
 * duration of finished orders (mean, p50, p90, p99), in one statement (GROUPING SETS); periods
 * are UTC days or ISO weeks of the order's creation. Every period of the range is returned for
 * every owner/group combination seen, empty ones as zero buckets.
 */
export async function importStatistics(
  pool: pg.Pool,
  scope: GroupScope,
  period: StatisticsPeriod,
  range: { from: Date; to: Date },
  filter?: ImportOrderFilter | null,
  by: readonly ImportStatisticsKey[] = [],
): Promise<ImportStatistics[]> {
  if (!(range.from < range.to)) throw badInput('range.from must be before range.to.', 'range');
  if ((range.to.getTime() - range.from.getTime()) / PERIOD_MS[period] > MAX_STATISTICS_PERIODS) {
    throw badInput(`range spans more than ${MAX_STATISTICS_PERIODS} periods; use WEEK or a shorter range.`, 'range');
  }
  const keys = [...new Set(by)].map((k) => KEY_COLUMNS[k]);
  const bucket = ['period', ...keys].join(', ');
  const { cte, params } = filteredOrders(scope, { ...filter, createdAfter: range.from, createdBefore: range.to });
  const n = params.length;
  const unit = period === 'DAY' ? 'day' : 'week';
  const { rows } = await pool.query<{
    period: Date;
    user_name?: string | null;
    group_name?: string | null;
    stage: string | null;
    by_stage: number;
    count: number;
    mean: number | null;
    p: (number | null)[] | null;
  }>(
    `WITH ${cte},
     periods AS (
       SELECT date_trunc($${n + 1}, created AT TIME ZONE 'UTC') AS period, user_name, group_name, stage,
              CASE WHEN stage IN ('Import Completed', 'Import Failed') THEN extract(epoch FROM last_timestamp - created) END AS seconds
         FROM orders)
     SELECT ${bucket}, stage, GROUPING(stage) AS by_stage, count(*)::int AS count, avg(seconds)::float8 AS mean,
            percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY seconds) AS p
       FROM periods GROUP BY GROUPING SETS ((${bucket}, stage), (${bucket})) ORDER BY ${bucket}, stage`,
    [...params, unit],
  );
  const keyOf = (userName: string | null, groupName: string | null) => JSON.stringify([userName, groupName]);
  const found = new Map<string, ImportStatistics>();
  const combos = new Map<string, [string | null, string | null]>();
  for (const row of rows) {
    const userName = row.user_name ?? null;
    const groupName = row.group_name ?? null;
    combos.set(keyOf(userName, groupName), [userName, groupName]);
    const key = `${row.period.getTime()}|${keyOf(userName, groupName)}`;
    let stats = found.get(key);
    if (!stats) found.set(key, (stats = emptyBucket(row.period, userName, groupName)));
    if (row.by_stage === 1) {
      stats.total = row.count;
      const at = (i: number) => (row.p?.[i] == null ? null : Number(row.p[i]));
      stats.medianDurationSeconds = at(0);
      stats.p90DurationSeconds = at(1);
      stats.p99DurationSeconds = at(2);
      stats.meanDurationSeconds = row.mean === null ? null : Number(row.mean);
    } else if (row.stage !== null) {
      stats.byStage.push({ stage: stageOf(row.stage), stageRaw: row.stage, count: row.count });
      if (row.stage === 'Import Completed') stats.completed = row.count;
      if (row.stage === 'Import Failed') stats.failed = row.count;
    }
  }
  for (const stats of found.values()) {
    const finished = stats.completed + stats.failed;
    stats.failureRate = finished ? stats.failed / finished : null;
  }
  // by period alone: one series, present even when no order falls in the range
  if (keys.length === 0) combos.set(keyOf(null, null), [null, null]);
  // the periods of the range, as date_trunc gives them (naive UTC, as the grouping above)
  const periods = await pool.query<{ period: Date }>(
    `SELECT generate_series(date_trunc($1, $2::timestamptz AT TIME ZONE 'UTC'), ($3::timestamptz AT TIME ZONE 'UTC') - interval '1 microsecond', ('1 ' || $1)::interval) AS period`,
    [unit, range.from, range.to],
  );
  const out: ImportStatistics[] = [];
  for (const { period: start } of periods.rows) {
    for (const [combo, [userName, groupName]] of combos) out.push(found.get(`${start.getTime()}|${combo}`) ?? emptyBucket(start, userName, groupName));
  }
  return out;
}

function emptyBucket(periodStart: Date, userName: string | null, groupName: string | null): ImportStatistics {
  return {
    periodStart,
    userName,
    groupName,
    total: 0,
    byStage: [],
    completed: 0,
    failed: 0,
    failureRate: null,
    medianDurationSeconds: null,
    meanDurationSeconds: null,
    p90DurationSeconds: null,
    p99DurationSeconds: null,
  };
}
