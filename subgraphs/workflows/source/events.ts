import DataLoader from 'dataloader';
import type pg from 'pg';
import { groupScopeParams, groupScopeSql, type CallerAccess, type GroupScope } from '../../common/access';
import { badInput } from '../../common/errors';
import { pageSql, type Page } from '../../common/pagination';
import { decodeUuid, TOPIC_PREFIX, type StoredEvent } from '../events';
import { foldRun, KNOWN_STATUSES, SUPPORT_TASK_PATTERN, type Task, type WorkflowRun } from '../fold';
import { redactEvent, redactRunEvents, runSecrets, STATUS_EVENT_TOPICS, type EventText } from '../redact';

const T = (event: string) => `${TOPIC_PREFIX}${event}`;
export const TOPICS = {
  initiated: T('WorkflowRun.WorkflowInitiated'),
  taskAdded: T('WorkflowRun.TaskAdded'),
  completed: T('WorkflowRun.WorkflowCompleted'),
  failed: T('WorkflowRun.WorkflowFailed'),
  taskCreated: T('Task.TaskCreated'),
  statusUpdated: T('Task.StatusUpdated'),
  progressUpdated: T('Task.ProgressUpdated'),
  jobIdAdded: T('Task.JobIdAdded'),
} as const;

/** State is UTF-8 JSON in bytea (no compression or cipher configured in BIOMERO). */
const EVENT_COLUMNS = `e.id, e.originator_id::text AS originator_id, e.originator_version, e.topic, convert_from(e.state, 'UTF8')::jsonb AS state`;

/** Filter of workflowRuns and workflowRunUpdated. */
export interface WorkflowRunFilter {
  statuses?: string[] | null;
  userId?: string | null;
  groupId?: string | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  /** the run's workflow (its workflow task's name, fold.ts workflowTaskOf), case-insensitive */
  workflow?: string | null;
  /** the workflow task's version (e.g. v1.4.0) */
  version?: string | null;
  /** run ids */
  ids?: string[] | null;
}

/** The filter's run ids as UUIDs (BAD_USER_INPUT for one that is not), null when not filtered by id. */
export function filterRunIds(filter: WorkflowRunFilter | null | undefined): string[] | null {
  if (filter?.ids == null) return null;
  return filter.ids.map((id) => {
    const uuid = decodeUuid(id);
    if (!uuid) throw badInput('ids must be workflow run ids (UUIDs).', 'ids');
    return uuid;
  });
}

/**
 * The workflow task (name, version) of run `run` (a uuid column), correlated: fold.ts
 * workflowTaskOf, the first added task not matching SUPPORT_TASK_PATTERN ($pattern), else the last.
 */
const WORKFLOW_TASK_SQL = (run: string, added: number, created: number, pattern: number) => `(
  SELECT c.name, c.version FROM workflowtracker_events a
    JOIN LATERAL (SELECT j.s->>'task_name' AS name, j.s->>'task_version' AS version
                    FROM workflowtracker_events c, LATERAL (SELECT convert_from(c.state, 'UTF8')::jsonb AS s) j
                   WHERE c.originator_id = (convert_from(a.state, 'UTF8')::jsonb->'task_id'->>'_data_')::uuid AND c.topic = $${created}) c ON true
   WHERE a.originator_id = ${run} AND a.topic = $${added}
   ORDER BY c.name ~* $${pattern}, CASE WHEN c.name ~* $${pattern} THEN -a.id ELSE a.id END LIMIT 1)`;

function optionalId(value: string | null | undefined, field: string): number | null {
  if (value == null) return null;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw badInput(`${field} must be an OMERO id.`, field);
  return n;
}

/** fold.ts statusAfterTaskUpdate in SQL: the run status a task's status update gives. */
export function runStatusAfterTaskSql(taskName: string, status: string): string {
  return `CASE
       WHEN lower(${taskName}) = '_slurm_image_transfer.py' THEN 'TRANSFERRING'
       WHEN lower(${taskName}) LIKE 'convert\\_%' THEN 'CONVERTING'
       WHEN lower(${taskName}) = 'slurm_get_results.py' THEN 'RETRIEVING'
       WHEN lower(${taskName}) = 'slurm_import_results.py' THEN ${status}
       WHEN lower(${taskName}) = 'slurm_run_workflow.py' THEN 'RUNNING'
       ELSE 'JOB_' || ${status} END`;
}

/** fold.ts statusEnum in SQL: sacct's '+' and ' by <uid>' dropped, then UNKNOWN unless in $known (text[]). */
export function statusEnumSql(status: string, known: number): string {
  return `(SELECT CASE WHEN n = ANY($${known}::text[]) THEN n ELSE 'UNKNOWN' END
             FROM (SELECT ${normalisedStatusSql(status)} AS n) s)`;
}

function normalisedStatusSql(status: string): string {
  return `regexp_replace(regexp_replace(${status}, '\\+$', ''), ' by \\d+$', '')`;
}

/**
 * The run status of the fold (fold.ts), in SQL over the event store, for filtering pages: the last
 * WorkflowCompleted/Failed, else the last StatusUpdated of the run's tasks mapped by task name,
 * else INITIALIZING. `r.run_id` is the run; $1.. are the TOPICS in the order of STATUS_PARAMS.
 * A test checks that it agrees with the fold on every run.
 */
const STATUS_SQL = (p: number) => `COALESCE(
  (SELECT CASE WHEN t.topic = $${p + 2} THEN 'DONE' ELSE 'FAILED' END FROM workflowtracker_events t
    WHERE t.originator_id = r.run_id AND t.topic IN ($${p + 2}, $${p + 3}) ORDER BY t.id DESC LIMIT 1),
  (SELECT ${runStatusAfterTaskSql('c.name', 'u.status')}
     FROM (SELECT (convert_from(a.state, 'UTF8')::jsonb->'task_id'->>'_data_')::uuid AS task_id
             FROM workflowtracker_events a WHERE a.originator_id = r.run_id AND a.topic = $${p + 1}) ta
     JOIN LATERAL (SELECT x.id, convert_from(x.state, 'UTF8')::jsonb->>'status' AS status FROM workflowtracker_events x
                    WHERE x.originator_id = ta.task_id AND x.topic = $${p + 4} ORDER BY x.id DESC LIMIT 1) u ON true
     JOIN LATERAL (SELECT convert_from(c.state, 'UTF8')::jsonb->>'task_name' AS name FROM workflowtracker_events c
                    WHERE c.originator_id = ta.task_id AND c.topic = $${p + 5}) c ON true
    ORDER BY u.id DESC LIMIT 1),
  'INITIALIZING')`;
const STATUS_PARAMS = [TOPICS.taskAdded, TOPICS.completed, TOPICS.failed, TOPICS.statusUpdated, TOPICS.taskCreated];

/**
 * Visible runs matching `filter` as a CTE `runs(run_id, event_id[, status])`, keyed by the id of
 * their WorkflowInitiated event. Callers append their own $n after `params`.
 */
function filteredRuns(scope: GroupScope, filter: WorkflowRunFilter | null | undefined): { cte: string; params: unknown[] } {
  const f = filter ?? {};
  const params: unknown[] = [
    TOPICS.initiated,
    ...groupScopeParams(scope, 'id'),
    optionalId(f.userId, 'userId'),
    optionalId(f.groupId, 'groupId'),
    f.createdAfter ?? null,
    f.createdBefore ?? null,
    filterRunIds(f),
    f.workflow ?? null,
    f.version ?? null,
    TOPICS.taskAdded,
    TOPICS.taskCreated,
    SUPPORT_TASK_PATTERN,
  ];
  const base = `SELECT e.originator_id AS run_id, e.id AS event_id FROM workflowtracker_events e,
         LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS s) j
        WHERE e.topic = $1 AND ${groupScopeSql(`(j.s->>'group')::bigint`, `(j.s->>'user')::bigint`, 2, 'id')}
          AND ($6::bigint IS NULL OR (j.s->>'user')::bigint = $6)
          AND ($7::bigint IS NULL OR (j.s->>'group')::bigint = $7)
          AND ($8::timestamptz IS NULL OR (j.s->'timestamp'->>'_data_')::timestamptz >= $8)
          AND ($9::timestamptz IS NULL OR (j.s->'timestamp'->>'_data_')::timestamptz < $9)
          AND ($10::uuid[] IS NULL OR e.originator_id = ANY($10::uuid[]))
          AND (($11::text IS NULL AND $12::text IS NULL) OR EXISTS (SELECT 1 FROM ${WORKFLOW_TASK_SQL('e.originator_id', 13, 14, 15)} w
                WHERE ($11::text IS NULL OR lower(w.name) = lower($11)) AND ($12::text IS NULL OR w.version = $12)))`;
  if (!f.statuses?.length) return { cte: `runs AS (${base})`, params };
  const known = f.statuses.filter((s) => s !== 'UNKNOWN');
  const p = params.length;
  params.push(...STATUS_PARAMS, known, f.statuses.includes('UNKNOWN'), [...KNOWN_STATUSES]);
  const cte = `base AS (${base}),
    statuses AS (SELECT r.run_id, r.event_id, ${normalisedStatusSql(STATUS_SQL(p))} AS status FROM base r),
    runs AS (SELECT run_id, event_id FROM statuses
              WHERE status = ANY($${p + 6}::text[]) OR ($${p + 7}::boolean AND status <> ALL($${p + 8}::text[])))`;
  return { cte, params };
}

/**
 * Workflow runs as the caller may see them, read from the event store (the truth; the biomero_*
 * view tables are never needed). Built per request with the caller's access, so each read is
 * scoped: runs by the user and group of their WorkflowInitiated (OMERO's rule, access.ts).
 */
export class WorkflowEventSource {
  constructor(
    private readonly pool: pg.Pool,
    private readonly access: CallerAccess,
  ) {}

  /** Whether the caller may read this run (null stays null). */
  visible(run: WorkflowRun | null): WorkflowRun | null {
    return run && this.access.canSee({ groupId: run.groupId, userId: run.userId }) ? run : null;
  }

  /** Whether the caller may read a stored event's run (live streams: read at each event, the caller may be renewed). */
  mayReadEvent(e: LiveEvent): boolean {
    return e.run_id !== null && this.access.canSee({ groupId: e.run_group, userId: e.run_user });
  }

  /** One run, or null when missing or hidden (the same answer). `fresh` re-reads it (after a write, a live event). */
  async run(id: string, fresh = false): Promise<WorkflowRun | null> {
    const runId = decodeUuid(id);
    if (!runId) return null;
    if (fresh) this.folded.clear(runId);
    return this.visible(await this.folded.load(runId));
  }

  /** Runs read again from the store (a live stream holds its own copy), hidden ones as null. */
  async freshRuns(ids: string[]): Promise<(WorkflowRun | null)[]> {
    this.folded.clearAll();
    return (await this.folded.loadMany(ids)).map((run) => (run instanceof Error ? null : this.visible(run)));
  }

  /** The visible task with this id. */
  async task(id: string): Promise<Task | null> {
    const runId = await this.runOfTask.load(id);
    const run = runId ? await this.run(runId) : null;
    return run?.tasks.find((t) => t.id === decodeUuid(id)) ?? null;
  }

  /** The visible run that named this Slurm job id (the newest, should an id repeat). */
  async runOfSlurmJob(jobId: number): Promise<WorkflowRun | null> {
    const runId = await this.runOfJob.load(jobId);
    return runId ? this.run(runId) : null;
  }

  /** The visible run and task BIOMERO's job view records for job id -1 (unsubmitted.ts). */
  async unsubmittedJobRun(): Promise<{ run: WorkflowRun; taskId: string } | null> {
    const owner = await this.unsubmittedJobOwner();
    const run = owner ? await this.run(owner.runId) : null;
    return run ? { run, taskId: owner!.taskId } : null;
  }

  /** Runs by id: their own events plus every event of the tasks they added, in one statement; `run` applies the access rule. */
  private readonly folded = new DataLoader<string, WorkflowRun | null>(async (ids) => {
    const valid = ids.map((id) => decodeUuid(id)).filter((id): id is string => id !== null);
    const { rows } = await this.pool.query<StoredEvent>(
      // runs and their tasks as one id list joined on the store's (originator_id, version) index:
      // an OR of the two would read the whole store
      `WITH aggregates AS (
         SELECT unnest($1::uuid[]) AS id
         UNION
         SELECT (convert_from(t.state, 'UTF8')::jsonb->'task_id'->>'_data_')::uuid
           FROM workflowtracker_events t
          WHERE t.originator_id = ANY($1::uuid[]) AND t.topic = $2)
       SELECT ${EVENT_COLUMNS} FROM aggregates a JOIN workflowtracker_events e ON e.originator_id = a.id
        ORDER BY e.id`,
      [valid, TOPICS.taskAdded],
    );
    const taskToRun = new Map<string, string>();
    for (const row of rows) {
      if (row.topic === TOPICS.taskAdded) {
        const taskId = decodeUuid((row.state as { task_id?: unknown }).task_id);
        if (taskId) taskToRun.set(taskId, row.originator_id);
      }
    }
    const byRun = new Map<string, StoredEvent[]>();
    for (const row of rows) {
      const runId = taskToRun.get(row.originator_id) ?? row.originator_id;
      let list = byRun.get(runId);
      if (!list) byRun.set(runId, (list = []));
      list.push(row);
    }
    return ids.map((id) => {
      const runId = decodeUuid(id);
      // redacted here, where the events are decoded: every reader of the run sees them redacted
      return runId ? foldRun(runId, redactRunEvents(byRun.get(runId) ?? [])) : null;
    });
  });

  /** The run of each task, from the task's TaskCreated (version 0). */
  private readonly runOfTask = new DataLoader<string, string | null>(async (taskIds) => {
    const valid = taskIds.map((id) => decodeUuid(id)).filter((id): id is string => id !== null);
    const { rows } = await this.pool.query<{ task_id: string; run_id: string | null }>(
      `SELECT originator_id::text AS task_id, (convert_from(state, 'UTF8')::jsonb->'workflow_id'->>'_data_') AS run_id
         FROM workflowtracker_events WHERE originator_id = ANY($1::uuid[]) AND originator_version = 0`,
      [valid],
    );
    const byTask = new Map(rows.map((r) => [r.task_id, decodeUuid(r.run_id)]));
    return taskIds.map((id) => byTask.get(decodeUuid(id) ?? '') ?? null);
  });

  /** The run of each Slurm job id, from the JobIdAdded that named it (the newest, should an id repeat). */
  private readonly runOfJob = new DataLoader<number, string | null>(async (jobIds) => {
    const { rows } = await this.pool.query<{ job_id: string; run_id: string | null }>(
      `SELECT DISTINCT ON (j.s->>'job_id') j.s->>'job_id' AS job_id, convert_from(c.state, 'UTF8')::jsonb->'workflow_id'->>'_data_' AS run_id
         FROM workflowtracker_events e, LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS s) j,
              workflowtracker_events c
        WHERE e.topic = $1 AND j.s->>'job_id' = ANY($2::text[]) AND c.originator_id = e.originator_id AND c.originator_version = 0
        ORDER BY j.s->>'job_id', e.id DESC`,
      [TOPICS.jobIdAdded, jobIds.map(String)],
    );
    const byJob = new Map(rows.map((r) => [Number(r.job_id), decodeUuid(r.run_id)]));
    return jobIds.map((id) => byJob.get(id) ?? null);
  });

  /**
   * The task BIOMERO's job view records for job id -1 (sbatch failed): the first JobIdAdded(-1)
   * in the store, as later ones violate the view's primary key (unsubmitted.ts).
   */
  private async unsubmittedJobOwner(): Promise<{ runId: string; taskId: string } | null> {
    const { rows } = await this.pool.query<{ run_id: string | null; task_id: string }>(
      `SELECT convert_from(c.state, 'UTF8')::jsonb->'workflow_id'->>'_data_' AS run_id, e.originator_id::text AS task_id
         FROM workflowtracker_events e JOIN workflowtracker_events c ON c.originator_id = e.originator_id AND c.originator_version = 0
        WHERE e.topic = $1 AND convert_from(e.state, 'UTF8')::jsonb->>'job_id' = '-1'
        ORDER BY e.id LIMIT 1`,
      [TOPICS.jobIdAdded],
    );
    const runId = rows[0] ? decodeUuid(rows[0].run_id) : null;
    return runId ? { runId, taskId: rows[0].task_id } : null;
  }

  /**
   * The status and progress updates BIOMERO's JobProgress view writes to the row of job -1: those
   * of every task whose latest JobIdAdded (before the update) was -1, whichever run it is in, in
   * store order. One statement; only asked for `slurmJob(-1)`.
   */
  async unsubmittedJobUpdates(): Promise<{ topic: string; status: unknown; progress: unknown }[]> {
    const { rows } = await this.pool.query<{ topic: string; status: unknown; progress: unknown }>(
      `SELECT u.topic, s.s->'status' AS status, s.s->'progress' AS progress
         FROM workflowtracker_events u, LATERAL (SELECT convert_from(u.state, 'UTF8')::jsonb AS s) s
        WHERE u.topic IN ($2, $3)
          AND u.originator_id IN (SELECT j.originator_id FROM workflowtracker_events j
                                   WHERE j.topic = $1 AND convert_from(j.state, 'UTF8')::jsonb->>'job_id' = '-1')
          AND (SELECT convert_from(j.state, 'UTF8')::jsonb->>'job_id' FROM workflowtracker_events j
                WHERE j.originator_id = u.originator_id AND j.topic = $1 AND j.id < u.id ORDER BY j.id DESC LIMIT 1) = '-1'
        ORDER BY u.id`,
      [TOPICS.jobIdAdded, TOPICS.statusUpdated, TOPICS.progressUpdated],
    );
    return rows;
  }

  /**
   * Runs that read each image (a task's `IDs` parameter with Data_Type Image), visible to the
   * caller, newest first: one statement for all images of a request.
   */
  readonly consumers = new DataLoader<number, { runId: string; key: number }[]>(async (imageIds) => {
    if (!this.access.caller) return imageIds.map(() => []);
    const scope = this.access.scope();
    const { rows } = await this.pool.query<{ image_id: string; run_id: string; key: number }>(
      `SELECT img.id AS image_id, w.originator_id::text AS run_id, w.id AS key
         FROM workflowtracker_events e,
              LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS s) j,
              LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(j.s->'params'->'IDs') = 'array' THEN j.s->'params'->'IDs' ELSE '[]'::jsonb END) img(id),
              workflowtracker_events w,
              LATERAL (SELECT convert_from(w.state, 'UTF8')::jsonb AS s) ws
        WHERE e.topic = $1 AND coalesce(j.s->'params'->>'Data_Type', 'Image') = 'Image' AND img.id = ANY($2::text[])
          AND w.originator_id = (j.s->'workflow_id'->>'_data_')::uuid AND w.topic = $3
          AND ${groupScopeSql(`(ws.s->>'group')::bigint`, `(ws.s->>'user')::bigint`, 4, 'id')}
        GROUP BY 1, 2, 3 ORDER BY w.id DESC`,
      [TOPICS.taskCreated, imageIds.map(String), TOPICS.initiated, ...groupScopeParams(scope, 'id')],
    );
    return imageIds.map((id) => rows.filter((r) => Number(r.image_id) === id).map((r) => ({ runId: r.run_id, key: Number(r.key) })));
  });

  /** Visible runs matching the filter, newest first, keyed by the id of their WorkflowInitiated event. */
  async page(filter: WorkflowRunFilter | null | undefined, page: Page): Promise<{ key: number; node: WorkflowRun }[]> {
    const { cte, params } = filteredRuns(this.access.scope(), filter);
    const keyset = pageSql(page, 'event_id', 'DESC', params.length + 1);
    const { rows } = await this.pool.query<{ run_id: string; event_id: number }>(
      `WITH ${cte} SELECT run_id::text AS run_id, event_id FROM runs
        WHERE ${keyset.where} ORDER BY event_id ${keyset.direction} LIMIT $${params.length + 3}`,
      [...params, ...keyset.params, page.limit + 1],
    );
    const runs = await Promise.all(rows.map((r) => this.run(r.run_id)));
    return rows.flatMap((r, i) => (runs[i] ? [{ key: Number(r.event_id), node: runs[i] }] : []));
  }

  async count(filter: WorkflowRunFilter | null | undefined): Promise<number> {
    const { cte, params } = filteredRuns(this.access.scope(), filter);
    const { rows } = await this.pool.query<{ n: number }>(`WITH ${cte} SELECT count(*)::int AS n FROM runs`, params);
    return rows[0].n;
  }

  /** Visible runs with no WorkflowCompleted/Failed yet (the ones whose jobs may still change), newest first; none once the caller is gone. */
  async unfinishedRunIds(limit: number): Promise<string[]> {
    if (!this.access.caller) return [];
    const scope = this.access.scope();
    const { rows } = await this.pool.query<{ run_id: string }>(
      `SELECT e.originator_id::text AS run_id FROM workflowtracker_events e, LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS s) j
        WHERE e.topic = $1 AND ${groupScopeSql(`(j.s->>'group')::bigint`, `(j.s->>'user')::bigint`, 2, 'id')}
          AND NOT EXISTS (SELECT 1 FROM workflowtracker_events t WHERE t.originator_id = e.originator_id AND t.topic IN ($6, $7))
        ORDER BY e.id DESC LIMIT $8`,
      [TOPICS.initiated, ...groupScopeParams(scope, 'id'), TOPICS.completed, TOPICS.failed, limit],
    );
    return rows.map((r) => r.run_id);
  }
}

/** A stored event with the run it belongs to and the run's owner, for the live stream's filters. */
export interface LiveEvent extends StoredEvent {
  run_id: string | null;
  run_user: number | null;
  run_group: number | null;
  /** the run's creation time (WorkflowInitiated timestamp), for the createdAfter/Before filters */
  run_created: string | null;
  /**
   * The secrets the run's stored events revealed when this event was read (redact.ts runSecrets;
   * never sent): `state` is already redacted with them, and workflowRunUpdated redacts the run's
   * other events it holds with them.
   */
  secrets: readonly string[];
}

/**
 * Events lower < id <= upper for the tailer. A task event's run comes from its TaskCreated
 * (version 0, found through the unique (originator_id, originator_version) index).
 */
export async function fetchLiveEvents(client: pg.Pool | pg.PoolClient, lower: number, upper: number | null, limit: number): Promise<LiveEvent[]> {
  const { rows } = await client.query<Omit<LiveEvent, 'secrets'>>(
    `SELECT ${EVENT_COLUMNS}, r.run_id::text AS run_id, (w.s->>'user')::bigint AS run_user, (w.s->>'group')::bigint AS run_group,
            w.s->'timestamp'->>'_data_' AS run_created
       FROM workflowtracker_events e
       LEFT JOIN LATERAL (
         SELECT CASE WHEN e.topic LIKE $4 THEN e.originator_id
                     ELSE (SELECT (convert_from(c.state, 'UTF8')::jsonb->'workflow_id'->>'_data_')::uuid
                             FROM workflowtracker_events c WHERE c.originator_id = e.originator_id AND c.originator_version = 0)
                END AS run_id) r ON true
       LEFT JOIN LATERAL (
         SELECT convert_from(i.state, 'UTF8')::jsonb AS s FROM workflowtracker_events i
          WHERE i.originator_id = r.run_id AND i.originator_version = 0) w ON true
      WHERE e.id > $1 AND ($2::bigint IS NULL OR e.id <= $2)
      ORDER BY e.id LIMIT $3`,
    [lower, upper, limit, `${TOPIC_PREFIX}WorkflowRun.%`],
  );
  if (rows.length === 0) return [];
  const secrets = await secretsOfRuns(client, rows);
  return rows.map((row) => {
    // an event of no known run (a task without its TaskCreated) has only its own secrets
    const known = (row.run_id !== null && secrets.get(row.run_id)) || runSecrets([row]);
    return { ...redactEvent(row, known), secrets: known };
  });
}

/**
 * The secrets each run's stored events reveal, read with every batch of live events (one
 * statement): every committed event of the runs and their tasks but the status-only ones
 * (redact.ts STATUS_EVENTS), so a secret revealed by an event already stored is redacted in a
 * live event that only quotes it.
 */
async function secretsOfRuns(client: pg.Pool | pg.PoolClient, batch: readonly Omit<LiveEvent, 'secrets'>[]): Promise<Map<string, string[]>> {
  const byRun = new Map<string, EventText[]>();
  // the batch itself too: a task's first events may be read before its run's TaskAdded commits
  for (const row of batch) {
    if (row.run_id === null) continue;
    let events = byRun.get(row.run_id);
    if (!events) byRun.set(row.run_id, (events = []));
    events.push(row);
  }
  const runIds = [...byRun.keys()];
  if (runIds.length === 0) return new Map();
  const { rows } = await client.query<{ run_id: string; topic: string; state: Record<string, unknown> }>(
    `WITH aggregates AS (
       SELECT r.id, r.id AS run_id FROM unnest($1::uuid[]) r(id)
       UNION
       SELECT (convert_from(t.state, 'UTF8')::jsonb->'task_id'->>'_data_')::uuid, t.originator_id
         FROM workflowtracker_events t
        WHERE t.originator_id = ANY($1::uuid[]) AND t.topic = $2)
     SELECT a.run_id::text AS run_id, e.topic, convert_from(e.state, 'UTF8')::jsonb AS state
       FROM aggregates a JOIN workflowtracker_events e ON e.originator_id = a.id
      WHERE e.topic <> ALL($3::text[])`,
    [runIds, TOPICS.taskAdded, STATUS_EVENT_TOPICS],
  );
  for (const row of rows) byRun.get(row.run_id)?.push(row);
  return new Map([...byRun].map(([id, events]) => [id, runSecrets(events)]));
}
