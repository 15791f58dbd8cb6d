/**
 * Workflow runs of the demo world, written the way BIOMERO.analyzer 2.0 writes them:
 *  - `workflowtracker_events`: the eventsourcing store of WorkflowRun and Task aggregates
 *    (state = UTF-8 JSON in bytea, compact separators, UUIDs as {"_type_":"uuid_hex"},
 *    datetimes as {"_type_":"datetime_iso"}, a timestamp in every event), one global id
 *    sequence across aggregates, originator_version 0,1,2… per aggregate;
 *  - the four best-effort view tables, filled for runs A and B only (run C was initiated by a
 *    process whose projections never caught up, which happens);
 *  - OMERO map annotations 'biomero/workflow' and 'biomero/workflow/task/<name>' on results.
 */
import { join } from 'node:path';
import { projectRoot } from '../paths';
import { DEMO } from './world';
import { EVENTS, link, mapAnnotation } from './omero-rows';
import { type Queryable, type Row, advanceSequence, insertRows, pyListRepr } from './sql';

const TOPIC = 'biomero.eventsourcing';

interface StoredEvent {
  originatorId: string;
  /** e.g. 'WorkflowRun.WorkflowInitiated' */
  type: string;
  /** UTC, ISO with microseconds */
  at: string;
  fields: Record<string, unknown>;
}

const uuidHex = (uuid: string) => ({ _type_: 'uuid_hex', _data_: uuid.replace(/-/g, '') });
const datetimeIso = (iso: string) => ({ _type_: 'datetime_iso', _data_: iso });

/** '2026-03-05T12:00:00.100000+00:00' from a short UTC time. */
function at(day: string, time: string): string {
  const [hms, frac = ''] = time.split('.');
  return `${day}T${hms}.${frac.padEnd(6, '0')}+00:00`;
}

class Stream {
  readonly events: StoredEvent[] = [];
  constructor(private readonly day: string) {}
  add(originatorId: string, type: string, time: string, fields: Record<string, unknown> = {}): string {
    const iso = at(this.day, time);
    this.events.push({ originatorId, type, at: iso, fields });
    return iso;
  }
}

interface TaskPlan {
  id: string;
  name: string;
  version: string;
  inputData: unknown;
  params: Record<string, unknown>;
  created: string;
  /** further events of the task: [type, time, fields] */
  steps: Array<[string, string, Record<string, unknown>?]>;
}

interface RunPlan {
  id: string;
  day: string;
  initiated: string;
  name: string;
  description: string;
  user: number;
  group: number;
  tasks: TaskPlan[];
  end?: [string, string, Record<string, unknown>?];
}

function result(command: string, stdout: string, stderr = '', env: Record<string, string> = {}) {
  // Fabric's result as biomero stores it; env carries secrets in real data too.
  return { command, env: { ...env, OMERO_PASSWORD: 'secret' }, stdout, stderr };
}

const A = DEMO.workflows.cellpose;
const B = DEMO.workflows.failed;
const C = DEMO.workflows.running;
const D = DEMO.workflows.deployed;
const E = DEMO.workflows.unassigned;
const F = DEMO.workflows.secrets;
const G = DEMO.workflows.progress;
const [OMERO_PW, API_TOKEN, SSH_PASS] = F.secretValues;

/** '11:00:00' + n seconds, as 'HH:MM:SS' */
function plusSeconds(start: string, n: number): string {
  const [h, m, sec] = start.split(':').map(Number);
  const t = h * 3600 + m * 60 + sec + n;
  return [Math.floor(t / 3600), Math.floor(t / 60) % 60, t % 60].map((x) => String(x).padStart(2, '0')).join(':');
}

const CELLPOSE_PARAMS = {
  IDs: [...A.inputImages],
  Data_Type: 'Image',
  cellpose_Version: 'v1.4.0',
  diameter: 0,
  model_type: 'nuclei',
  use_gpu: true,
  prob_threshold: 0.0,
  flow_threshold: 0.4,
  receiveEmail: false,
  attachToOriginalImages: false,
  importAsZip: true,
  uploadCsv: true,
  useZarrFormat: true,
  Folder_Name: 'Slurm_Workflow_alice_20260305120000',
};

export const RUNS: RunPlan[] = [
  {
    id: A.id,
    day: '2026-03-05',
    initiated: '12:00:00.1',
    name: 'Slurm Workflow',
    description: 'Run cellpose segmentation\n2.0.1',
    user: 2,
    group: 3,
    tasks: [
      {
        id: A.tasks.transfer,
        name: '_SLURM_Image_Transfer.py',
        version: '2.0.1',
        created: '12:00:01.2',
        inputData: 'Slurm_Workflow_alice_20260305120000',
        params: { Data_Type: 'Image', IDs: [...A.inputImages], Folder_Name: 'Slurm_Workflow_alice_20260305120000', Export_as_zarr: true },
        steps: [
          [
            'ResultAdded',
            '12:01:30.4',
            {
              result: result(
                'unzip -o "Slurm_Workflow_alice_20260305120000.zip" -d "my-scratch/data"',
                'inflating: my-scratch/data/img_001.zarr\ninflating: my-scratch/data/img_002.zarr\n',
              ),
            },
          ],
          ['TaskCompleted', '12:01:31.0', { result: 'Transferred 2 images' }],
        ],
      },
      {
        id: A.tasks.convert,
        name: 'CONVERT_ZARR_TO_TIFF',
        version: 'v1.16.0',
        created: '12:01:35.5',
        inputData: 'Slurm_Workflow_alice_20260305120000',
        params: { source_format: 'zarr', target_format: 'tiff' },
        steps: [
          ['JobIdAdded', '12:01:40.3', { job_id: A.jobs.convert }],
          ['StatusUpdated', '12:01:41.0', { status: 'PENDING' }],
          ['StatusUpdated', '12:02:11.7', { status: 'RUNNING' }],
          ['StatusUpdated', '12:04:01.2', { status: 'COMPLETED' }],
          [
            'ResultAdded',
            '12:04:02.0',
            {
              result: result('sbatch --job-name=conversion --array=1-2 convert_job_array.sh', `Submitted batch job ${A.jobs.convert}\n`, '', {
                CONFIG_PATH: '/home/slurm/my-scratch/data/Slurm_Workflow_alice_20260305120000/config.txt',
              }),
            },
          ],
          ['TaskCompleted', '12:04:03.1', { result: `Job ${A.jobs.convert} COMPLETED` }],
        ],
      },
      {
        id: A.tasks.cellpose,
        name: 'cellpose',
        version: 'v1.4.0',
        created: '12:04:10.6',
        inputData: 'Slurm_Workflow_alice_20260305120000',
        params: CELLPOSE_PARAMS,
        steps: [
          ['JobIdAdded', '12:04:15.2', { job_id: A.jobs.cellpose }],
          ['StatusUpdated', '12:04:16.0', { status: 'PENDING' }],
          ['StatusUpdated', '12:05:00.9', { status: 'RUNNING' }],
          ['ProgressUpdated', '12:15:00.3', { progress: '43%' }],
          ['ProgressUpdated', '12:30:00.8', { progress: '100%' }],
          ['StatusUpdated', '12:30:10.4', { status: 'COMPLETED' }],
          [
            'ResultAdded',
            '12:30:11.1',
            {
              result: result(
                'sbatch --gres=gpu:1g.10gb:1 --output=omero-%j.log "/home/slurm/slurm-scripts/jobs/cellpose.sh"',
                `Submitted batch job ${A.jobs.cellpose}\n`,
                '',
                {
                  DATA_PATH: '/home/slurm/my-scratch/data/Slurm_Workflow_alice_20260305120000',
                  IMAGE_PATH: '/home/slurm/my-scratch/singularity_images/workflows/cellpose',
                  IMAGE_VERSION: 'v1.4.0',
                  SINGULARITY_IMAGE: 'w_nucleisegmentation-cellpose_v1.4.0.sif',
                  DIAMETER: '0',
                  MODEL_TYPE: 'nuclei',
                  USE_GPU: 'True',
                },
              ),
            },
          ],
          ['TaskCompleted', '12:30:12.0', { result: `Job ${A.jobs.cellpose} COMPLETED` }],
        ],
      },
      {
        id: A.tasks.getResults,
        name: 'SLURM_Get_Results.py',
        version: '2.0.1',
        created: '12:31:00.2',
        inputData: `${A.jobs.cellpose}`,
        params: { SLURM_Job_Id: String(A.jobs.cellpose), Output_Dataset: DEMO.datasets.aliceSegmentations, Import_as_zip: true },
        steps: [
          [
            'ResultAdded',
            '12:33:00.5',
            {
              result: result(`zip -r "${A.jobs.cellpose}_out.zip" data/out`, 'adding: data/out/img_001_cp_masks.tif\nadding: data/out/img_002_cp_masks.tif\n'),
            },
          ],
          ['TaskCompleted', '12:40:30.9', { result: 'Imported 2 images into Dataset 2' }],
        ],
      },
    ],
    end: ['WorkflowCompleted', '12:40:31.3'],
  },
  {
    id: B.id,
    day: '2026-03-08',
    initiated: '14:00:00.5',
    name: 'Slurm Workflow',
    description: 'Run stardist nuclei detection\n2.0.1',
    user: 3,
    group: 5,
    tasks: [
      {
        id: B.tasks.transfer,
        name: '_SLURM_Image_Transfer.py',
        version: '2.0.1',
        created: '14:00:01.0',
        inputData: 'Slurm_Workflow_bob_20260308140000',
        params: { Data_Type: 'Image', IDs: [...B.inputImages], Folder_Name: 'Slurm_Workflow_bob_20260308140000' },
        steps: [['TaskCompleted', '14:00:40.2', { result: 'Transferred 2 images' }]],
      },
      {
        id: B.tasks.stardist,
        name: 'stardist',
        version: 'v1.0.0',
        created: '14:00:45.1',
        inputData: 'Slurm_Workflow_bob_20260308140000',
        params: { IDs: [...B.inputImages], Data_Type: 'Image', stardist_Version: 'v1.0.0', prob_thresh: 0.5, nms_thresh: 0.4 },
        steps: [
          ['JobIdAdded', '14:00:50.0', { job_id: B.jobs.stardist }],
          ['StatusUpdated', '14:00:51.3', { status: 'PENDING' }],
          ['StatusUpdated', '14:01:30.0', { status: 'RUNNING' }],
          ['ProgressUpdated', '14:02:00.6', { progress: '7%' }],
          ['StatusUpdated', '14:03:12.9', { status: 'FAILED' }],
          [
            'ResultAdded',
            '14:03:13.4',
            {
              result: result(
                'sbatch --output=omero-%j.log "/home/slurm/slurm-scripts/jobs/stardist.sh"',
                `Submitted batch job ${B.jobs.stardist}\n`,
                'CUDA error: out of memory\n',
              ),
            },
          ],
          ['TaskFailed', '14:03:14.0', { error_message: `Slurm job ${B.jobs.stardist} FAILED: CUDA error: out of memory` }],
        ],
      },
    ],
    end: ['WorkflowFailed', '14:03:15.2', { error_message: `Task stardist failed: Slurm job ${B.jobs.stardist} FAILED` }],
  },
  {
    id: C.id,
    day: '2026-03-12',
    initiated: '11:00:00.7',
    name: 'Slurm Workflow',
    description: 'Run cellpose segmentation\n2.0.1',
    user: 2,
    group: 3,
    tasks: [
      {
        id: C.tasks.transfer,
        name: '_SLURM_Image_Transfer.py',
        version: '2.0.1',
        created: '11:00:01.4',
        inputData: 'Slurm_Workflow_alice_20260312110000',
        params: { Data_Type: 'Image', IDs: [...C.inputImages], Folder_Name: 'Slurm_Workflow_alice_20260312110000' },
        steps: [['TaskCompleted', '11:01:02.5', { result: 'Transferred 2 images' }]],
      },
      {
        id: C.tasks.cellpose,
        name: 'cellpose',
        version: 'v1.4.0',
        created: '11:01:10.0',
        inputData: 'Slurm_Workflow_alice_20260312110000',
        params: { ...CELLPOSE_PARAMS, IDs: [...C.inputImages], Folder_Name: 'Slurm_Workflow_alice_20260312110000' },
        steps: [
          ['JobIdAdded', '11:01:15.8', { job_id: C.jobs.cellpose }],
          ['StatusUpdated', '11:01:16.2', { status: 'PENDING' }],
          ['StatusUpdated', '11:03:00.0', { status: 'RUNNING' }],
          ['ProgressUpdated', '11:10:00.4', { progress: '12%' }],
        ],
      },
    ],
  },
  {
    // The deployed v2.0.1 scripts: same events, upper-case conversion task name.
    id: D.id,
    day: '2026-03-14',
    initiated: '09:00:00.2',
    name: 'Slurm Workflow',
    description: 'Run cellpose segmentation\n2.0.1',
    user: 5,
    group: 3,
    tasks: [
      {
        id: D.tasks.transfer,
        name: '_SLURM_Image_Transfer.py',
        version: '2.0.1',
        created: '09:00:01.1',
        inputData: 'Slurm_Workflow_dave_20260314090000',
        params: { Data_Type: 'Image', IDs: [...D.inputImages], Folder_Name: 'Slurm_Workflow_dave_20260314090000', Export_as_zarr: true },
        steps: [['TaskCompleted', '09:00:30.0', { result: 'Transferred 1 images' }]],
      },
      {
        id: D.tasks.convert,
        name: 'CONVERT_ZARR_TO_TIFF',
        version: 'v1.16.0',
        created: '09:00:35.3',
        inputData: 'Slurm_Workflow_dave_20260314090000',
        params: { source_format: 'zarr', target_format: 'tiff' },
        steps: [
          ['JobIdAdded', '09:00:40.0', { job_id: D.jobs.convert }],
          ['StatusUpdated', '09:00:41.0', { status: 'PENDING' }],
          ['StatusUpdated', '09:01:20.5', { status: 'RUNNING' }],
        ],
      },
    ],
  },
  {
    // run_workflow called without a workflow id: WorkflowRun(workflow_name, workflow_version, -1, -1); sbatch failed.
    id: E.id,
    day: '2026-03-15',
    initiated: '08:00:00.0',
    name: 'cellpose',
    description: 'v1.4.0',
    user: -1,
    group: -1,
    tasks: [
      {
        id: E.tasks.cellpose,
        name: 'cellpose',
        version: 'v1.4.0',
        created: '08:00:00.5',
        inputData: 'data/in',
        params: { diameter: 30, model_type: 'cyto' },
        steps: [
          ['JobIdAdded', '08:00:02.0', { job_id: -1 }],
          [
            'TaskFailed',
            '08:00:02.4',
            { error_message: 'sbatch: error: Batch job submission failed: Invalid account or account/partition combination specified' },
          ],
        ],
      },
    ],
    end: ['WorkflowFailed', '08:00:02.9', { error_message: 'Task cellpose failed' }],
  },
  {
    id: F.id,
    day: '2026-03-15',
    initiated: '10:00:00.0',
    name: 'Slurm Workflow',
    description: 'Run cellpose segmentation\n2.0.1',
    user: 2,
    group: 3,
    tasks: [
      {
        id: F.tasks.cellpose,
        name: 'cellpose',
        version: 'v1.4.0',
        created: '10:00:01.0',
        inputData: 'Slurm_Workflow_alice_20260315100000',
        params: { ...CELLPOSE_PARAMS, IDs: [...F.inputImages], Folder_Name: 'Slurm_Workflow_alice_20260315100000', omero_password: OMERO_PW },
        steps: [
          ['JobIdAdded', '10:00:05.0', { job_id: F.jobs.cellpose }],
          ['StatusUpdated', '10:00:06.0', { status: 'COMPLETED' }],
          [
            'ResultAdded',
            '10:00:07.0',
            {
              result: {
                // inline_ssh_env: Fabric prefixes the variables to the command line
                command: `export OMERO_PASSWORD=${OMERO_PW} SLURM_API_TOKEN="${API_TOKEN}" DATA_PATH=/data && sbatch --output=omero-%j.log --ssh-password ${SSH_PASS} jobs/cellpose.sh`,
                env: { OMERO_PASSWORD: OMERO_PW, SLURM_API_TOKEN: API_TOKEN, SSH_PASS: SSH_PASS, DATA_PATH: '/data', DIAMETER: '0' },
                stdout: `Submitted batch job ${F.jobs.cellpose}\nconnecting with token ${API_TOKEN}\n`,
                stderr: `warning: MY_SECRET=${SSH_PASS} is deprecated\n`,
              },
            },
          ],
          ['TaskCompleted', '10:00:08.0', { result: `Job ${F.jobs.cellpose} COMPLETED` }],
        ],
      },
    ],
    end: ['WorkflowCompleted', '10:00:09.0'],
  },
  {
    id: G.id,
    day: '2026-03-16',
    initiated: '11:00:00.0',
    name: 'Slurm Workflow',
    description: 'Run cellpose segmentation\n2.0.1',
    user: 2,
    group: 3,
    tasks: [
      {
        id: G.tasks.cellpose,
        name: 'cellpose',
        version: 'v1.4.0',
        created: '11:00:01.0',
        inputData: 'Slurm_Workflow_alice_20260316110000',
        params: { ...CELLPOSE_PARAMS, IDs: [...G.inputImages], Folder_Name: 'Slurm_Workflow_alice_20260316110000' },
        steps: [
          ['JobIdAdded', '11:00:05.0', { job_id: G.jobs.cellpose }],
          ['StatusUpdated', '11:00:06.0', { status: 'PENDING' }],
          ['StatusUpdated', '11:00:30.0', { status: 'RUNNING' }],
          ...Array.from({ length: G.progressUpdates }, (_, i): [string, string, Record<string, unknown>] => [
            'ProgressUpdated',
            plusSeconds('11:01:00', i * 10),
            { progress: `${Math.round(((i + 1) * 60) / G.progressUpdates)}%` },
          ]),
        ],
      },
    ],
  },
];

/** One run's events in the order its process emitted them. */
function runEvents(run: RunPlan): StoredEvent[] {
  const s = new Stream(run.day);
  s.add(run.id, 'WorkflowRun.WorkflowInitiated', run.initiated, {
    originator_topic: `${TOPIC}:WorkflowRun`,
    name: run.name,
    description: run.description,
    user: run.user,
    group: run.group,
  });
  for (const task of run.tasks) {
    s.add(task.id, 'Task.TaskCreated', task.created, {
      originator_topic: `${TOPIC}:Task`,
      workflow_id: uuidHex(run.id),
      task_name: task.name,
      task_version: task.version,
      input_data: task.inputData,
      params: task.params,
    });
    // add_task_to_workflow runs right after the Task is created.
    s.add(run.id, 'WorkflowRun.TaskAdded', bump(task.created), { task_id: uuidHex(task.id) });
    for (const [type, time, fields] of task.steps) s.add(task.id, `Task.${type}`, time, fields ?? {});
  }
  if (run.end) s.add(run.id, `WorkflowRun.${run.end[0]}`, run.end[1], run.end[2] ?? {});
  return s.events;
}

function bump(time: string): string {
  const [hms, frac = '0'] = time.split('.');
  return `${hms}.${String(Number(frac.padEnd(6, '0')) + 1534).padStart(6, '0')}`;
}

/** All rows of workflowtracker_events: global ids in time order, versions per aggregate. */
export function workflowEventRows(): Row[] {
  const all = RUNS.flatMap(runEvents).sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  const versions = new Map<string, number>();
  return all.map((e, i) => {
    const version = versions.get(e.originatorId) ?? 0;
    versions.set(e.originatorId, version + 1);
    // Field order as eventsourcing stores it: timestamp first, then the event's own fields.
    const state = JSON.stringify({ timestamp: datetimeIso(e.at), ...e.fields });
    return {
      id: i + 1,
      originator_id: e.originatorId,
      originator_version: version,
      topic: `${TOPIC}:${e.type}`,
      state: Buffer.from(state, 'utf8'),
    };
  });
}

/** naive UTC 'YYYY-MM-DD HH:MM:SS.ffffff' as the views store datetimes */
const naive = (iso: string) => iso.slice(0, 26).replace('T', ' ');

/** The view tables as the projections would have left them after runs A and B. */
function viewRows(events: Row[]) {
  const jobView: Row[] = [];
  const jobProgress: Row[] = [];
  const workflowProgress: Row[] = [];
  const taskExecution: Row[] = [];
  const trackedRuns = RUNS.filter((r) => r.id === A.id || r.id === B.id);
  for (const run of trackedRuns) {
    const evs = runEvents(run);
    const lastTask = run.tasks[run.tasks.length - 1];
    const main = run.tasks.find((t) => !/^(_slurm_|slurm_|convert_)/i.test(t.name)) ?? lastTask;
    const failed = run.end?.[0] === 'WorkflowFailed';
    workflowProgress.push({
      workflow_id: run.id,
      status: failed ? 'FAILED' : 'DONE',
      progress: failed ? '50%' : '100%',
      user: run.user,
      group: run.group,
      name: run.name,
      task: lastTask.name,
      main_task_name: main.name,
      start_time: naive(evs[0].at),
    });
    for (const task of run.tasks) {
      const own = evs.filter((e) => e.originatorId === task.id);
      const statuses = own.filter((e) => e.type === 'Task.StatusUpdated').map((e) => e.fields.status as string);
      const end = own.find((e) => e.type === 'Task.TaskCompleted' || e.type === 'Task.TaskFailed');
      taskExecution.push({
        task_id: task.id,
        task_name: task.name,
        task_version: task.version,
        user_id: run.user,
        group_id: run.group,
        status: statuses.at(-1) ?? 'CREATED',
        start_time: naive(own[0].at),
        end_time: end ? naive(end.at) : null,
        error_type: end?.type === 'Task.TaskFailed' ? (end.fields.error_message as string) : null,
      });
      const job = own.find((e) => e.type === 'Task.JobIdAdded');
      if (job) {
        const progress = own.filter((e) => e.type === 'Task.ProgressUpdated').map((e) => e.fields.progress as string);
        jobView.push({ slurm_job_id: job.fields.job_id, user: run.user, group: run.group, task_id: task.id });
        jobProgress.push({ slurm_job_id: job.fields.job_id, status: statuses.at(-1) ?? 'UNKNOWN', progress: progress.at(-1) ?? null });
      }
    }
  }
  // Each follower recorded every notification it processed (eventsourcing_sqlalchemy 0.9).
  const trackedIds = new Set(trackedRuns.flatMap((r) => [r.id, ...r.tasks.map((t) => t.id)]));
  const lastTracked = Math.max(...events.filter((e) => trackedIds.has(e.originator_id as string)).map((e) => e.id as number));
  const tracking = events.filter((e) => (e.id as number) <= lastTracked).map((e) => ({ application_name: 'WorkflowTracker', notification_id: e.id }));
  return { jobView, jobProgress, workflowProgress, taskExecution, tracking };
}

export async function seedWorkflows(q: Queryable): Promise<void> {
  const events = workflowEventRows();
  await insertRows(q, 'workflowtracker_events', events);
  await advanceSequence(q, 'workflowtracker_events_id_seq', events.length);
  const views = viewRows(events);
  await insertRows(q, 'biomero_job_view', views.jobView);
  await insertRows(q, 'biomero_job_progress_view', views.jobProgress);
  await insertRows(q, 'biomero_workflow_progress_view', views.workflowProgress);
  await insertRows(q, 'biomero_task_execution', views.taskExecution);
  for (const follower of ['jobaccounting', 'jobprogress', 'workflowprogress', 'workflowanalytics']) {
    await insertRows(q, `${follower}_tracking`, views.tracking);
  }
}

// ---------------------------------------------------------------------------------------------
// OMERO side: what SLURM_Get_Results.py writes on every imported result image

export async function seedWorkflowAnnotations(q: Queryable): Promise<void> {
  const run = RUNS[0];
  const evs = runEvents(run);
  const created = evs[0].at;
  const modified = evs[evs.length - 1].at;
  const cellpose = run.tasks[2];
  const cellposeEvents = evs.filter((e) => e.originatorId === cellpose.id);
  const ids = DEMO.annotations;
  const pairs = [
    { image: DEMO.images.aliceSeg1, workflowAnn: ids.workflowSeg1, taskAnn: ids.taskSeg1, linkIds: [20, 21] },
    { image: DEMO.images.aliceSeg2, workflowAnn: ids.workflowSeg2, taskAnn: ids.taskSeg2, linkIds: [22, 23] },
  ];
  const e = EVENTS.workflowResults;
  const annotations = pairs.flatMap((p) => [
    mapAnnotation({
      id: p.workflowAnn,
      ns: 'biomero/workflow',
      event: e,
      entries: [
        ['Workflow_ID', run.id],
        ['Name', run.name],
        ['Version', run.description.split('\n')[1]],
        ['Created_On', created],
        ['Modified_On', modified],
        ['Task_IDs', run.tasks.map((t) => t.id).join(', ')],
      ],
    }),
    mapAnnotation({
      id: p.taskAnn,
      ns: `biomero/workflow/task/${cellpose.name}`,
      event: e,
      entries: [
        ['Task_ID', cellpose.id],
        ['Workflow_ID', run.id],
        ['Workflow_Name', run.name],
        ['Name', cellpose.name],
        ['Version', cellpose.version],
        ['Created_On', cellposeEvents[0].at],
        ['Modified_On', cellposeEvents[cellposeEvents.length - 1].at],
        ['Status', 'COMPLETED'],
        ['Input_Data', String(cellpose.inputData)],
        ['Job_IDs', pyListRepr([A.jobs.cellpose])],
        ...Object.entries(cellpose.params).map(([k, v]): [string, string] => [`Param_${k}`, pyValue(v)]),
      ],
    }),
  ]);
  await insertRows(
    q,
    'annotation',
    annotations.map((a) => a.annotation),
  );
  await insertRows(
    q,
    'annotation_mapvalue',
    annotations.flatMap((a) => a.values),
  );
  await insertRows(
    q,
    'imageannotationlink',
    pairs.flatMap((p) => [link(p.linkIds[0], p.image, p.workflowAnn, e), link(p.linkIds[1], p.image, p.taskAnn, e)]),
  );
}

/** str() of a Python value: lists as "[1, 2]", booleans as True/False. */
function pyValue(v: unknown): string {
  if (Array.isArray(v)) return pyListRepr(v as Array<string | number>);
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number' && Number.isInteger(v)) return String(v);
  if (typeof v === 'number') return String(v).includes('.') ? String(v) : `${v}.0`;
  return String(v);
}

/** The demo workflow catalogue (slurm-config.ini + descriptors) that `npm start` serves. */
export function demoCatalogue(): { configFile: string; descriptorsDir: string } {
  const dir = join(projectRoot(), 'database', 'demo', 'catalogue');
  return { configFile: join(dir, 'slurm-config.ini'), descriptorsDir: join(dir, 'descriptors') };
}

// ---------------------------------------------------------------------------------------------
// Writing new events by plain SQL, as eventsourcing_sqlalchemy does (tests and benchmarks)

/** One event to append: the aggregate, its next version, the event class and its fields. */
export interface NewEvent {
  originatorId: string;
  version: number;
  /** e.g. 'Task.StatusUpdated' */
  type: string;
  fields?: Record<string, unknown>;
  at?: Date;
}

export const encodeUuid = uuidHex;

/** '2026-03-05T12:00:00.123000+00:00': Python's datetime.isoformat() of an aware UTC datetime. */
export function pythonIso(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, '.$1000+00:00');
}

/** The bytea `state` eventsourcing writes: compact UTF-8 JSON, the timestamp first. */
export function encodeState(fields: Record<string, unknown>, at: Date): Buffer {
  return Buffer.from(JSON.stringify({ timestamp: datetimeIso(pythonIso(at)), ...fields }), 'utf8');
}

/** INSERTs the events in one statement (one transaction), ids from the table's sequence. */
export async function appendEvents(q: Queryable, events: NewEvent[]): Promise<void> {
  if (events.length === 0) return;
  const values: unknown[] = [];
  const tuples = events.map((e) => {
    values.push(e.originatorId, e.version, `${TOPIC}:${e.type}`, encodeState(e.fields ?? {}, e.at ?? new Date()));
    const n = values.length;
    return `($${n - 3}::uuid, $${n - 2}, $${n - 1}, $${n})`;
  });
  await q.query(`INSERT INTO workflowtracker_events (originator_id, originator_version, topic, state) VALUES ${tuples.join(', ')}`, values);
}

/** The first events of a new run with one task, as SLURM_Run_Workflow.py + SlurmClient write them. */
export function newRunEvents(
  run: { id: string; taskId: string; user: number; group: number; taskName?: string; params?: Record<string, unknown> },
  at = new Date(),
): NewEvent[] {
  return [
    {
      originatorId: run.id,
      version: 0,
      type: 'WorkflowRun.WorkflowInitiated',
      at,
      fields: { originator_topic: `${TOPIC}:WorkflowRun`, name: 'Slurm Workflow', description: 'generated\n2.0.1', user: run.user, group: run.group },
    },
    {
      originatorId: run.taskId,
      version: 0,
      type: 'Task.TaskCreated',
      at,
      fields: {
        originator_topic: `${TOPIC}:Task`,
        workflow_id: uuidHex(run.id),
        task_name: run.taskName ?? 'cellpose',
        task_version: 'v1.4.0',
        input_data: 'generated',
        params: run.params ?? { IDs: [1], Data_Type: 'Image' },
      },
    },
    { originatorId: run.id, version: 1, type: 'WorkflowRun.TaskAdded', at, fields: { task_id: uuidHex(run.taskId) } },
  ];
}
