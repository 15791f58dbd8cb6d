/**
 * The event side of a real Slurm job: BIOMERO events in `workflowtracker_events`, written the
 * way BIOMERO.analyzer 2.0 (Python eventsourcing + eventsourcing_sqlalchemy) writes them, so an
 * end-to-end test can start from a real `sbatch` job id:
 *
 *   const jobId = await submitJob({ script: 'sleep 1' });            // test/slurm/cluster.ts
 *   const run = await insertRunWithJob(pool, { jobId, user: 2, group: 3 });
 *   … the workflows subgraph reads run.runId, its task run.taskId, and Slurm job jobId …
 *   await appendTaskEvents(pool, run.taskId, [['StatusUpdated', { status: 'COMPLETED' }]]);
 *
 * Encoding as database/demo/workflows.ts (reference/biomero-models.md §1.3): topic
 * `biomero.eventsourcing:<Aggregate>.<Event>`, state = UTF-8 JSON bytes, `timestamp` first as
 * {"_type_":"datetime_iso"} in UTC with microseconds, UUIDs as {"_type_":"uuid_hex"}, versions
 * 0,1,2… per aggregate, ids from the table's own sequence. Each `save()` of BIOMERO is one
 * transaction; so is each call here.
 */
import { randomUUID } from 'node:crypto';
import { type Queryable, inTransaction } from '../../database/demo/sql';
import type pg from 'pg';

const TOPIC = 'biomero.eventsourcing';

export interface RunWithJobOptions {
  jobId: number;
  /** OMERO experimenter id and group id of the run (WorkflowInitiated.user / .group) */
  user: number;
  group: number;
  runId?: string;
  taskId?: string;
  /** the workflow task, e.g. `cellpose` (not one of the `_SLURM_*` helper tasks) */
  taskName?: string;
  taskVersion?: string;
  /** status written right after JobIdAdded, as BIOMERO's poller would (default PENDING; null: none) */
  status?: string | null;
  /** when the run was initiated (default now) */
  at?: Date;
}

export interface RunWithJob {
  runId: string;
  taskId: string;
  jobId: number;
  /** ids of the events inserted, in order */
  eventIds: number[];
}

type Db = pg.Pool | pg.Client;

/**
 * A WorkflowRun with one Task that has the Slurm job `jobId`: WorkflowInitiated, TaskCreated,
 * TaskAdded, JobIdAdded and (unless status is null) StatusUpdated, in the order, grouping and
 * transactions BIOMERO's SLURM_Run_Workflow.py produces them.
 */
export async function insertRunWithJob(db: Db, options: RunWithJobOptions): Promise<RunWithJob> {
  const runId = options.runId ?? randomUUID();
  const taskId = options.taskId ?? randomUUID();
  const taskName = options.taskName ?? 'cellpose';
  const start = (options.at ?? new Date()).getTime();
  let tick = 0;
  // distinct, increasing timestamps (BIOMERO's events are milliseconds apart)
  const time = () => new Date(start + 37 * tick++);
  const folder = `Slurm_Workflow_test_${options.jobId}`;
  const eventIds: number[] = [];
  const save = async (originatorId: string, events: Array<[string, Record<string, unknown>]>) => {
    eventIds.push(
      ...(await inTransaction(db, (q) =>
        insertEvents(
          q,
          originatorId,
          events.map(([type, fields]) => [type, fields, time()]),
        ),
      )),
    );
  };

  await save(runId, [
    [
      'WorkflowRun.WorkflowInitiated',
      {
        originator_topic: `${TOPIC}:WorkflowRun`,
        name: 'Slurm Workflow',
        description: `Run ${taskName}\n2.0.1`,
        user: options.user,
        group: options.group,
      },
    ],
  ]);
  await save(taskId, [
    [
      'Task.TaskCreated',
      {
        originator_topic: `${TOPIC}:Task`,
        workflow_id: uuidHex(runId),
        task_name: taskName,
        task_version: options.taskVersion ?? 'v1.4.0',
        input_data: folder,
        params: { Data_Type: 'Image', IDs: [1], Folder_Name: folder },
      },
    ],
  ]);
  await save(runId, [['WorkflowRun.TaskAdded', { task_id: uuidHex(taskId) }]]);
  await save(taskId, [['Task.JobIdAdded', { job_id: options.jobId }]]);
  const status = options.status === undefined ? 'PENDING' : options.status;
  if (status !== null) await save(taskId, [['Task.StatusUpdated', { status }]]);
  return { runId, taskId, jobId: options.jobId, eventIds };
}

/** Further events of an existing aggregate (Task or WorkflowRun), e.g. [['StatusUpdated', {status: 'COMPLETED'}]]. */
export async function appendTaskEvents(
  db: Db,
  originatorId: string,
  events: Array<[string, Record<string, unknown>?]>,
  aggregate: 'Task' | 'WorkflowRun' = 'Task',
): Promise<number[]> {
  return inTransaction(db, (q) =>
    insertEvents(
      q,
      originatorId,
      events.map(([type, fields]) => [`${aggregate}.${type}`, fields ?? {}, new Date()]),
    ),
  );
}

/** One aggregate's events at its next versions; returns their ids. */
async function insertEvents(q: Queryable, originatorId: string, events: Array<[string, Record<string, unknown>, Date]>): Promise<number[]> {
  const { rows } = await q.query('SELECT COALESCE(MAX(originator_version) + 1, 0)::int AS next FROM workflowtracker_events WHERE originator_id = $1', [
    originatorId,
  ]);
  let version = rows[0].next as number;
  const ids: number[] = [];
  for (const [type, fields, at] of events) {
    // eventsourcing stores the event's attributes with `timestamp` first
    const state = JSON.stringify({ timestamp: { _type_: 'datetime_iso', _data_: datetimeIso(at) }, ...fields });
    const inserted = await q.query(
      'INSERT INTO workflowtracker_events (originator_id, originator_version, topic, state) VALUES ($1, $2, $3, $4) RETURNING id',
      [originatorId, version++, `${TOPIC}:${type}`, Buffer.from(state, 'utf8')],
    );
    ids.push(Number(inserted.rows[0].id));
  }
  return ids;
}

const uuidHex = (uuid: string) => ({ _type_: 'uuid_hex', _data_: uuid.replace(/-/g, '') });

/** Python's datetime.isoformat() of an aware UTC datetime: microseconds (left out when 0) and +00:00. */
function datetimeIso(at: Date): string {
  const iso = at.toISOString();
  return at.getUTCMilliseconds() === 0 ? `${iso.slice(0, 19)}+00:00` : `${iso.slice(0, 23)}000+00:00`;
}
