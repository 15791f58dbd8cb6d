import { createHash } from 'node:crypto';
import type pg from 'pg';
import { groupScope, groupScopeParams, groupScopeSql } from '../../common/access';
import type { Caller } from '../../common/identity';
import { IMPORT_NAMESPACES as IMPORT_NS, WORKFLOW_NAMESPACE as WORKFLOW_NS } from '../../common/namespaces';
import { visibleToCaller } from '../../common/access';
import { parseJsonList } from '../../imports/source/orders';
import { redactText, runSecrets, STATUS_EVENT_TOPICS, type EventText } from '../../workflows/redact';
import { parseImageReference } from '../../common/image-reference';

export type Relation = 'USED' | 'WAS_GENERATED_BY' | 'WAS_DERIVED_FROM' | 'WAS_ASSOCIATED_WITH' | 'WAS_ATTRIBUTED_TO' | 'HAD_PLAN';

/** One PROV relation between two global ids, `from` being the PROV subject (docs/provenance.md). */
export interface Edge {
  relation: Relation;
  from: string;
  to: string;
}

/** The frontier of one hop, by node type. */
export interface Frontier {
  images: string[];
  plates: string[];
  orders: string[];
  runs: string[];
  files: string[];
}

export interface Scope {
  upstream: boolean;
  downstream: boolean;
  /** ignore everything recorded after this instant (null: now) */
  asOf: Date | null;
}

/** What admission learns about a visible node; the exports and agent edges are built from it. */
export interface NodeFacts {
  name?: string | null;
  /** OMERO owner id (images, plates) or run user id */
  userId?: number | null;
  /** import orders name their user */
  userName?: string | null;
  startedAt?: Date | null;
  endedAt?: Date | null;
  /** COMPLETED, FAILED or RUNNING for activities, as of `asOf` */
  status?: 'COMPLETED' | 'FAILED' | 'RUNNING' | null;
  error?: string | null;
  /** the workflow (main task) of a run, or the preprocessing container of an import order */
  software?: { name: string; version: string | null } | null;
}

const TOPIC = 'biomero.eventsourcing';
const TASK_CREATED = `${TOPIC}:Task.TaskCreated`;
const TASK_ADDED = `${TOPIC}:WorkflowRun.TaskAdded`;
const INITIATED = `${TOPIC}:WorkflowRun.WorkflowInitiated`;
const COMPLETED = `${TOPIC}:WorkflowRun.WorkflowCompleted`;
const FAILED = `${TOPIC}:WorkflowRun.WorkflowFailed`;

/** Event time as written by eventsourcing: `{"timestamp": {"_type_": "datetime_iso", "_data_": "…+00:00"}}`. */
const EVENT_TIME = (alias: string) => `(convert_from(${alias}.state, 'UTF8')::jsonb->'timestamp'->>'_data_')::timestamptz`;
/** OMERO `event.time` is a naive timestamp; the server writes UTC here (and db.ts reads it as UTC). */
const OMERO_AS_OF = (eventAlias: string, param: string) =>
  `(${param}::timestamptz IS NULL OR ${eventAlias}.time <= (${param}::timestamptz AT TIME ZONE 'UTC'))`;

/** BIOMERO's rule for a run's main task: the first not named _slurm_*, slurm_* or convert_* (views.py). */
export function isMainTask(name: string): boolean {
  return !/^(_slurm_|slurm_|convert_)/i.test(name);
}

/**
 * Edge and admission reads of the lineage walk. Every method takes the whole frontier of a hop and
 * runs one statement against one database, so a hop costs at most two statements per source
 * (edges, then admission of the new nodes) however many nodes it holds.
 */
export class LineageSource {
  /** statements run, for the per-hop cost test and the benchmark */
  statements = 0;

  constructor(
    private readonly omero: pg.Pool,
    private readonly biomero: pg.Pool,
    private readonly caller: Caller,
  ) {}

  /**
   * Runs one statement as a named prepared statement: PostgreSQL plans the walk's few statement
   * shapes once per connection instead of on every hop (planning these unions took ten times
   * longer than running them). The branches a hop does not need are switched off by boolean
   * parameters, which a cached plan evaluates once as a one-time filter.
   */
  private q<R extends pg.QueryResultRow>(pool: pg.Pool, sql: string, params: unknown[]) {
    this.statements++;
    return pool.query<R>({ name: statementName(sql), text: sql, values: params });
  }

  /**
   * OMERO side, one statement: upstream, the ImportOrder (UUID under biomero.import or
   * omeroadi.import) and WorkflowRun (Workflow_ID under biomero/workflow) named by annotations on
   * frontier images and plates; downstream, the images and plates annotated with frontier orders
   * and runs (matched on the exact value, as BIOMERO writes it: lower-case, so OMERO's index on
   * annotation_mapvalue.value serves it). Annotations created after `asOf` do not count.
   */
  async omeroEdges(f: Frontier, scope: Scope): Promise<Edge[]> {
    const wantUp = scope.upstream && (f.images.length > 0 || f.plates.length > 0);
    const wantDown = scope.downstream && (f.orders.length > 0 || f.runs.length > 0);
    if (!wantUp && !wantDown) return [];
    const kv = `a.discriminator = '/map/'
          AND ((a.ns = ANY($3::text[]) AND mv.name = 'UUID') OR (a.ns = $4 AND mv.name = 'Workflow_ID'))
          AND ${OMERO_AS_OF('ev', '$7')}`;
    const { rows } = await this.q<{ type: string; id: string; name: string; value: string }>(
      this.omero,
      `SELECT 'Image' AS type, l.parent::text AS id, mv.name, lower(trim(mv.value)) AS value
         FROM imageannotationlink l JOIN annotation a ON a.id = l.child
         JOIN annotation_mapvalue mv ON mv.annotation_id = a.id JOIN event ev ON ev.id = a.creation_id
        WHERE $8::boolean AND l.parent = ANY($1::bigint[]) AND ${kv}
       UNION ALL
       SELECT 'Plate', l.parent::text, mv.name, lower(trim(mv.value))
         FROM plateannotationlink l JOIN annotation a ON a.id = l.child
         JOIN annotation_mapvalue mv ON mv.annotation_id = a.id JOIN event ev ON ev.id = a.creation_id
        WHERE $8::boolean AND l.parent = ANY($2::bigint[]) AND ${kv}
       UNION ALL
       SELECT 'Image', l.parent::text, mv.name, lower(trim(mv.value))
         FROM annotation_mapvalue mv JOIN annotation a ON a.id = mv.annotation_id
         JOIN imageannotationlink l ON l.child = a.id JOIN event ev ON ev.id = a.creation_id
        WHERE $9::boolean AND mv.value = ANY($5::text[] || $6::text[]) AND ${kv}
       UNION ALL
       SELECT 'Plate', l.parent::text, mv.name, lower(trim(mv.value))
         FROM annotation_mapvalue mv JOIN annotation a ON a.id = mv.annotation_id
         JOIN plateannotationlink l ON l.child = a.id JOIN event ev ON ev.id = a.creation_id
        WHERE $9::boolean AND mv.value = ANY($5::text[] || $6::text[]) AND ${kv}`,
      [f.images, f.plates, IMPORT_NS, WORKFLOW_NS, f.orders, f.runs, scope.asOf, wantUp, wantDown],
    );
    const objects = new Set([...f.images.map((i) => `Image:${i}`), ...f.plates.map((p) => `Plate:${p}`)]);
    const orders = new Set(f.orders);
    const runs = new Set(f.runs);
    const edges: Edge[] = [];
    for (const r of rows) {
      const activity = r.name === 'UUID' ? 'ImportOrder' : 'WorkflowRun';
      // the downstream half matches on the value alone: keep only pairs of the right kind
      if (!(wantUp && objects.has(`${r.type}:${r.id}`)) && !(wantDown && (activity === 'ImportOrder' ? orders : runs).has(r.value))) continue;
      edges.push({ relation: 'WAS_GENERATED_BY', from: `${r.type}:${r.id}`, to: `${activity}:${r.value}` });
    }
    return edges;
  }

  /**
   * BIOMERO side, one statement: upstream, the images/plates a run's tasks read (the `IDs`
   * parameter with its `Data_Type`) and the source files of an import order; downstream, the
   * runs that read frontier images/plates and the orders that name frontier files. Events and
   * stage rows after `asOf` do not count.
   */
  async biomeroEdges(f: Frontier, scope: Scope): Promise<Edge[]> {
    const upRuns = scope.upstream && f.runs.length > 0;
    const upOrders = scope.upstream && f.orders.length > 0;
    const downObjects = scope.downstream && (f.images.length > 0 || f.plates.length > 0);
    const downFiles = scope.downstream && f.files.length > 0;
    if (!upRuns && !upOrders && !downObjects && !downFiles) return [];
    const objectIds = [...f.images, ...f.plates];
    const { rows } = await this.q<{
      kind: string;
      run: string | null;
      data_type: string | null;
      object: string | null;
      uuid: string | null;
      files: string | null;
    }>(
      this.biomero,
      `WITH tasks AS (
         -- upstream: the run's tasks through its TaskAdded events (the store's unique index on
         -- originator_id serves both lookups)
         SELECT (convert_from(a.state, 'UTF8')::jsonb->'task_id'->>'_data_')::uuid AS task
           FROM workflowtracker_events a
          WHERE $7::boolean AND a.originator_id = ANY($3::uuid[]) AND a.topic = $11
       ), created AS (
         SELECT (s.j->'workflow_id'->>'_data_')::uuid::text AS run, s.j->'params' AS params, ${EVENT_TIME('c')} AS at
           FROM workflowtracker_events c CROSS JOIN LATERAL (SELECT convert_from(c.state, 'UTF8')::jsonb AS j) s
          WHERE c.topic = $1 AND c.originator_version = 0 AND c.originator_id IN (SELECT task FROM tasks)
         UNION ALL
         -- downstream: every task whose IDs name a frontier object (a scan of TaskCreated events)
         SELECT (s.j->'workflow_id'->>'_data_')::uuid::text, s.j->'params', ${EVENT_TIME('c')}
           FROM workflowtracker_events c CROSS JOIN LATERAL (SELECT convert_from(c.state, 'UTF8')::jsonb AS j) s
          WHERE $8::boolean AND c.topic = $1 AND jsonb_typeof(s.j->'params'->'IDs') = 'array'
            AND EXISTS (SELECT 1 FROM jsonb_array_elements_text(s.j->'params'->'IDs') x WHERE x = ANY($4::text[]))
       )
       SELECT 'task' AS kind, c.run, coalesce(c.params->>'Data_Type', 'Image') AS data_type, img AS object, NULL AS uuid, NULL AS files
         FROM created c CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(c.params->'IDs') = 'array' THEN c.params->'IDs' ELSE '[]'::jsonb END) img
        WHERE ($2::timestamptz IS NULL OR c.at <= $2)
       UNION ALL
       SELECT DISTINCT 'order', NULL, NULL, NULL, lower(i.uuid), i.files
         FROM imports i
        WHERE (($9::boolean AND i.uuid = ANY($5::text[]))
               OR ($10::boolean AND EXISTS (SELECT 1 FROM unnest($6::text[]) p WHERE strpos(i.files, to_json(p)::text) > 0)))
          AND ($2::timestamptz IS NULL OR i."timestamp" <= $2)`,
      [TASK_CREATED, scope.asOf, f.runs, objectIds.map(String), f.orders, f.files, upRuns, downObjects, upOrders, downFiles, TASK_ADDED],
    );
    const edges: Edge[] = [];
    const images = new Set(f.images);
    const plates = new Set(f.plates);
    const runs = new Set(f.runs);
    const orders = new Set(f.orders);
    const files = new Set(f.files);
    for (const r of rows) {
      if (r.kind === 'task') {
        if (!r.object || !/^\d{1,18}$/.test(r.object) || !r.run) continue;
        const type = r.data_type === 'Plate' ? 'Plate' : r.data_type === 'Image' ? 'Image' : null;
        if (!type) continue; // Dataset-level inputs are not lineage of single objects
        const object = String(BigInt(r.object));
        const fromRun = upRuns && runs.has(r.run);
        const toObject = downObjects && (type === 'Image' ? images : plates).has(object);
        if (fromRun || toObject) edges.push({ relation: 'USED', from: `WorkflowRun:${r.run}`, to: `${type}:${object}` });
      } else if (r.uuid) {
        for (const path of parseJsonList(r.files)) {
          if ((upOrders && orders.has(r.uuid)) || (downFiles && files.has(path))) {
            edges.push({ relation: 'USED', from: `ImportOrder:${r.uuid}`, to: `SourceFile:${path}` });
          }
        }
      }
    }
    return edges;
  }

  /**
   * Which of these OMERO objects the caller may see (OMERO's rules, in SQL) and that existed at
   * `asOf`, with their names and owners. One statement.
   */
  async admitOmero(images: string[], plates: string[], asOf: Date | null): Promise<Map<string, NodeFacts>> {
    const admitted = new Map<string, NodeFacts>();
    const caller = this.caller;
    if (!caller || (images.length === 0 && plates.length === 0)) return admitted;
    const { rows } = await this.q<{ type: string; id: string; name: string; owner_id: string; created: Date }>(
      this.omero,
      `SELECT 'Image' AS type, x.id::text AS id, x.name, x.owner_id::text AS owner_id, ev.time AS created
         FROM image x JOIN event ev ON ev.id = x.creation_id
        WHERE x.id = ANY($2::bigint[]) AND ${visibleToCaller('x', '$1', caller)} AND ${OMERO_AS_OF('ev', '$4')}
       UNION ALL
       SELECT 'Plate', x.id::text, x.name, x.owner_id::text, ev.time
         FROM plate x JOIN event ev ON ev.id = x.creation_id
        WHERE x.id = ANY($3::bigint[]) AND ${visibleToCaller('x', '$1', caller)} AND ${OMERO_AS_OF('ev', '$4')}`,
      [caller.userId, images, plates, asOf],
    );
    for (const r of rows) admitted.set(`${r.type}:${r.id}`, { name: r.name, userId: Number(r.owner_id), startedAt: r.created });
    return admitted;
  }

  /**
   * Which import orders, workflow runs and source files the caller may see (their group scope,
   * in SQL) as of `asOf`, with who ran them, when, how they ended and with what software. One
   * statement. A source file is visible when a visible order names it.
   */
  async admitBiomero(orders: string[], runs: string[], files: string[], asOf: Date | null): Promise<Map<string, NodeFacts>> {
    const admitted = new Map<string, NodeFacts>();
    const caller = this.caller;
    if (!caller || (orders.length === 0 && runs.length === 0 && files.length === 0)) return admitted;
    const scope = groupScope(caller);
    const { rows } = await this.q<{
      kind: string;
      key: string;
      user_id: string | null;
      user_name: string | null;
      started: Date | null;
      ended: Date | null;
      status: string | null;
      error: string | null;
      software: string | null;
      version: string | null;
      files: string | null;
      name: string | null;
      revealing: EventText[] | null;
    }>(
      this.biomero,
      `WITH stages AS (
         SELECT lower(i.uuid) AS uuid, i.user_name, i.group_name, i.stage, i."timestamp", i.files, i.preprocessing_id, i.id
           FROM imports i
          WHERE (i.uuid = ANY($1::text[]) OR EXISTS (SELECT 1 FROM unnest($3::text[]) p WHERE strpos(i.files, to_json(p)::text) > 0))
            AND ($4::timestamptz IS NULL OR i."timestamp" <= $4)
       ), orders AS (
         SELECT DISTINCT ON (uuid) uuid, user_name, group_name, stage, files, preprocessing_id,
                min("timestamp") OVER (PARTITION BY uuid) AS started, "timestamp" AS last
           FROM stages ORDER BY uuid, "timestamp" DESC, id DESC
       ), runs AS (
         SELECT e.originator_id, (j.s->>'user')::bigint AS user_id, (j.s->>'group')::bigint AS group_id, j.s->>'name' AS name, ${EVENT_TIME('e')} AS started
           FROM workflowtracker_events e CROSS JOIN LATERAL (SELECT convert_from(e.state, 'UTF8')::jsonb AS s) j
          WHERE e.originator_id = ANY($2::uuid[]) AND e.topic = $5 AND ($4::timestamptz IS NULL OR ${EVENT_TIME('e')} <= $4)
       )
       SELECT 'order' AS kind, o.uuid AS key, NULL AS user_id, o.user_name, o.started, o.last AS ended, o.stage AS status, NULL AS error,
              p.container AS software, NULL AS version, o.files, NULL AS name, NULL::jsonb AS revealing
         FROM orders o LEFT JOIN imports_preprocessing p ON p.id = o.preprocessing_id
        WHERE ${groupScopeSql('o.group_name', 'o.user_name', 8, 'name')}
       UNION ALL
       SELECT 'run', r.originator_id::text, r.user_id::text, NULL, r.started, fin.at, fin.topic, fin.error, task.name, task.version, NULL, r.name, sec.revealing
         FROM runs r
         LEFT JOIN LATERAL (
           SELECT f.topic, ${EVENT_TIME('f')} AS at, convert_from(f.state, 'UTF8')::jsonb->>'error_message' AS error
             FROM workflowtracker_events f
            WHERE f.originator_id = r.originator_id AND f.topic IN ($6, $7) AND ($4::timestamptz IS NULL OR ${EVENT_TIME('f')} <= $4)
            ORDER BY f.originator_version DESC LIMIT 1) fin ON true
         LEFT JOIN LATERAL (
           SELECT tj.s->>'task_name' AS name, tj.s->>'task_version' AS version
             FROM workflowtracker_events a
             JOIN workflowtracker_events c ON c.originator_id = (convert_from(a.state, 'UTF8')::jsonb->'task_id'->>'_data_')::uuid AND c.originator_version = 0
             CROSS JOIN LATERAL (SELECT convert_from(c.state, 'UTF8')::jsonb AS s) tj
            WHERE a.originator_id = r.originator_id AND a.topic = $12
              AND tj.s->>'task_name' !~* '^(_slurm_|slurm_|convert_)'
              AND ($4::timestamptz IS NULL OR ${EVENT_TIME('a')} <= $4)
            ORDER BY a.originator_version LIMIT 1) task ON true
         -- a failed run's error may quote a secret another of its events revealed: those events
         -- (all of them, whatever asOf), read for failed runs only (workflows/redact.ts)
         LEFT JOIN LATERAL (
           SELECT jsonb_agg(jsonb_build_object('topic', x.topic, 'state', convert_from(x.state, 'UTF8')::jsonb)) AS revealing
             FROM workflowtracker_events x
            WHERE fin.error IS NOT NULL AND x.topic <> ALL($17::text[])
              AND x.originator_id = ANY(ARRAY(
                    SELECT r.originator_id
                    UNION
                    SELECT (convert_from(a.state, 'UTF8')::jsonb->'task_id'->>'_data_')::uuid FROM workflowtracker_events a
                     WHERE a.originator_id = r.originator_id AND a.topic = $12))) sec ON true
        WHERE ${groupScopeSql('r.group_id', 'r.user_id', 13, 'id')}`,
      [
        orders,
        runs,
        files,
        asOf,
        INITIATED,
        COMPLETED,
        FAILED,
        ...groupScopeParams(scope, 'name'),
        TASK_ADDED,
        ...groupScopeParams(scope, 'id'),
        STATUS_EVENT_TOPICS,
      ],
    );
    const wanted = new Set(orders);
    const wantedFiles = new Set(files);
    for (const r of rows) {
      if (r.kind === 'run') {
        // BIOMERO's text, redacted as the workflows subgraph redacts it (docs/security.md)
        const secrets = runSecrets(r.revealing ?? []);
        const clean = (text: string | null) => (text === null ? null : redactText(text, secrets));
        admitted.set(`WorkflowRun:${r.key}`, {
          name: clean(r.name),
          userId: r.user_id === null ? null : Number(r.user_id),
          startedAt: r.started,
          endedAt: r.ended,
          status: r.status === COMPLETED ? 'COMPLETED' : r.status === FAILED ? 'FAILED' : 'RUNNING',
          error: clean(r.error),
          software: r.software ? { name: clean(r.software)!, version: clean(r.version) } : null,
        });
        continue;
      }
      const named = parseJsonList(r.files);
      for (const path of named) if (wantedFiles.has(path)) admitted.set(`SourceFile:${path}`, { name: path.slice(path.lastIndexOf('/') + 1) });
      if (!wanted.has(r.key)) continue;
      const finished = r.status === 'Import Completed' || r.status === 'Import Failed';
      admitted.set(`ImportOrder:${r.key}`, {
        name: r.status,
        userName: r.user_name,
        startedAt: r.started,
        endedAt: finished ? r.ended : null,
        status: r.status === 'Import Completed' ? 'COMPLETED' : r.status === 'Import Failed' ? 'FAILED' : 'RUNNING',
        software: r.software ? containerSoftware(r.software) : null,
      });
    }
    return admitted;
  }

  /** OMERO experimenters by id or user name (the agents of the admitted nodes). One statement. */
  async experimenters(ids: number[], names: string[]): Promise<Array<{ id: number; userName: string; fullName: string }>> {
    if (ids.length === 0 && names.length === 0) return [];
    const { rows } = await this.q<{ id: string; omename: string; firstname: string; lastname: string }>(
      this.omero,
      `SELECT id::text, omename, firstname, lastname FROM experimenter WHERE id = ANY($1::bigint[]) OR omename = ANY($2::text[])`,
      [ids, names],
    );
    return rows.map((r) => ({ id: Number(r.id), userName: r.omename, fullName: `${r.firstname} ${r.lastname}`.trim() }));
  }
}

const names = new Map<string, string>();
/** A stable name per statement text (the texts vary only with the caller's visibility shortcut). */
function statementName(sql: string): string {
  let name = names.get(sql);
  if (!name) {
    name = `og_lineage_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
    if (names.size < 64) names.set(sql, name);
  }
  return name;
}

/** A container image as a Software agent: its name, and its tag (else digest) as the version. */
export function containerSoftware(reference: string): { name: string; version: string | null } {
  const parsed = parseImageReference(reference);
  return parsed ? { name: parsed.name, version: parsed.tag ?? parsed.digest } : { name: reference, version: null };
}
