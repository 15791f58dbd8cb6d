import type pg from 'pg';
import { groupScopeParams, groupScopeSql, type GroupScope } from '../../common/access';
import { inTransaction } from '../../common/db';
import { badInput } from '../../common/errors';
import { KNOWN_STATUSES, SUPPORT_TASK_PATTERN } from '../fold';
import { filterRunIds, runStatusAfterTaskSql, statusEnumSql, TOPICS, type WorkflowRunFilter } from './events';
import { FACT_TYPES, factColumns, periodSql, runSummaryOf, type Alongside, type SummaryTail } from './run-summary';
import { StatisticsCache } from './statistics-cache';

/**
 * workflowStatistics: runs grouped by workflow, version, owner, group, status and period, with
 * counts, rates and duration percentiles, in one set-based statement with the caller's access
 * rule. The facts of each run come from the run summary (run-summary.ts: the fold's own facts,
 * kept current from the event store, plus the runs touched since, folded in the request's
 * snapshot); where our migration is not installed (or the summary is still being built), from
 * the event store itself (`eventFactsSql`: every run fact derived as the fold derives it).
 * statistics.test.ts checks each number against the API, run-summary.test.ts that both agree.
 */

/** The most periods one workflowStatistics request may span (docs/limits.md). */
export const MAX_WORKFLOW_STATISTICS_PERIODS = 1000;

export type WorkflowStatisticsKey = 'WORKFLOW' | 'WORKFLOW_VERSION' | 'USER' | 'GROUP' | 'STATUS' | 'PERIOD';
export type WorkflowStatisticsPeriod = 'DAY' | 'WEEK' | 'MONTH';

export interface DurationStatistics {
  /** runs that have this duration */
  count: number;
  mean: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

export interface WorkflowStatisticsBucket {
  periodStart: Date | null;
  workflow: string | null;
  workflowVersion: string | null;
  userId: number | null;
  groupId: number | null;
  status: string | null;
  runs: number;
  byStatus: { status: string; count: number }[];
  succeeded: number;
  failed: number;
  successRate: number | null;
  failureRate: number | null;
  queueWait: DurationStatistics;
  runTime: DurationStatistics;
  total: DurationStatistics;
  slurmJobs: number;
}

/** Key → the column of `facts` it groups by. */
const KEY_COLUMNS: Record<WorkflowStatisticsKey, string> = {
  PERIOD: 'period',
  WORKFLOW: 'workflow',
  WORKFLOW_VERSION: 'workflow_version',
  USER: 'user_id',
  GROUP: 'group_id',
  STATUS: 'status',
};
const PERIOD_UNIT: Record<WorkflowStatisticsPeriod, string> = { DAY: 'day', WEEK: 'week', MONTH: 'month' };
/** The longest period, for the limit check before any work (a month counted as 28 days would refuse valid ranges). */
const PERIOD_MS: Record<WorkflowStatisticsPeriod, number> = { DAY: 86_400_000, WEEK: 7 * 86_400_000, MONTH: 31 * 86_400_000 };
const STATUSES = [...KNOWN_STATUSES, 'UNKNOWN'];
/** fold.ts isTerminalJobState */
const TERMINAL_JOB_STATE = '^(COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE)';

interface Row {
  period: Date | null;
  /** null in a zero bucket (no run) */
  workflow: string | null;
  workflow_version: string | null;
  user_id: string | null;
  group_id: string | null;
  status: string | null;
  runs: number | null;
  /** runs per status, in STATUSES order; null when grouped by status (the bucket's status has them all) */
  by_status: number[] | null;
  slurm_jobs: number | null;
  queued_n: number | null;
  queued_mean: number | null;
  queued_p: (number | null)[] | null;
  running_n: number | null;
  running_mean: number | null;
  running_p: (number | null)[] | null;
  total_n: number | null;
  total_mean: number | null;
  total_p: (number | null)[] | null;
}

/** The columns every facts CTE gives, one row per run. */
type FactsCte = { sql: string; params: unknown[] };

/**
 * `facts` from the event store, for when the run summary cannot answer: one row per run. Each event of the
 * topics read is parsed once (`ev`, one pass over the store); the rest are hash joins on it.
 *  - workflow task: fold.ts workflowTaskOf; its first Slurm job gives queue wait (JobIdAdded →
 *    first RUNNING) and run time (→ first final state), as the fold's SlurmJob does;
 *  - status: the last WorkflowCompleted/Failed, else the last task status update mapped by
 *    runStatusAfterTaskSql (the rule of STATUS_SQL), as an enum value;
 *  - total: creation → WorkflowCompleted/Failed.
 */
function eventFactsSql(first: number): FactsCte {
  const p = (i: number) => `$${first + i}`;
  const params = [
    [TOPICS.initiated, TOPICS.taskAdded, TOPICS.taskCreated, TOPICS.statusUpdated, TOPICS.jobIdAdded, TOPICS.completed, TOPICS.failed],
    TOPICS.initiated,
    TOPICS.taskAdded,
    TOPICS.taskCreated,
    TOPICS.statusUpdated,
    TOPICS.jobIdAdded,
    TOPICS.completed,
    TOPICS.failed,
    SUPPORT_TASK_PATTERN,
    STATUSES.slice(0, -1),
    TERMINAL_JOB_STATE,
  ];
  const [initiated, added, created, updated, jobAdded, completed, failed, pattern, _known, terminal] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(p);
  const sql = `
    ev AS MATERIALIZED (
      SELECT e.id, e.originator_id AS oid, e.topic, (j.s->'timestamp'->>'_data_')::timestamptz AS at,
             CASE WHEN e.topic = ${added} THEN (j.s->'task_id'->>'_data_')::uuid END AS task_id,
             CASE WHEN e.topic = ${initiated} THEN (j.s->>'user')::bigint END AS user_id,
             CASE WHEN e.topic = ${initiated} THEN (j.s->>'group')::bigint END AS group_id,
             j.s->>'task_name' AS name, j.s->>'task_version' AS version, j.s->>'status' AS status,
             CASE WHEN e.topic = ${jobAdded} AND j.s->>'job_id' ~ '^-?\\d{1,18}$' THEN (j.s->>'job_id')::bigint END AS job_id
        -- OFFSET 0: parse each state once (inlined, the parse would repeat for every field read)
        FROM workflowtracker_events e, LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS s OFFSET 0) j
       WHERE e.topic = ANY(${p(0)}::text[])),
    tasks AS (
      SELECT DISTINCT ON (a.oid, a.task_id) a.oid AS run_id, a.task_id, a.id AS added_id, c.name, c.version
        FROM ev a JOIN ev c ON c.oid = a.task_id AND c.topic = ${created}
       WHERE a.topic = ${added} ORDER BY a.oid, a.task_id, a.id),
    workflow_task AS (
      SELECT DISTINCT ON (run_id) run_id, task_id, name, version FROM tasks
       ORDER BY run_id, name ~* ${pattern}, CASE WHEN name ~* ${pattern} THEN -added_id ELSE added_id END),
    run_end AS (
      SELECT DISTINCT ON (oid) oid AS run_id, topic = ${completed} AS done, at FROM ev
       WHERE topic IN (${completed}, ${failed}) ORDER BY oid, id DESC),
    last_update AS (
      SELECT DISTINCT ON (t.run_id) t.run_id, ${runStatusAfterTaskSql('t.name', 'u.status')} AS status
        FROM tasks t JOIN ev u ON u.oid = t.task_id AND u.topic = ${updated} ORDER BY t.run_id, u.id DESC),
    jobs AS (
      SELECT task_id, id, at, lead(id) OVER (PARTITION BY task_id ORDER BY id) AS next_id
        FROM (SELECT DISTINCT ON (oid, job_id) oid AS task_id, id, at FROM ev
               WHERE topic = ${jobAdded} AND job_id > 0 ORDER BY oid, job_id, id) j),
    job_count AS (SELECT t.run_id, count(*)::int AS n FROM tasks t JOIN jobs j ON j.task_id = t.task_id GROUP BY t.run_id),
    workflow_job AS (
      SELECT DISTINCT ON (w.run_id) w.run_id, w.task_id, j.id, j.at AS submitted, j.next_id
        FROM workflow_task w JOIN jobs j ON j.task_id = w.task_id ORDER BY w.run_id, j.id),
    job_updates AS (
      SELECT w.run_id, u.id, u.at, u.status, u.status ~ ${terminal} AS final FROM workflow_job w
        JOIN ev u ON u.oid = w.task_id AND u.topic = ${updated} AND u.id > w.id AND (w.next_id IS NULL OR u.id < w.next_id)),
    job_times AS (
      SELECT run_id, (array_agg(at ORDER BY id) FILTER (WHERE final))[1] AS ended,
             (array_agg(at ORDER BY id) FILTER (WHERE status LIKE 'RUNNING%' AND (end_id IS NULL OR id < end_id)))[1] AS started
        FROM (SELECT *, min(id) FILTER (WHERE final) OVER (PARTITION BY run_id) AS end_id FROM job_updates) u
       GROUP BY run_id),
    facts AS MATERIALIZED (
      SELECT r.oid AS run_id, r.user_id, r.group_id, r.at AS created, w.name AS workflow, w.version AS workflow_version,
             ${statusEnumSql(`COALESCE(CASE WHEN x.done THEN 'DONE' WHEN x.run_id IS NOT NULL THEN 'FAILED' END, l.status, 'INITIALIZING')`, first + 9)} AS status,
             extract(epoch FROM t.started - j.submitted)::float8 AS queued,
             extract(epoch FROM t.ended - t.started)::float8 AS running,
             extract(epoch FROM x.at - r.at)::float8 AS total,
             coalesce(c.n, 0) AS slurm_jobs
        FROM ev r
        LEFT JOIN workflow_task w ON w.run_id = r.oid
        LEFT JOIN run_end x ON x.run_id = r.oid
        LEFT JOIN last_update l ON l.run_id = r.oid
        LEFT JOIN workflow_job j ON j.run_id = r.oid
        LEFT JOIN job_times t ON t.run_id = r.oid
        LEFT JOIN job_count c ON c.run_id = r.oid
       WHERE r.topic = ${initiated})`;
  return { sql, params };
}

/**
 * `facts` from the run summary: its rows, but those of the runs touched above its watermark,
 * which `tail` gives as folded in this snapshot (run-summary.ts).
 */
function summaryFactsSql(first: number, tail: Pick<SummaryTail, 'touched' | 'facts'>): FactsCte {
  const columns = factColumns(tail.facts).slice(0, -1); // not last_event_id
  const unnest = FACT_TYPES.slice(0, -1)
    .map((t, i) => `$${first + 1 + i}::${t}[]`)
    .join(', ');
  return {
    sql: `facts AS (
      SELECT run_id, user_id, group_id, created, workflow, workflow_version, status,
             queued_seconds AS queued, running_seconds AS running, total_seconds AS total, slurm_jobs
        FROM omero_graph_workflow_run_summary WHERE run_id <> ALL($${first}::uuid[])
      UNION ALL
      SELECT * FROM unnest(${unnest}) AS t(run_id, user_id, group_id, created, workflow, workflow_version, status, queued, running, total, slurm_jobs))`,
    params: [tail.touched, ...columns],
  };
}

/**
 * The statement's settings: nested loops off (the planner cannot estimate the CTEs' sizes and
 * would join them row by row, quadratic in the number of runs; every join here is a hash join),
 * the grouping's sort of 100,000 runs in memory (the default 4 MB spills it to disk), and no JIT:
 * nested loops off inflates the cost estimate past jit_above_cost, and compiling the statement
 * took 340 of its 470 ms on PostgreSQL 15 with JIT (bench:statistics) for no faster execution.
 */
const SET_BASED = "SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '64MB'; SET LOCAL jit = off";

/** The event-store statement in a read-only transaction of its own. */
function inReadOnly<R extends pg.QueryResultRow>(pool: pg.Pool, sql: string, params: unknown[]): Promise<R[]> {
  return inTransaction(pool, async (client) => (await client.query<R>(sql, params)).rows, `BEGIN READ ONLY; ${SET_BASED}`);
}

function durationColumns(column: string, name: string): string {
  return `count(${column})::int AS ${name}_n, avg(${column}) AS ${name}_mean,
          percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY ${column}) AS ${name}_p`;
}

function durations(n: number | null, mean: number | null, p: (number | null)[] | null): DurationStatistics {
  const at = (i: number) => (p?.[i] == null ? null : Number(p[i]));
  return { count: n ?? 0, mean: mean == null ? null : Number(mean), p50: at(0), p90: at(1), p99: at(2) };
}

function optionalId(value: string | null | undefined, field: string): number | null {
  if (value == null) return null;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw badInput(`${field} must be an OMERO id.`, field);
  return n;
}

export interface WorkflowStatisticsArgs {
  range: { from: Date; to: Date };
  groupBy: WorkflowStatisticsKey[];
  period?: WorkflowStatisticsPeriod | null;
  filter?: WorkflowRunFilter | null;
}

/**
 * Buckets of the visible runs created in [range.from, range.to), one per combination of the
 * `groupBy` keys. With PERIOD, every period of the range is present for every combination of
 * the other keys seen in the range (zero buckets fill the gaps).
 */
export async function workflowStatistics(pool: pg.Pool, scope: GroupScope, args: WorkflowStatisticsArgs): Promise<WorkflowStatisticsBucket[]> {
  return (await statisticsRows(pool, scope, args)).map(bucketOf);
}

/** The same buckets as columns (workflowStatisticsTable), built from the rows without a bucket object each. */
export async function workflowStatisticsTable(pool: pg.Pool, scope: GroupScope, args: WorkflowStatisticsArgs): Promise<WorkflowStatisticsTable> {
  return tableOf(await statisticsRows(pool, scope, args));
}

/** The statement's rows: from the run summary (by period: byPeriod), else from the event store. */
async function statisticsRows(pool: pg.Pool, scope: GroupScope, args: WorkflowStatisticsArgs): Promise<Row[]> {
  const statement = prepared(scope, args);
  const keys = [...new Set(args.groupBy)];
  const rows = await runSummaryOf(pool).snapshot(SET_BASED, async (client, tail, alongside) => {
    if (keys.includes('PERIOD')) return byPeriod(pool, client, tail, alongside, scope, args, keys);
    const { sql, params } = statement(summaryFactsSql(1, tail));
    return (await client.query<Row>(sql, params)).rows;
  });
  if (rows) return rows;
  const { sql, params } = statement(eventFactsSql(1));
  return inReadOnly<Row>(pool, sql, params);
}

const caches = new WeakMap<pg.Pool, StatisticsCache<Row>>();

/** One period of a request: its start, the next one's, its stamp (statistics-cache.ts) and whether its rows may be reused. */
interface Period {
  start: Date;
  next: Date;
  stamp: string;
  /** inside the range and no run of it above the watermark */
  reusable: boolean;
}

/**
 * Grouped by period, in the request's snapshot: the rows of each full period whose runs are
 * unchanged as remembered (statistics-cache.ts), the others computed — in two halves at once on
 * two connections of the snapshot when there are several (the grouping's sorts are per period,
 * so a half never holds part of another's bucket) — then every period × combination filled.
 */
async function byPeriod(
  pool: pg.Pool,
  client: pg.PoolClient,
  tail: SummaryTail,
  alongside: Alongside,
  scope: GroupScope,
  args: WorkflowStatisticsArgs,
  keys: WorkflowStatisticsKey[],
): Promise<Row[]> {
  const unit = PERIOD_UNIT[args.period ?? 'DAY'];
  const { from, to } = args.range;
  const [{ rows: stamped }, dirty] = await Promise.all([
    client.query<{ period: Date; next: Date; stamp: string }>(
      `WITH p AS (${periodsSql('$1', '$2', '$3')}),
            d AS (SELECT ${periodSql('day', '$3')} AS period, sum(version) AS stamp
                    FROM omero_graph_workflow_run_day WHERE day >= (SELECT min(period) FROM p) AND day < $2 GROUP BY 1)
       SELECT p.period, (p.period AT TIME ZONE 'UTC' + ('1 ' || $3)::interval) AT TIME ZONE 'UTC' AS next, coalesce(d.stamp, 0)::text AS stamp
         FROM p LEFT JOIN d USING (period) ORDER BY p.period`,
      [from, to, unit],
    ),
    tail.touched.length
      ? client
          .query<{ period: Date }>(
            `SELECT DISTINCT ${periodSql('created', '$3')} AS period
               FROM (SELECT created FROM omero_graph_workflow_run_summary WHERE run_id = ANY($1::uuid[]) UNION ALL SELECT unnest($2::timestamptz[])) r
              WHERE created IS NOT NULL`,
            [tail.touched, tail.facts.map((f) => f.created), unit],
          )
          .then(({ rows }) => new Set(rows.map((r) => r.period.getTime())))
      : new Set<number>(),
  ]);
  const periods: Period[] = stamped.map(({ period, next, stamp }) => ({
    start: period,
    next,
    stamp,
    reusable: period >= from && next <= to && !dirty.has(period.getTime()),
  }));
  let cache = caches.get(pool);
  if (!cache) caches.set(pool, (cache = new StatisticsCache<Row>()));
  const f = args.filter ?? {};
  const key = JSON.stringify([
    tail.generation,
    groupScopeParams(scope, 'id'),
    keys,
    unit,
    [f.userId, f.groupId, f.createdAfter, f.createdBefore, filterRunIds(f), f.workflow, f.version, f.statuses].map((v) => v ?? null),
  ]);
  const found = new Map<number, Row[]>();
  const missing: number[] = []; // indexes into periods
  periods.forEach((p, i) => {
    const rows = p.reusable ? cache.get(key, p.start.getTime(), p.stamp) : undefined;
    if (rows) found.set(p.start.getTime(), rows);
    else missing.push(i);
  });
  if (missing.length) {
    const part = (indexes: number[]) => {
      const first = periods[indexes[0]];
      const last = periods[indexes[indexes.length - 1]];
      const contiguous = indexes[indexes.length - 1] - indexes[0] === indexes.length - 1;
      const range = { from: first.start < from ? from : first.start, to: last.next > to ? to : last.next };
      return prepared(scope, { ...args, range }, false, contiguous ? null : indexes.map((i) => periods[i].start))(summaryFactsSql(1, tail));
    };
    const halves = missing.length > 1 ? [missing.slice(missing.length >> 1), missing.slice(0, missing.length >> 1)] : [missing];
    const [late, early] = halves.map(part);
    const results = await Promise.all([
      early ? alongside((other) => other.query<Row>(late.sql, late.params)) : client.query<Row>(late.sql, late.params),
      ...(early ? [client.query<Row>(early.sql, early.params)] : []),
    ]);
    const computed = new Map<number, Row[]>(missing.map((i) => [periods[i].start.getTime(), []]));
    for (const { rows } of results) for (const row of rows) computed.get(row.period!.getTime())?.push(row);
    for (const i of missing) {
      const p = periods[i];
      const rows = computed.get(p.start.getTime())!;
      found.set(p.start.getTime(), rows);
      if (p.reusable) cache.set(key, p.start.getTime(), p.stamp, rows);
    }
  }
  return filledPeriods(
    client,
    keys,
    periods.flatMap((p) => found.get(p.start.getTime()) ?? []),
    periods.map((p) => p.start),
  );
}

/** The same buckets read from the event store alone: what answers without our migration (and the benchmark's baseline). */
export async function workflowStatisticsFromEvents(pool: pg.Pool, scope: GroupScope, args: WorkflowStatisticsArgs): Promise<WorkflowStatisticsBucket[]> {
  const { sql, params } = prepared(scope, args)(eventFactsSql(1));
  return (await inReadOnly<Row>(pool, sql, params)).map(bucketOf);
}

/** The request checked (BAD_USER_INPUT) and its statement over a `facts` CTE. */
function prepared(
  scope: GroupScope,
  args: WorkflowStatisticsArgs,
  zeroFill = true,
  periods: Date[] | null = null,
): (facts: FactsCte) => { sql: string; params: unknown[] } {
  const { from, to } = args.range;
  const period = args.period ?? 'DAY';
  if (!(from < to)) throw badInput('range.from must be before range.to.', 'range');
  if ((to.getTime() - from.getTime()) / PERIOD_MS[period] > MAX_WORKFLOW_STATISTICS_PERIODS) {
    throw badInput(
      `range spans more than ${MAX_WORKFLOW_STATISTICS_PERIODS} periods (MAX_WORKFLOW_STATISTICS_PERIODS); use a longer period or a shorter range.`,
      'range',
    );
  }
  const keys = [...new Set(args.groupBy)];
  const f = args.filter ?? {};
  const others = [optionalId(f.userId, 'userId'), optionalId(f.groupId, 'groupId'), filterRunIds(f)] as const;
  return (facts) => statisticsStatement(facts, scope, keys, period, args, others, zeroFill, periods);
}

/** Every period of [from, to) as `period` (UTC), from the periods' SQL parameters. */
function periodsSql(from: string, to: string, unit: string): string {
  return `SELECT g AT TIME ZONE 'UTC' AS period
           FROM generate_series(date_trunc(${unit}, ${from}::timestamptz AT TIME ZONE 'UTC'), (${to}::timestamptz AT TIME ZONE 'UTC') - interval '1 microsecond', ('1 ' || ${unit})::interval) g`;
}

/** The SQL type of each key column, for the combinations sent back to be ordered (filledPeriods). */
const KEY_TYPES: Record<string, string> = { workflow: 'text', workflow_version: 'text', user_id: 'bigint', group_id: 'bigint', status: 'text' };

/**
 * The rows of every period as the one statement gives them: every period of the range for every
 * combination of the other keys seen, zero rows where none fell, in the statement's order (periods,
 * then the keys in the database's collation, asked of PostgreSQL).
 */
async function filledPeriods(client: pg.ClientBase, keys: WorkflowStatisticsKey[], rows: Row[], periods: Date[]): Promise<Row[]> {
  const others = keys.map((k) => KEY_COLUMNS[k]).filter((c) => c !== 'period');
  const comboOf = (row: Record<string, unknown>) => JSON.stringify(others.map((c) => row[c] ?? null));
  const seen = new Map<string, Record<string, unknown>>();
  for (const row of rows) seen.set(comboOf(row as unknown as Record<string, unknown>), row as unknown as Record<string, unknown>);
  const combos = others.length
    ? await client.query<Record<string, unknown>>(
        `SELECT * FROM unnest(${others.map((c, i) => `$${i + 1}::${KEY_TYPES[c]}[]`).join(', ')}) AS c(${others.join(', ')}) ORDER BY ${others.join(', ')}`,
        others.map((c) => [...seen.values()].map((row) => row[c] ?? null)),
      )
    : { rows: [{}] };
  const byBucket = new Map(rows.map((row) => [`${row.period?.getTime()}\n${comboOf(row as unknown as Record<string, unknown>)}`, row]));
  return periods.flatMap((period) =>
    combos.rows.map((combo) => byBucket.get(`${period.getTime()}\n${comboOf(combo)}`) ?? ({ ...combo, period } as unknown as Row)),
  );
}

/**
 * The statement over `facts` (its parameters first): the caller's access rule and the filter,
 * grouped by the keys; with PERIOD, every period of the range (generate_series) × every
 * combination of the other keys seen, zero buckets where no run falls.
 */
function statisticsStatement(
  facts: FactsCte,
  scope: GroupScope,
  keys: WorkflowStatisticsKey[],
  period: WorkflowStatisticsPeriod,
  args: WorkflowStatisticsArgs,
  [userId, groupId, ids]: readonly [number | null, number | null, string[] | null],
  zeroFill: boolean,
  periods: Date[] | null,
): { sql: string; params: unknown[] } {
  const f = args.filter ?? {};
  const n = facts.params.length;
  const params: unknown[] = [
    ...facts.params,
    ...groupScopeParams(scope, 'id'), // n+1..n+4
    args.range.from,
    args.range.to,
    PERIOD_UNIT[period], // n+5..n+7
    userId,
    groupId, // n+8, n+9
    f.createdAfter ?? null,
    f.createdBefore ?? null, // n+10, n+11
    ids,
    f.workflow ?? null,
    f.version ?? null, // n+12..n+14
    f.statuses?.length ? f.statuses : null, // n+15
    periods, // n+16: only these periods of the range
  ];
  const $ = (i: number) => `$${n + i}`;
  const groupColumns = keys.map((k) => KEY_COLUMNS[k]);
  const otherColumns = groupColumns.filter((c) => c !== 'period');
  // one count per status, in STATUSES order (an int array: cheaper to build and read than JSON);
  // grouped by STATUS, a bucket's one status has them all (bucketOf): no count per status is needed
  const statusCounts = keys.includes('STATUS') ? null : STATUSES.map((s) => `count(*) FILTER (WHERE status = '${s}')`).join(', ');
  const aggregates = ['runs', 'slurm_jobs', 'by_status', ...['queued', 'running', 'total'].flatMap((d) => [`${d}_n`, `${d}_mean`, `${d}_p`])];
  const grouped = `
     grouped AS (
       SELECT ${groupColumns.map((c) => `${c}, `).join('')}${zeroFill && otherColumns.length ? `jsonb_build_array(${otherColumns.join(', ')}) AS combo, ` : ''}
              count(*)::int AS runs, sum(slurm_jobs)::int AS slurm_jobs, ${statusCounts ? `ARRAY[${statusCounts}]` : 'NULL'}::int[] AS by_status,
              ${durationColumns('queued', 'queued')}, ${durationColumns('running', 'running')}, ${durationColumns('total', 'total')}
         FROM chosen ${groupColumns.length ? `GROUP BY ${groupColumns.join(', ')}` : ''})`;
  const select = !zeroFill
    ? `SELECT ${[...groupColumns, ...aggregates].join(', ')} FROM grouped`
    : !keys.includes('PERIOD')
      ? `SELECT ${[...groupColumns, ...aggregates].join(', ')} FROM grouped ${groupColumns.length ? `ORDER BY ${groupColumns.join(', ')}` : ''}`
      : `, periods AS (${periodsSql($(5), $(6), $(7))}),
       -- grouped by PERIOD alone: one series, present even when no run falls in the range
       combos AS (${otherColumns.length ? `SELECT DISTINCT combo, ${otherColumns.join(', ')} FROM grouped` : 'SELECT 1 AS one'})
       SELECT p.period, ${[...otherColumns.map((c) => `c.${c}`), ...aggregates.map((a) => `g.${a}`)].join(', ')}
         FROM periods p CROSS JOIN combos c
         LEFT JOIN grouped g ON g.period = p.period${otherColumns.length ? ' AND g.combo = c.combo' : ''}
        ORDER BY ${['p.period', ...otherColumns.map((c) => `c.${c}`)].join(', ')}`;
  const sql = `WITH ${facts.sql},
     chosen AS (
       SELECT *, ${periodSql('created', $(7))} AS period FROM facts
        WHERE created >= ${$(5)} AND created < ${$(6)}
          AND ${groupScopeSql('group_id', 'user_id', n + 1, 'id')}
          AND (${$(8)}::bigint IS NULL OR user_id = ${$(8)}) AND (${$(9)}::bigint IS NULL OR group_id = ${$(9)})
          AND (${$(10)}::timestamptz IS NULL OR created >= ${$(10)}) AND (${$(11)}::timestamptz IS NULL OR created < ${$(11)})
          AND (${$(12)}::uuid[] IS NULL OR run_id = ANY(${$(12)}::uuid[]))
          AND (${$(13)}::text IS NULL OR lower(workflow) = lower(${$(13)})) AND (${$(14)}::text IS NULL OR workflow_version = ${$(14)})
          AND (${$(15)}::text[] IS NULL OR status = ANY(${$(15)}::text[]))
          AND (${$(16)}::timestamptz[] IS NULL OR ${periodSql('created', $(7))} = ANY(${$(16)}::timestamptz[]))),${grouped}
     ${select}`;
  return { sql, params };
}

/** What a row's status counts say: one rule for both shapes. */
function outcomeOf(row: Row): Pick<WorkflowStatisticsBucket, 'byStatus' | 'succeeded' | 'failed' | 'successRate' | 'failureRate'> {
  const byStatus = row.by_status
    ? STATUSES.map((status, i) => ({ status, count: Number(row.by_status?.[i] ?? 0) })).filter((s) => s.count > 0)
    : row.status != null && row.runs
      ? [{ status: row.status, count: row.runs }]
      : [];
  const count = (status: string) => byStatus.find((s) => s.status === status)?.count ?? 0;
  const succeeded = count('DONE');
  const failed = count('FAILED');
  const finished = succeeded + failed;
  return { byStatus, succeeded, failed, successRate: finished ? succeeded / finished : null, failureRate: finished ? failed / finished : null };
}

function bucketOf(row: Row): WorkflowStatisticsBucket {
  return {
    periodStart: row.period ?? null,
    workflow: row.workflow ?? null,
    workflowVersion: row.workflow_version ?? null,
    userId: row.user_id == null ? null : Number(row.user_id),
    groupId: row.group_id == null ? null : Number(row.group_id),
    status: row.status ?? null,
    runs: row.runs ?? 0,
    ...outcomeOf(row),
    queueWait: durations(row.queued_n, row.queued_mean, row.queued_p),
    runTime: durations(row.running_n, row.running_mean, row.running_p),
    total: durations(row.total_n, row.total_mean, row.total_p),
    slurmJobs: row.slurm_jobs ?? 0,
  };
}

/** DurationStatistics of every bucket, as columns. */
export interface DurationColumns {
  count: number[];
  mean: (number | null)[];
  p50: (number | null)[];
  p90: (number | null)[];
  p99: (number | null)[];
}

/** workflowStatisticsTable: the buckets as columns, entry i of each list bucket i's. */
export interface WorkflowStatisticsTable {
  length: number;
  periodStart: (Date | null)[];
  workflow: (string | null)[];
  workflowVersion: (string | null)[];
  userId: (string | null)[];
  groupId: (string | null)[];
  status: (string | null)[];
  runs: number[];
  byStatus: { status: string; counts: number[] }[];
  succeeded: number[];
  failed: number[];
  successRate: (number | null)[];
  failureRate: (number | null)[];
  queueWait: DurationColumns;
  runTime: DurationColumns;
  total: DurationColumns;
  slurmJobs: number[];
}

/** The rows as columns, in one pass: a column per status that has runs in some bucket. */
function tableOf(rows: Row[]): WorkflowStatisticsTable {
  const durationColumns = (): DurationColumns => ({ count: [], mean: [], p50: [], p90: [], p99: [] });
  const table: WorkflowStatisticsTable = {
    length: rows.length,
    periodStart: [],
    workflow: [],
    workflowVersion: [],
    userId: [],
    groupId: [],
    status: [],
    runs: [],
    byStatus: [],
    succeeded: [],
    failed: [],
    successRate: [],
    failureRate: [],
    queueWait: durationColumns(),
    runTime: durationColumns(),
    total: durationColumns(),
    slurmJobs: [],
  };
  const add = (columns: DurationColumns, n: number | null, mean: number | null, p: (number | null)[] | null) => {
    const d = durations(n, mean, p);
    columns.count.push(d.count);
    columns.mean.push(d.mean);
    columns.p50.push(d.p50);
    columns.p90.push(d.p90);
    columns.p99.push(d.p99);
  };
  const id = (value: string | null) => (value != null && Number(value) >= 0 ? String(value) : null);
  const counts = new Map<string, number[]>();
  rows.forEach((row, i) => {
    table.periodStart.push(row.period ?? null);
    table.workflow.push(row.workflow ?? null);
    table.workflowVersion.push(row.workflow_version ?? null);
    table.userId.push(id(row.user_id));
    table.groupId.push(id(row.group_id));
    table.status.push(row.status ?? null);
    table.runs.push(row.runs ?? 0);
    const outcome = outcomeOf(row);
    for (const { status, count } of outcome.byStatus) {
      let column = counts.get(status);
      if (!column) counts.set(status, (column = new Array<number>(rows.length).fill(0)));
      column[i] = count;
    }
    table.succeeded.push(outcome.succeeded);
    table.failed.push(outcome.failed);
    table.successRate.push(outcome.successRate);
    table.failureRate.push(outcome.failureRate);
    add(table.queueWait, row.queued_n, row.queued_mean, row.queued_p);
    add(table.runTime, row.running_n, row.running_mean, row.running_p);
    add(table.total, row.total_n, row.total_mean, row.total_p);
    table.slurmJobs.push(row.slurm_jobs ?? 0);
  });
  table.byStatus = STATUSES.filter((status) => counts.has(status)).map((status) => ({ status, counts: counts.get(status)! }));
  return table;
}
