import type pg from 'pg';
import type { GroupScope } from '../../common/access';
import { badInput } from '../../common/errors';
import { stageOf } from '../stages';
import { filteredOrders, type ImportOrderFilter } from './filter';

/** The most periods one statistics request may span (docs/limits.md). */
export const MAX_STATISTICS_PERIODS = 1000;

export type StatisticsPeriod = 'DAY' | 'WEEK';

export interface ImportStatistics {
  periodStart: Date;
  total: number;
  byStage: { stage: string; stageRaw: string; count: number }[];
  completed: number;
  failed: number;
  failureRate: number | null;
  medianDurationSeconds: number | null;
}

const PERIOD_MS: Record<StatisticsPeriod, number> = { DAY: 86_400_000, WEEK: 7 * 86_400_000 };

/**
 * Counts per period and current stage, and per period the median duration of finished orders,
 * in one statement (GROUPING SETS); periods are UTC days or ISO weeks of the order's creation.
 */
export async function importStatistics(pool: pg.Pool, scope: GroupScope, period: StatisticsPeriod, range: { from: Date; to: Date }, filter?: ImportOrderFilter | null): Promise<ImportStatistics[]> {
  if (!(range.from < range.to)) throw badInput('range.from must be before range.to.', 'range');
  if ((range.to.getTime() - range.from.getTime()) / PERIOD_MS[period] > MAX_STATISTICS_PERIODS) {
    throw badInput(`range spans more than ${MAX_STATISTICS_PERIODS} periods; use WEEK or a shorter range.`, 'range');
  }
  const { cte, params } = filteredOrders(scope, { ...filter, createdAfter: range.from, createdBefore: range.to });
  const n = params.length;
  const { rows } = await pool.query<{ period: Date; stage: string | null; by_stage: number; count: number; median: number | null }>(
    `WITH ${cte},
     periods AS (
       SELECT date_trunc($${n + 1}, created AT TIME ZONE 'UTC') AS period, stage,
              CASE WHEN stage IN ('Import Completed', 'Import Failed') THEN extract(epoch FROM last_timestamp - created) END AS seconds
         FROM orders)
     SELECT period, stage, GROUPING(stage) AS by_stage, count(*)::int AS count,
            percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS median
       FROM periods GROUP BY GROUPING SETS ((period, stage), (period)) ORDER BY period, stage`,
    [...params, period === 'DAY' ? 'day' : 'week'],
  );
  const byPeriod = new Map<number, ImportStatistics>();
  for (const row of rows) {
    const key = row.period.getTime();
    let stats = byPeriod.get(key);
    if (!stats) {
      stats = { periodStart: row.period, total: 0, byStage: [], completed: 0, failed: 0, failureRate: null, medianDurationSeconds: null };
      byPeriod.set(key, stats);
    }
    if (row.by_stage === 1) {
      stats.total = row.count;
      stats.medianDurationSeconds = row.median === null ? null : Number(row.median);
    } else if (row.stage !== null) {
      stats.byStage.push({ stage: stageOf(row.stage), stageRaw: row.stage, count: row.count });
      if (row.stage === 'Import Completed') stats.completed = row.count;
      if (row.stage === 'Import Failed') stats.failed = row.count;
    }
  }
  for (const stats of byPeriod.values()) {
    const finished = stats.completed + stats.failed;
    stats.failureRate = finished ? stats.failed / finished : null;
  }
  return [...byPeriod.values()];
}
