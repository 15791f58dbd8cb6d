import type pg from 'pg';
import { groupScope, groupScopeParams, groupScopeSql } from '../../common/access';
import type { Caller } from '../../common/identity';
import { IMPORT_NAMESPACES as IMPORT_NS, WORKFLOW_NAMESPACE as WORKFLOW_NS } from '../../common/namespaces';
import { visibleToCaller } from '../../common/omero-access';

export interface Edge {
  relation: 'USED' | 'WAS_GENERATED_BY';
  from: string;
  to: string;
}

const TASK_CREATED = 'biomero.eventsourcing:Task.TaskCreated';
const TASK_ADDED = 'biomero.eventsourcing:WorkflowRun.TaskAdded';
const INITIATED = 'biomero.eventsourcing:WorkflowRun.WorkflowInitiated';

/**
 * Edge reads for the lineage walk. Each method takes the whole frontier of one type and runs one
 * statement, so the walk costs a fixed number of statements per hop however many nodes it holds.
 */
export class LineageSource {
  /** statements run, for the per-hop cost test */
  statements = 0;

  constructor(
    private readonly omero: pg.Pool,
    private readonly biomero: pg.Pool,
    private readonly caller: Caller,
  ) {}

  private q<R extends pg.QueryResultRow>(pool: pg.Pool, sql: string, params: unknown[]) {
    this.statements++;
    return pool.query<R>(sql, params);
  }

  /** Image wasGeneratedBy ImportOrder (UUID annotation) / WorkflowRun (Workflow_ID annotation). */
  async generatorsOfImages(imageIds: number[]): Promise<Edge[]> {
    const { rows } = await this.q<{ image: number; name: string; value: string }>(
      this.omero,
      `SELECT l.parent AS image, mv.name, mv.value FROM imageannotationlink l
         JOIN annotation a ON a.id = l.child JOIN annotation_mapvalue mv ON mv.annotation_id = a.id
        WHERE l.parent = ANY($1::bigint[]) AND a.discriminator = '/map/'
          AND ((a.ns = ANY($2::text[]) AND mv.name = 'UUID') OR (a.ns = $3 AND mv.name = 'Workflow_ID'))`,
      [imageIds, IMPORT_NS, WORKFLOW_NS],
    );
    return rows.map((r) => ({ relation: 'WAS_GENERATED_BY', from: `Image:${r.image}`, to: `${r.name === 'UUID' ? 'ImportOrder' : 'WorkflowRun'}:${r.value.trim().toLowerCase()}` }));
  }

  /** Images an ImportOrder or WorkflowRun generated (the reverse annotation lookup). */
  async imagesGeneratedBy(orderUuids: string[], runIds: string[]): Promise<Edge[]> {
    const { rows } = await this.q<{ image: number; name: string; value: string }>(
      this.omero,
      `SELECT l.parent AS image, mv.name, lower(trim(mv.value)) AS value FROM annotation_mapvalue mv
         JOIN annotation a ON a.id = mv.annotation_id JOIN imageannotationlink l ON l.child = a.id
        WHERE a.discriminator = '/map/'
          AND ((a.ns = ANY($1::text[]) AND mv.name = 'UUID' AND lower(trim(mv.value)) = ANY($2::text[]))
            OR (a.ns = $3 AND mv.name = 'Workflow_ID' AND lower(trim(mv.value)) = ANY($4::text[])))`,
      [IMPORT_NS, orderUuids, WORKFLOW_NS, runIds],
    );
    return rows.map((r) => ({ relation: 'WAS_GENERATED_BY', from: `Image:${r.image}`, to: `${r.name === 'UUID' ? 'ImportOrder' : 'WorkflowRun'}:${r.value}` }));
  }

  /** WorkflowRun used Image: image ids in its tasks' `IDs` parameter when Data_Type is Image. */
  async inputsOfRuns(runIds: string[]): Promise<Edge[]> {
    const { rows } = await this.q<{ run: string; image: string }>(
      this.biomero,
      `SELECT DISTINCT a.originator_id::text AS run, jsonb_array_elements_text(p.params->'IDs') AS image
         FROM workflowtracker_events a
         JOIN workflowtracker_events c ON c.originator_id = (convert_from(a.state, 'UTF8')::jsonb->'task_id'->>'_data_')::uuid AND c.originator_version = 0
         CROSS JOIN LATERAL (SELECT convert_from(c.state, 'UTF8')::jsonb->'params' AS params) p
        WHERE a.originator_id = ANY($1::uuid[]) AND a.topic = $2 AND c.topic = $3
          AND jsonb_typeof(p.params->'IDs') = 'array' AND coalesce(p.params->>'Data_Type', 'Image') = 'Image'`,
      [runIds, TASK_ADDED, TASK_CREATED],
    );
    return rows.filter((r) => /^\d+$/.test(r.image)).map((r) => ({ relation: 'USED', from: `WorkflowRun:${r.run}`, to: `Image:${Number(r.image)}` }));
  }

  /** Runs that used any of these images (downstream). */
  async runsUsingImages(imageIds: number[]): Promise<Edge[]> {
    const { rows } = await this.q<{ run: string; image: string }>(
      this.biomero,
      `SELECT DISTINCT (s.state->'workflow_id'->>'_data_')::uuid::text AS run, img AS image
         FROM workflowtracker_events c
         CROSS JOIN LATERAL (SELECT convert_from(c.state, 'UTF8')::jsonb AS state) s
         CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(s.state->'params'->'IDs') = 'array' THEN s.state->'params'->'IDs' ELSE '[]'::jsonb END) img
        WHERE c.topic = $1 AND coalesce(s.state->'params'->>'Data_Type', 'Image') = 'Image' AND img = ANY($2::text[])`,
      [TASK_CREATED, imageIds.map(String)],
    );
    return rows.map((r) => ({ relation: 'USED', from: `WorkflowRun:${r.run}`, to: `Image:${Number(r.image)}` }));
  }

  /** Which of these nodes the caller may see (OMERO rules; orders and runs by their group). */
  async visible(images: number[], orders: string[], runs: string[]): Promise<Set<string>> {
    const seen = new Set<string>();
    const caller = this.caller;
    if (!caller) return seen;
    const scope = groupScope(caller);
    const [img, ord, run] = await Promise.all([
      images.length
        ? this.q<{ id: number }>(this.omero, `SELECT x.id FROM image x WHERE x.id = ANY($2::bigint[]) AND ${visibleToCaller('x', '$1', caller)}`, [caller.userId, images])
        : null,
      orders.length
        ? this.q<{ uuid: string }>(
            this.biomero,
            `SELECT uuid FROM imports WHERE lower(uuid) = ANY($1::text[]) GROUP BY uuid
              HAVING ${groupScopeSql('min(group_name)', 'min(user_name)', 2, 'name')}`,
            [orders, ...groupScopeParams(scope, 'name')],
          )
        : null,
      runs.length
        ? this.q<{ id: string }>(
            this.biomero,
            `SELECT e.originator_id::text AS id FROM workflowtracker_events e, LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS s) j
              WHERE e.originator_id = ANY($1::uuid[]) AND e.topic = $2
                AND ${groupScopeSql(`(j.s->>'group')::bigint`, `(j.s->>'user')::bigint`, 3, 'id')}`,
            [runs, INITIATED, ...groupScopeParams(scope, 'id')],
          )
        : null,
    ]);
    img?.rows.forEach((r) => seen.add(`Image:${r.id}`));
    ord?.rows.forEach((r) => seen.add(`ImportOrder:${r.uuid.toLowerCase()}`));
    run?.rows.forEach((r) => seen.add(`WorkflowRun:${r.id}`));
    return seen;
  }
}
