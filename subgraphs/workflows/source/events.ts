import DataLoader from 'dataloader';
import type pg from 'pg';
import { groupScopeParams, groupScopeSql, type GroupScope } from '../../common/access';
import type { Page } from '../../common/pagination';
import { decodeUuid, TOPIC_PREFIX, type StoredEvent } from '../events';
import { foldRun, type WorkflowRun } from '../fold';

const INITIATED = `${TOPIC_PREFIX}WorkflowRun.WorkflowInitiated`;
const TASK_ADDED = `${TOPIC_PREFIX}WorkflowRun.TaskAdded`;

/** A run is visible by the group and user ids of its WorkflowInitiated event (`j.s`). */
const VISIBLE = (first: number) => groupScopeSql(`(j.s->>'group')::bigint`, `(j.s->>'user')::bigint`, first, 'id');

/** State is UTF-8 JSON in bytea (no compression or cipher configured in BIOMERO). */
const EVENT_COLUMNS = `e.id, e.originator_id::text AS originator_id, e.originator_version, e.topic, convert_from(e.state, 'UTF8')::jsonb AS state`;

function isUuid(value: string): boolean {
  return decodeUuid(value) !== null;
}

/** Reads runs from the event store, the truth; the biomero_* view tables are not needed here. */
export class WorkflowEventSource {
  constructor(private readonly pool: pg.Pool) {}

  /** Runs by id: their own events plus every event of the tasks they added, in one statement. */
  readonly runs = new DataLoader<string, WorkflowRun | null>(async (ids) => {
    const valid = ids.map((id) => decodeUuid(id)).filter((id): id is string => id !== null);
    const { rows } = await this.pool.query<StoredEvent>(
      `WITH task_ids AS (
         SELECT (convert_from(t.state, 'UTF8')::jsonb->'task_id'->>'_data_')::uuid AS id
           FROM workflowtracker_events t
          WHERE t.originator_id = ANY($1::uuid[]) AND t.topic = $2)
       SELECT ${EVENT_COLUMNS} FROM workflowtracker_events e
        WHERE e.originator_id = ANY($1::uuid[]) OR e.originator_id IN (SELECT id FROM task_ids)
        ORDER BY e.id`,
      [valid, TASK_ADDED],
    );
    const byRun = new Map<string, StoredEvent[]>();
    const taskToRun = new Map<string, string>();
    for (const row of rows) {
      if (row.topic === TASK_ADDED) {
        const taskId = decodeUuid((row.state as { task_id?: unknown }).task_id);
        if (taskId) taskToRun.set(taskId, row.originator_id);
      }
    }
    for (const row of rows) {
      const runId = taskToRun.get(row.originator_id) ?? row.originator_id;
      byRun.set(runId, [...(byRun.get(runId) ?? []), row]);
    }
    return ids.map((id) => {
      const runId = decodeUuid(id);
      return runId && isUuid(runId) ? foldRun(runId, byRun.get(runId) ?? []) : null;
    });
  });

  /** The run of each task, from the task's TaskCreated (version 0). */
  readonly runOfTask = new DataLoader<string, string | null>(async (taskIds) => {
    const valid = taskIds.map((id) => decodeUuid(id)).filter((id): id is string => id !== null);
    const { rows } = await this.pool.query<{ task_id: string; run_id: string | null }>(
      `SELECT originator_id::text AS task_id, (convert_from(state, 'UTF8')::jsonb->'workflow_id'->>'_data_') AS run_id
         FROM workflowtracker_events WHERE originator_id = ANY($1::uuid[]) AND originator_version = 0`,
      [valid],
    );
    const byTask = new Map(rows.map((r) => [r.task_id, decodeUuid(r.run_id)]));
    return taskIds.map((id) => byTask.get(decodeUuid(id) ?? '') ?? null);
  });

  /** Visible runs, newest first, keyed by the id of their WorkflowInitiated event. */
  async page(scope: GroupScope, page: Page): Promise<{ run_id: string; event_id: number }[]> {
    const { rows } = await this.pool.query<{ run_id: string; event_id: number }>(
      `SELECT e.originator_id::text AS run_id, e.id AS event_id FROM workflowtracker_events e,
              LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS s) j
        WHERE e.topic = $1 AND ($2::bigint IS NULL OR e.id < $2) AND ${VISIBLE(3)}
        ORDER BY e.id DESC LIMIT $7`,
      [INITIATED, page.afterKey, ...groupScopeParams(scope, 'id'), page.limit + 1],
    );
    return rows;
  }

  async count(scope: GroupScope): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM workflowtracker_events e, LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS s) j
        WHERE e.topic = $1 AND ${VISIBLE(2)}`,
      [INITIATED, ...groupScopeParams(scope, 'id')],
    );
    return rows[0].n;
  }
}

/** A stored event with the run it belongs to and the run's owner, for the live stream's filters. */
export interface LiveEvent extends StoredEvent {
  run_id: string | null;
  run_user: number | null;
  run_group: number | null;
}

/**
 * Events lower < id <= upper for the tailer. A task event's run comes from its TaskCreated
 * (version 0, found through the unique (originator_id, originator_version) index).
 */
export async function fetchLiveEvents(client: pg.Pool | pg.PoolClient, lower: number, upper: number | null, limit: number): Promise<LiveEvent[]> {
  const { rows } = await client.query<LiveEvent>(
    `SELECT ${EVENT_COLUMNS}, r.run_id::text AS run_id, (w.s->>'user')::bigint AS run_user, (w.s->>'group')::bigint AS run_group
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
  return rows;
}
