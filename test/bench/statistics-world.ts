/**
 * Workflow runs for usage statistics, written by one set-based INSERT the way BIOMERO writes them
 * (SLURM_Run_Workflow.py + SlurmClient + the job poller), like scale.ts writes its world. Run r:
 *
 *   created   `from` + r × `spacingSeconds`; owner/group `owners[r % owners.length]`
 *   workflow  `WORKFLOWS[r % 4]`, version v1.<r % 3>.0
 *   tasks     _SLURM_Image_Transfer.py, convert_zarr_to_tiff (a Slurm job), the workflow (a Slurm
 *             job: PENDING, RUNNING after `queueSeconds(r)`, a final state `runSeconds(r)` later),
 *             SLURM_Get_Results.py, SLURM_Import_Results.py — the last two only for finished runs
 *   outcome   by r % 10: 0 the workflow job FAILED and the run failed; 1 still RUNNING; 2 still
 *             PENDING; else COMPLETED, results imported, WorkflowCompleted
 *
 * Days with no run appear when `spacingSeconds` exceeds a day. Ids derive from `tag` and r.
 */
import type pg from 'pg';

export const WORKFLOWS = ['cellpose', 'stardist', 'cellprofiler', 'cellexpansion'];

export interface StatisticsWorldOptions {
  runs: number;
  from: Date;
  spacingSeconds: number;
  owners: { user: number; group: number }[];
  /** distinguishes the ids of separate generations */
  tag: string;
}

/** The same numbers in TypeScript, for tests that check the generated world. */
export const queueSeconds = (r: number) => (r * 7) % 600;
export const runSeconds = (r: number) => ((r * 13) % 3600) + 60;

export async function generateStatisticsRuns(biomero: pg.Pool | pg.ClientBase, o: StatisticsWorldOptions): Promise<void> {
  const id = (what: string, r = 'r') => `md5($6 || '-${what}-' || ${r})::uuid`;
  const hex = (uuid: string) => `jsonb_build_object('_type_', 'uuid_hex', '_data_', replace(${uuid}::text, '-', ''))`;
  const run = id('run');
  const task = (k: number) => id(`task${k}`);
  // seconds after creation; q = queue wait, d = run time of the workflow job
  const at = (offset: string) =>
    `jsonb_build_object('_type_', 'datetime_iso', '_data_', to_char(($2::timestamptz + (r * $3::float8 + ${offset}) * interval '1 second') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'))`;
  const state = (offset: string, fields: string) => `jsonb_build_object('timestamp', ${at(offset)}${fields ? `, ${fields}` : ''})`;
  const created = (k: number, name: string, version: string, offset: string) =>
    `(${task(k)}, 0, 'Task.TaskCreated', ${state(offset, `'originator_topic', 'biomero.eventsourcing:Task', 'workflow_id', ${hex(run)}, 'task_name', ${name}, 'task_version', ${version}, 'input_data', 'generated', 'params', jsonb_build_object('IDs', jsonb_build_array(1), 'Data_Type', 'Image')`)}, true)`;
  const added = (k: number, offset: string) => `(${run}, ${k + 1}, 'WorkflowRun.TaskAdded', ${state(offset, `'task_id', ${hex(task(k))}`)}, true)`;
  const ev = (origin: string, version: number, type: string, offset: string, fields = '', keep = 'true') =>
    `(${origin}, ${version}, '${type}', ${state(offset, fields)}, ${keep})`;
  const finished = `(r % 10 NOT IN (1, 2))`;
  const failed = `(r % 10 = 0)`;
  const jobRan = `(r % 10 <> 2)`;
  const end = `(53 + q + d)`;
  await biomero.query(
    `INSERT INTO workflowtracker_events (originator_id, originator_version, topic, state)
     SELECT e.originator_id, e.version, 'biomero.eventsourcing:' || e.type, convert_to(e.state::text, 'UTF8')
       FROM generate_series(0, $1::int - 1) r
      CROSS JOIN LATERAL (SELECT (r * 7) % 600 AS q, (r * 13) % 3600 + 60 AS d, ($4::int[])[r % cardinality($4::int[]) + 1] AS owner,
                                 ($5::int[])[r % cardinality($5::int[]) + 1] AS grp, $7::text[] AS wf) p
      CROSS JOIN LATERAL (VALUES
        ${ev(run, 0, 'WorkflowRun.WorkflowInitiated', '0', `'originator_topic', 'biomero.eventsourcing:WorkflowRun', 'name', 'Slurm Workflow', 'description', 'generated' || chr(10) || '2.0.1', 'user', owner, 'group', grp`)},
        ${created(0, `'_SLURM_Image_Transfer.py'`, `'2.0.1'`, '1')},
        ${added(0, '1')},
        ${ev(task(0), 1, 'Task.TaskCompleted', '5', `'result', 'Transferred'`)},
        ${created(1, `'convert_zarr_to_tiff'`, `'v1.16.0'`, '10')},
        ${added(1, '10')},
        ${ev(task(1), 1, 'Task.JobIdAdded', '11', `'job_id', 2000000 + r * 2`)},
        ${ev(task(1), 2, 'Task.StatusUpdated', '12', `'status', 'RUNNING'`)},
        ${ev(task(1), 3, 'Task.StatusUpdated', '40', `'status', 'COMPLETED'`)},
        ${ev(task(1), 4, 'Task.TaskCompleted', '41', `'result', 'converted'`)},
        ${created(2, `wf[r % 4 + 1]`, `'v1.' || (r % 3) || '.0'`, '50')},
        ${added(2, '50')},
        ${ev(task(2), 1, 'Task.JobIdAdded', '51', `'job_id', 2000000 + r * 2 + 1`)},
        ${ev(task(2), 2, 'Task.StatusUpdated', '52', `'status', 'PENDING'`)},
        ${ev(task(2), 3, 'Task.StatusUpdated', '(51 + q)', `'status', 'RUNNING'`, jobRan)},
        ${ev(task(2), 4, 'Task.StatusUpdated', end, `'status', CASE WHEN r % 10 = 0 THEN 'FAILED' ELSE 'COMPLETED' END`, finished)},
        ${ev(task(2), 5, 'Task.TaskFailed', `${end} + 1`, `'error_message', 'job failed'`, failed)},
        ${ev(task(2), 5, 'Task.TaskCompleted', `${end} + 1`, `'result', 'done'`, `${finished} AND NOT ${failed}`)},
        ${ev(run, 4, 'WorkflowRun.WorkflowFailed', `${end} + 2`, `'error_message', 'job failed'`, failed)},
        (${task(3)}, 0, 'Task.TaskCreated', ${state(`${end} + 5`, `'originator_topic', 'biomero.eventsourcing:Task', 'workflow_id', ${hex(run)}, 'task_name', 'SLURM_Get_Results.py', 'task_version', '2.0.1', 'input_data', 'generated', 'params', '{}'::jsonb`)}, ${finished} AND NOT ${failed}),
        (${run}, 4, 'WorkflowRun.TaskAdded', ${state(`${end} + 5`, `'task_id', ${hex(task(3))}`)}, ${finished} AND NOT ${failed}),
        ${ev(task(3), 1, 'Task.TaskCompleted', `${end} + 20`, `'result', 'retrieved'`, `${finished} AND NOT ${failed}`)},
        (${task(4)}, 0, 'Task.TaskCreated', ${state(`${end} + 21`, `'originator_topic', 'biomero.eventsourcing:Task', 'workflow_id', ${hex(run)}, 'task_name', 'SLURM_Import_Results.py', 'task_version', '2.0.1', 'input_data', 'generated', 'params', '{}'::jsonb`)}, ${finished} AND NOT ${failed}),
        (${run}, 5, 'WorkflowRun.TaskAdded', ${state(`${end} + 21`, `'task_id', ${hex(task(4))}`)}, ${finished} AND NOT ${failed}),
        ${ev(task(4), 1, 'Task.StatusUpdated', `${end} + 30`, `'status', 'IMPORTED'`, `${finished} AND NOT ${failed}`)},
        ${ev(task(4), 2, 'Task.TaskCompleted', `${end} + 31`, `'result', 'imported'`, `${finished} AND NOT ${failed}`)},
        ${ev(run, 6, 'WorkflowRun.WorkflowCompleted', `${end} + 40`, '', `${finished} AND NOT ${failed}`)}
      ) AS e(originator_id, version, type, state, keep)
      WHERE e.keep
      ORDER BY r, (e.state->'timestamp'->>'_data_'), e.type = 'WorkflowRun.TaskAdded', e.originator_id, e.version`,
    [o.runs, o.from, o.spacingSeconds, o.owners.map((x) => x.user), o.owners.map((x) => x.group), o.tag, WORKFLOWS],
  );
}

/** Tasks the generation writes: five per finished run, three per unfinished or failed one. */
export function generatedTasks(runs: number): number {
  let n = 0;
  for (let r = 0; r < runs; r++) n += r % 10 === 0 || r % 10 === 1 || r % 10 === 2 ? 3 : 5;
  return n;
}
