import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { inTransaction } from '../../common/db';
import { HOLDERS_SQL, SEQUENCE_SQL } from '../../common/eventlog';
import { logger } from '../../common/logger';
import { barrierPassed } from '../../common/settlement';
import { decodeUuid, TOPIC_PREFIX, type StoredEvent } from '../events';
import { foldRun, isFinished, secondsBetween, statusEnum, workflowJobOf, workflowTaskOf, type WorkflowRun } from '../fold';
import { redactRunEvents } from '../redact';
import { TOPICS } from './events';

/**
 * The run summary (database/run-summary.sql): one row of statistics facts per workflow run, in
 * the BIOMERO database, so that workflowStatistics groups 100,000 small rows instead of parsing
 * every event's JSON (docs/workflows.md, Usage statistics).
 *
 * The facts are the fold's (fold.ts, the same function and redaction the API uses): no rule is
 * written twice. The table is kept current incrementally from `folded_up_to`, the last *settled*
 * event id folded (settlement.ts: no transaction still open can commit an id at or below it), by
 * re-folding only the runs the newer events touch, a batch of ids per transaction under an
 * advisory lock, so replicas share the work and upserts of whole rows make a repeat harmless; in
 * the background, at start, after live events and after a request that found events above the
 * watermark. Those events are folded within each request (`snapshot`), so answers are exact
 * whatever the watermark lags.
 */

/** Bump when the fold's rules or the facts change: the summary is then rebuilt from the store. */
export const FOLD_VERSION = 1;
/** pg_advisory_xact_lock key of the catch-up ('ogws'): one writer of the summary at a time, across replicas. */
const SUMMARY_LOCK = 0x6f677773;
/** Event ids folded per transaction (about 2,300 generated runs). */
export const CATCH_UP_BATCH_EVENTS = 50_000;
/**
 * Event ids above the watermark a request folds itself, in its snapshot; beyond it (the first
 * build is running) the request reads the event store directly. docs/limits.md.
 */
export const MAX_REQUEST_FOLD_EVENTS = 20_000;
/** How long a catch-up waits for open writers to end before settling for the committed prefix. */
const SETTLE_WAIT_MS = 2_000;
/** Background catch-up after live events: coalesced over this delay. */
const NUDGE_DELAY_MS = 250;
const RUN_TOPICS = `${TOPIC_PREFIX}WorkflowRun.%`;
/**
 * The period of a timestamp `column` in UTC — the one rule of the statistics' days, weeks and
 * months and of omero_graph_workflow_run_day — for a `unit` in SQL ('day', or a parameter).
 */
export const periodSql = (column: string, unit: string) => `date_trunc(${unit}, ${column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`;

/** One run's statistics facts: a row of omero_graph_workflow_run_summary. */
export interface RunFacts {
  runId: string;
  userId: number | null;
  groupId: number | null;
  created: Date | null;
  workflow: string | null;
  workflowVersion: string | null;
  /** WorkflowRunStatus enum value */
  status: string;
  queuedSeconds: number | null;
  runningSeconds: number | null;
  totalSeconds: number | null;
  slurmJobs: number;
  lastEventId: number;
}

/** A folded run's facts: the workflow task's first Slurm job gives queue wait and run time, as on WorkflowRun. */
export function factsOf(run: WorkflowRun): RunFacts {
  const task = workflowTaskOf(run);
  const job = workflowJobOf(run);
  return {
    runId: run.id,
    userId: run.userId,
    groupId: run.groupId,
    created: run.createdAt,
    workflow: task?.name ?? null,
    workflowVersion: task?.version ?? null,
    status: statusEnum(run.status),
    queuedSeconds: secondsBetween(job?.submittedAt ?? null, job?.startedAt ?? null),
    runningSeconds: secondsBetween(job?.startedAt ?? null, job?.endedAt ?? null),
    totalSeconds: isFinished(run) ? secondsBetween(run.createdAt, run.finishedAt) : null,
    slurmJobs: run.tasks.reduce((n, t) => n + t.jobs.length, 0),
    lastEventId: run.events.reduce((m, e) => Math.max(m, Number(e.id)), 0),
  };
}

/** The facts as the column arrays of an unnest(): run_id … slurm_jobs (and last_event_id). */
export function factColumns(facts: readonly RunFacts[]): unknown[][] {
  return [
    facts.map((f) => f.runId),
    facts.map((f) => f.userId),
    facts.map((f) => f.groupId),
    facts.map((f) => f.created),
    facts.map((f) => f.workflow),
    facts.map((f) => f.workflowVersion),
    facts.map((f) => f.status),
    facts.map((f) => f.queuedSeconds),
    facts.map((f) => f.runningSeconds),
    facts.map((f) => f.totalSeconds),
    facts.map((f) => f.slurmJobs),
    facts.map((f) => f.lastEventId),
  ];
}
/** SQL types of factColumns, in order. */
export const FACT_TYPES = ['uuid', 'bigint', 'bigint', 'timestamptz', 'text', 'text', 'text', 'float8', 'float8', 'float8', 'int', 'bigint'];
export const FACT_NAMES = [
  'run_id',
  'user_id',
  'group_id',
  'created',
  'workflow',
  'workflow_version',
  'status',
  'queued_seconds',
  'running_seconds',
  'total_seconds',
  'slurm_jobs',
  'last_event_id',
];

type Db = pg.Pool | pg.PoolClient;

/**
 * Runs touched by events with lower < id <= upper (upper null: no bound): the originators of run
 * events, and the runs that added the task of a task event (a task whose TaskAdded is not folded
 * yet is reached when it is, as its TaskAdded touches the run).
 */
async function touchedRuns(db: Db, lower: number, upper: number | null): Promise<string[]> {
  const { rows } = await db.query<{ run_id: string }>(
    `SELECT e.originator_id::text AS run_id FROM workflowtracker_events e
      WHERE e.id > $1 AND ($2::bigint IS NULL OR e.id <= $2) AND e.topic LIKE $3
     UNION
     SELECT m.run_id::text FROM workflowtracker_events e JOIN omero_graph_workflow_run_task m ON m.task_id = e.originator_id
      WHERE e.id > $1 AND ($2::bigint IS NULL OR e.id <= $2) AND e.topic NOT LIKE $3`,
    [lower, upper, RUN_TOPICS],
  );
  return rows.map((r) => r.run_id);
}

/**
 * The runs folded from every event of theirs and of the tasks they added (as the API reads a run,
 * redacted the same way), and the tasks each added. One statement; state parsed here, not by the
 * server (half the cost of ::jsonb and back).
 */
async function foldRuns(db: Db, runIds: readonly string[]): Promise<{ runs: WorkflowRun[]; tasks: { taskId: string; runId: string }[] }> {
  if (runIds.length === 0) return { runs: [], tasks: [] };
  const { rows } = await db.query<{ run_id: string; id: number; originator_id: string; originator_version: number; topic: string; state: string }>(
    `WITH aggregates AS (
       SELECT r.id, r.id AS run_id FROM unnest($1::uuid[]) r(id)
       UNION
       SELECT (convert_from(t.state, 'UTF8')::jsonb->'task_id'->>'_data_')::uuid, t.originator_id
         FROM workflowtracker_events t WHERE t.originator_id = ANY($1::uuid[]) AND t.topic = $2)
     SELECT a.run_id::text AS run_id, e.id, e.originator_id::text AS originator_id, e.originator_version, e.topic,
            convert_from(e.state, 'UTF8') AS state
       FROM aggregates a JOIN workflowtracker_events e ON e.originator_id = a.id
      ORDER BY a.run_id, e.id`,
    [runIds, TOPICS.taskAdded],
  );
  const byRun = new Map<string, StoredEvent[]>();
  for (const row of rows) {
    let events = byRun.get(row.run_id);
    if (!events) byRun.set(row.run_id, (events = []));
    events.push({
      id: Number(row.id),
      originator_id: row.originator_id,
      originator_version: Number(row.originator_version),
      topic: row.topic,
      state: JSON.parse(row.state) as Record<string, unknown>,
    });
  }
  const runs: WorkflowRun[] = [];
  const tasks: { taskId: string; runId: string }[] = [];
  for (const [runId, events] of byRun) {
    for (const e of events) {
      const taskId = e.topic === TOPICS.taskAdded && e.originator_id === runId ? decodeUuid(e.state.task_id) : null;
      if (taskId) tasks.push({ taskId, runId });
    }
    const run = foldRun(runId, redactRunEvents(events));
    if (run) runs.push(run);
  }
  return { runs, tasks };
}

/** The facts of the runs touched by events above `lower` (upper: see touchedRuns), and which runs those are. */
export async function foldTouched(
  db: Db,
  lower: number,
  upper: number | null,
): Promise<{ touched: string[]; facts: RunFacts[]; tasks: { taskId: string; runId: string }[] }> {
  const touched = await touchedRuns(db, lower, upper);
  const { runs, tasks } = await foldRuns(db, touched);
  return { touched, facts: runs.map(factsOf), tasks };
}

interface SummaryState {
  foldedUpTo: number;
  foldVersion: number;
}

async function readState(db: Db, forUpdate = false): Promise<SummaryState> {
  const { rows } = await db.query<{ folded_up_to: number; fold_version: number }>(
    `SELECT folded_up_to, fold_version FROM omero_graph_workflow_run_summary_state${forUpdate ? ' FOR UPDATE' : ''}`,
  );
  // the migration inserts the row; should it be gone, start from nothing
  return rows[0] ? { foldedUpTo: Number(rows[0].folded_up_to), foldVersion: rows[0].fold_version } : { foldedUpTo: 0, foldVersion: -1 };
}

/** What one catch-up did, for tests and the benchmark. */
export interface CatchUp {
  /** runs folded and written by this process */
  folded: number;
  /** the watermark afterwards */
  foldedUpTo: number;
}

export class RunSummary {
  private present: boolean | null = null;
  private checkedAt = 0;
  private warned = false;
  /** workflowtracker_events and its id sequence (pg_locks relations), null until read */
  private relations: number[] | null = null;
  private running: Promise<CatchUp> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private again = false;
  private stopped = false;

  constructor(private readonly pool: pg.Pool) {}

  /**
   * Whether our migration's tables exist and settlement applies (the id sequence hands ids out in
   * order). Re-checked every minute while absent; logged once.
   */
  async installed(): Promise<boolean> {
    if (this.present || (this.present === false && Date.now() - this.checkedAt < 60_000)) return this.present;
    const { rows } = await this.pool.query<{ ok: boolean }>(
      `SELECT to_regclass('omero_graph_workflow_run_summary') IS NOT NULL AND to_regclass('omero_graph_workflow_run_task') IS NOT NULL
          AND to_regclass('omero_graph_workflow_run_summary_state') IS NOT NULL AND to_regclass('omero_graph_workflow_run_day') IS NOT NULL
          AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass('omero_graph_workflow_run_summary_state') AND attname = 'generation') AS ok`,
    );
    let ok = rows[0].ok;
    if (ok && !this.relations) {
      const { rows: seq } = await this.pool.query<{ relation: number; sequence: number | null; cache: number | null }>(SEQUENCE_SQL, [
        'workflowtracker_events',
      ]);
      if (seq[0].cache !== null && seq[0].cache > 1) ok = false;
      else this.relations = [Number(seq[0].relation), ...(seq[0].sequence === null ? [] : [Number(seq[0].sequence)])];
    }
    this.present = ok;
    this.checkedAt = Date.now();
    if (!ok && !this.warned) {
      this.warned = true;
      logger.warn('workflow run summary not installed (npm run migrate, database/run-summary.sql): workflowStatistics reads the whole event store per request');
    }
    return ok;
  }

  /** Catch up in the background soon (after live events); several nudges make one catch-up. */
  nudge(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.catchUp().catch((err) => {
        if ((err as { code?: string }).code !== '42501') return logger.warn({ err }, 'workflow run summary catch-up failed; retried after the next event');
        // no right to write the tables: they cannot be kept, so requests read the event store
        this.present = false;
        this.checkedAt = Date.now();
        if (!this.warned)
          logger.warn(
            { err },
            'workflow run summary not writable (grant INSERT, UPDATE, DELETE on omero_graph_workflow_run_*): workflowStatistics reads the event store',
          );
        this.warned = true;
      });
    }, NUDGE_DELAY_MS);
    this.timer.unref();
  }

  /** Catch up now in the background (the first build, or what changed while the process was down). */
  start(): void {
    this.stopped = false;
    this.nudge();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }

  /**
   * Folds the runs touched by settled events above the watermark into the summary, a batch of
   * CATCH_UP_BATCH_EVENTS ids per transaction under the advisory lock (a replica that finds the
   * work done by another moves on), waiting up to SETTLE_WAIT_MS for open writers. One at a time
   * per process: a call during a catch-up gets that one (and another follows it).
   */
  catchUp(): Promise<CatchUp> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = this.catchUpNow().finally(() => {
      this.running = null;
      if (this.again) {
        this.again = false;
        this.nudge();
      }
    });
    return this.running;
  }

  private async catchUpNow(): Promise<CatchUp> {
    if (!(await this.installed())) return { folded: 0, foldedUpTo: 0 };
    const client = await this.pool.connect();
    let folded = 0;
    try {
      const { rows } = await client.query<{ id: number | null }>('SELECT max(id) AS id FROM workflowtracker_events');
      let state = await readState(client);
      if (state.foldVersion !== FOLD_VERSION) state = { foldedUpTo: 0, foldVersion: state.foldVersion };
      const head = await this.settledHead(client, state.foldedUpTo, Number(rows[0].id ?? 0), SETTLE_WAIT_MS);
      let foldedUpTo = state.foldedUpTo;
      while (foldedUpTo < head && !this.stopped) {
        await client.query('BEGIN');
        try {
          await client.query('SELECT pg_advisory_xact_lock($1)', [SUMMARY_LOCK]);
          // another replica may have moved it while we waited
          const locked = await readState(client, true);
          if (locked.foldVersion !== FOLD_VERSION) {
            logger.info({ from: locked.foldVersion, to: FOLD_VERSION }, 'workflow run summary: building it (new, or the fold rules changed)');
            await client.query('DELETE FROM omero_graph_workflow_run_summary');
            await client.query('DELETE FROM omero_graph_workflow_run_task');
            await client.query('DELETE FROM omero_graph_workflow_run_day');
            await client.query(
              `INSERT INTO omero_graph_workflow_run_summary_state (one, folded_up_to, fold_version, generation) VALUES (true, 0, $1, $2)
               ON CONFLICT (one) DO UPDATE SET folded_up_to = 0, fold_version = $1, generation = $2`,
              [FOLD_VERSION, randomUUID()],
            );
            locked.foldedUpTo = 0;
          }
          foldedUpTo = locked.foldedUpTo;
          if (foldedUpTo >= head) {
            await client.query('COMMIT');
            break;
          }
          const upper = Math.min(head, foldedUpTo + CATCH_UP_BATCH_EVENTS);
          folded += await this.foldInto(client, foldedUpTo, upper);
          await client.query('UPDATE omero_graph_workflow_run_summary_state SET folded_up_to = $1', [upper]);
          await client.query('COMMIT');
          foldedUpTo = upper;
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
      }
      return { folded, foldedUpTo };
    } finally {
      client.release();
    }
  }

  /** Re-folds the runs touched by events in (lower, upper] and writes their rows and task links. */
  private async foldInto(client: pg.PoolClient, lower: number, upper: number): Promise<number> {
    const { touched, facts, tasks } = await foldTouched(client, lower, upper);
    if (touched.length === 0) return 0;
    // the days of the rows about to change, as they were and as they will be (before the upsert)
    await client.query(
      `INSERT INTO omero_graph_workflow_run_day (day, version)
       SELECT DISTINCT ${periodSql('created', "'day'")}, 1 FROM (
         SELECT created FROM omero_graph_workflow_run_summary WHERE run_id = ANY($1::uuid[])
         UNION ALL SELECT unnest($2::timestamptz[])) r
        WHERE created IS NOT NULL
       ON CONFLICT (day) DO UPDATE SET version = omero_graph_workflow_run_day.version + 1`,
      [touched, facts.map((f) => f.created)],
    );
    const types = FACT_TYPES.map((t, i) => `$${i + 1}::${t}[]`).join(', ');
    await client.query(
      `INSERT INTO omero_graph_workflow_run_summary (${FACT_NAMES.join(', ')})
       SELECT * FROM unnest(${types})
       ON CONFLICT (run_id) DO UPDATE SET ${FACT_NAMES.slice(1)
         .map((c) => `${c} = EXCLUDED.${c}`)
         .join(', ')}`,
      factColumns(facts),
    );
    // a run with no WorkflowInitiated (yet) has no row
    await client.query('DELETE FROM omero_graph_workflow_run_summary WHERE run_id = ANY($1::uuid[]) AND run_id <> ALL($2::uuid[])', [
      touched,
      facts.map((f) => f.runId),
    ]);
    await client.query('INSERT INTO omero_graph_workflow_run_task (task_id, run_id) SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING', [
      tasks.map((t) => t.taskId),
      tasks.map((t) => t.runId),
    ]);
    return facts.length;
  }

  /**
   * The highest id at or below which every event that will ever commit has committed
   * (settlement.ts): `newest` (the max id, just read), once the transactions holding the table's
   * write lock after it was read have ended (waiting up to `waitMs`); else the ids present without a gap above `from`
   * (a present row is final; a gap may be a writer still open).
   */
  private async settledHead(client: pg.PoolClient, from: number, newest: number, waitMs: number): Promise<number> {
    if (newest <= from) return from;
    const holders = await this.holders(client);
    const deadline = Date.now() + waitMs;
    for (;;) {
      if (barrierPassed({ upTo: newest, holders }, await this.holders(client))) return newest;
      if (Date.now() >= deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const { rows: prefix } = await client.query<{ id: number }>(
      `SELECT coalesce(min($1::bigint + n) - 1, $2::bigint) AS id
         FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM workflowtracker_events WHERE id > $1 AND id <= $2) x
        WHERE id <> $1::bigint + n`,
      [from, newest],
    );
    return Number(prefix[0].id);
  }

  private async holders(client: pg.PoolClient): Promise<Set<string>> {
    const { rows } = await client.query<{ holder: string }>(HOLDERS_SQL, [this.relations]);
    return new Set(rows.map((r) => r.holder));
  }

  /**
   * Runs `fn` in one REPEATABLE READ snapshot with the facts of the runs touched by every event
   * above the watermark (committed in that snapshot, settled or not), so the summary plus these is
   * exactly the fold of the store as the snapshot sees it; events found there start a background
   * catch-up. null (nothing run) when the summary is absent, of another fold version, or more than
   * MAX_REQUEST_FOLD_EVENTS ids behind (the first build is running). Settings for `fn`'s statement
   * in `setLocal` (SET LOCAL …), applied after the fold of the runs above the watermark.
   */
  async snapshot<T>(setLocal: string, fn: (client: pg.PoolClient, tail: SummaryTail, alongside: Alongside) => Promise<T>): Promise<T | null> {
    if (!(await this.installed())) return null;
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      // ids above the watermark bound the events there (max: one index probe)
      const { rows } = await client.query<{ folded_up_to: number | null; fold_version: number | null; generation: string | null; newest: number | null }>(
        `SELECT s.folded_up_to, s.fold_version, s.generation, (SELECT max(id) FROM workflowtracker_events) AS newest
           FROM (SELECT 1) one LEFT JOIN omero_graph_workflow_run_summary_state s ON true`,
      );
      const foldedUpTo = Number(rows[0].folded_up_to ?? 0);
      const pending = Number(rows[0].newest ?? 0) - foldedUpTo;
      if (pending > 0) this.nudge();
      if (rows[0].fold_version !== FOLD_VERSION || pending > MAX_REQUEST_FOLD_EVENTS) {
        await client.query('ROLLBACK');
        return null;
      }
      const { touched, facts } = pending > 0 ? await foldTouched(client, foldedUpTo, null) : { touched: [], facts: [] };
      // fn's settings only now: the fold's reads are index lookups, which `enable_nestloop = off` would turn into scans of the store
      if (setLocal) await client.query(setLocal);
      const tail: SummaryTail = { touched, facts, generation: `${FOLD_VERSION}:${rows[0].generation ?? ''}` };
      const result = await fn(client, tail, (work) => alongside(this.pool, client, setLocal, work));
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      // the tables dropped, or no right to read them: answer from the event store, check again later
      const code = (err as { code?: string }).code;
      if (code === '42P01' || code === '42501') {
        logger.warn({ err }, 'workflow run summary unreadable: workflowStatistics reads the event store');
        this.present = false;
        this.checkedAt = Date.now();
        return null;
      }
      throw err;
    } finally {
      client.release();
    }
  }
}

/** What a snapshot sees above the summary: the runs touched since the watermark, folded in it. */
export interface SummaryTail {
  touched: string[];
  facts: RunFacts[];
  /** the fold version and build of the summary: rows remembered from another are not reused */
  generation: string;
}

/** Runs a statement in the snapshot of `snapshot()`'s transaction, on a second connection when one is free. */
export type Alongside = <R>(work: (client: pg.ClientBase) => Promise<R>) => Promise<R>;

/** How long a second connection is waited for before the work queues on the first one. */
const ALONGSIDE_WAIT_MS = 20;

/**
 * `work` on a second connection of the pool, in the snapshot of `client`'s open REPEATABLE READ
 * transaction (pg_export_snapshot / SET TRANSACTION SNAPSHOT), so that it runs at the same time as
 * what `client` runs next and sees exactly the same rows. When no connection comes within
 * ALONGSIDE_WAIT_MS it runs on `client` itself, after its queued statements: requests that each
 * hold one connection and wait for a second could otherwise wait for each other forever.
 */
async function alongside<R>(pool: pg.Pool, client: pg.PoolClient, setLocal: string, work: (client: pg.ClientBase) => Promise<R>): Promise<R> {
  const exported = client.query<{ id: string }>('SELECT pg_export_snapshot() AS id'); // queued before client's next statement
  const connecting = pool.connect();
  let timer: NodeJS.Timeout | undefined;
  const other = await Promise.race([connecting, new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ALONGSIDE_WAIT_MS)))]);
  clearTimeout(timer);
  if (!other) {
    void connecting.then((late) => late.release()).catch(() => undefined);
    await exported;
    return work(client);
  }
  try {
    const { rows } = await exported;
    return await inTransaction(
      other,
      work,
      `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '${rows[0].id.replace(/'/g, "''")}'; ${setLocal}`,
    );
  } finally {
    other.release();
  }
}

const summaries = new WeakMap<pg.Pool, RunSummary>();

/** The run summary of a BIOMERO pool (one per pool, so one catch-up at a time per process). */
export function runSummaryOf(pool: pg.Pool): RunSummary {
  let summary = summaries.get(pool);
  if (!summary) summaries.set(pool, (summary = new RunSummary(pool)));
  return summary;
}
