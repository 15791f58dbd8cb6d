/**
 * The scale generator: a large world for benchmarks, written by set-based SQL on top of the demo
 * world (ids clear of it), in the exact shapes OMERO and BIOMERO write.
 *
 *   runs     `runs` workflow runs in one long chain; run r (user alice, group lab-private) has
 *            WorkflowInitiated, TaskCreated, TaskAdded and WorkflowCompleted events; run 0 used
 *            demo images 1 and 2, run r > 0 used the first three images of run r-1
 *   images   `imagesPerRun` result images per run (ids from 1,000,000), each with the
 *            biomero/workflow annotation naming its run
 *
 * So an image's upstream lineage is as deep as asked (depth 20 still reaches new nodes), each hop
 * small, while every statement runs against tables of production size.
 */
import type pg from 'pg';

export const SCALE_IMAGE_BASE = 1_000_000;

export interface ScaleOptions {
  runs: number;
  imagesPerRun: number;
}

export const scaleRunId = (r: number | string) => `md5('scale-run-' || ${r})::uuid::text`;

/** Image id of the i-th result of run r. */
export function scaleImage(options: ScaleOptions, r: number, i = 0): number {
  return SCALE_IMAGE_BASE + r * options.imagesPerRun + i;
}

/** Writes the world unless it is there already; returns whether it wrote. */
export async function generateScaleWorld(
  omero: pg.ClientBase,
  biomero: pg.ClientBase,
  options: ScaleOptions,
  log: (line: string) => void = () => undefined,
): Promise<boolean> {
  const images = options.runs * options.imagesPerRun;
  const last = SCALE_IMAGE_BASE + images - 1;
  const present = await omero.query('SELECT 1 FROM image WHERE id = $1', [last]);
  if (present.rowCount) return false;
  const started = Date.now();
  const step = async (what: string, db: pg.ClientBase, sql: string, params: unknown[] = []) => {
    const t = Date.now();
    await db.query(sql, params);
    log(`  ${what}: ${((Date.now() - t) / 1000).toFixed(1)} s`);
  };
  const p = [SCALE_IMAGE_BASE, images, options.imagesPerRun];
  await step(
    'event',
    omero,
    `INSERT INTO event (id, permissions, time, experimenter, experimentergroup, session, type)
    VALUES (950, -52, '2026-01-01 00:00:00', 2, 3, 2, 4) ON CONFLICT DO NOTHING`,
  );
  // one transaction-free batch per table: the row counts make these the slow part
  await step(
    `${images} images`,
    omero,
    `INSERT INTO image (id, permissions, version, name, archived, partial, series, owner_id, group_id, creation_id, update_id)
    SELECT $1::bigint + g, -120, 0, 'scale_' || g || '.tif', false, false, 0, 2, 3, 950, 950 FROM generate_series(0, $2::bigint - 1) g`,
    p.slice(0, 2),
  );
  await step(
    `${images} annotations`,
    omero,
    `INSERT INTO annotation (discriminator, id, ns, permissions, version, owner_id, group_id, creation_id, update_id)
    SELECT '/map/', $1::bigint + g, 'biomero/workflow', -120, 0, 2, 3, 950, 950 FROM generate_series(0, $2::bigint - 1) g`,
    p.slice(0, 2),
  );
  await step(
    `${images} key-value pairs`,
    omero,
    `INSERT INTO annotation_mapvalue (annotation_id, index, name, value)
    SELECT $1::bigint + g, 0, 'Workflow_ID', ${scaleRunId(`(g / $3::bigint)`)} FROM generate_series(0, $2::bigint - 1) g`,
    p,
  );
  await step(
    `${images} image links`,
    omero,
    `INSERT INTO imageannotationlink (id, permissions, version, parent, child, owner_id, group_id, creation_id, update_id)
    SELECT $1::bigint + g, -120, 0, $1::bigint + g, $1::bigint + g, 2, 3, 950, 950 FROM generate_series(0, $2::bigint - 1) g`,
    p.slice(0, 2),
  );
  await step('analyze omero', omero, 'ANALYZE');

  const hex = (expr: string) => `jsonb_build_object('_type_', 'uuid_hex', '_data_', replace(${expr}, '-', ''))`;
  const time = (offsetSeconds: string) =>
    `jsonb_build_object('_type_', 'datetime_iso', '_data_', to_char(('2026-01-01'::timestamptz + r * interval '1 minute' + ${offsetSeconds} * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))`;
  const run = scaleRunId('r');
  const task = `md5('scale-task-' || r)::uuid::text`;
  const inputs = `CASE WHEN r = 0 THEN jsonb_build_array(1, 2) ELSE jsonb_build_array($1::bigint + (r - 1) * $3::bigint, $1::bigint + (r - 1) * $3::bigint + 1, $1::bigint + (r - 1) * $3::bigint + 2) END`;
  await step(
    `${options.runs * 4} workflow events`,
    biomero,
    `INSERT INTO workflowtracker_events (originator_id, originator_version, topic, state)
    SELECT e.originator_id::uuid, e.version, 'biomero.eventsourcing:' || e.type, convert_to(e.state::text, 'UTF8')
      FROM generate_series(0, $2::bigint - 1) r
     CROSS JOIN LATERAL (VALUES
       (1, ${run}, 0, 'WorkflowRun.WorkflowInitiated', jsonb_build_object('timestamp', ${time('0')}, 'originator_topic', 'biomero.eventsourcing:WorkflowRun', 'name', 'Slurm Workflow', 'description', 'scale\n2.0.1', 'user', 2, 'group', 3)),
       (2, ${task}, 0, 'Task.TaskCreated', jsonb_build_object('timestamp', ${time('1')}, 'originator_topic', 'biomero.eventsourcing:Task', 'workflow_id', ${hex(run)}, 'task_name', 'cellpose', 'task_version', 'v1.4.0', 'input_data', 'scale', 'params', jsonb_build_object('IDs', ${inputs}, 'Data_Type', 'Image'))),
       (3, ${run}, 1, 'WorkflowRun.TaskAdded', jsonb_build_object('timestamp', ${time('1')}, 'task_id', ${hex(task)})),
       (4, ${run}, 2, 'WorkflowRun.WorkflowCompleted', jsonb_build_object('timestamp', ${time('30')}))
     ) AS e(n, originator_id, version, type, state)
     ORDER BY r, e.n`,
    [SCALE_IMAGE_BASE, options.runs, options.imagesPerRun],
  );
  await step('analyze biomero', biomero, 'ANALYZE');
  log(`  scale world written in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return true;
}
