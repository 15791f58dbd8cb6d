/**
 * The demo world's launcher (npm start without OMERO.web, tests): instead of OMERO.biomero and
 * SLURM_Run_Workflow.py, it answers with a script job id at once and then appends, a step every
 * `stepMs`, the events BIOMERO's tracker writes for a run that goes well — WorkflowInitiated,
 * the transfer task, the workflow's task with its Slurm job (JobIdAdded, PENDING, RUNNING,
 * progress, COMPLETED) and WorkflowCompleted — in BIOMERO's encoding (database/demo/workflows.ts),
 * so a `workflowRunUpdated` subscription watches the run go by. Refused in production
 * (workflows/index.ts).
 */
import { randomUUID } from 'node:crypto';
import { appendEvents, encodeUuid, type NewEvent } from '../../../database/demo/workflows';
import type { Pool } from '../../common/db';
import type { Identity } from '../../common/identity';
import { logger } from '../../common/logger';
import type { LaunchAnswer, LaunchRequest, WorkflowLauncher } from './launcher';

const TOPIC = 'biomero.eventsourcing';
/** SLURM_Run_Workflow.py's version, the last line of its WorkflowInitiated description */
const SCRIPT_VERSION = '2.0.1';
/** demo Slurm job ids start above the demo world's */
const FIRST_JOB_ID = 7001;

type Step = Omit<NewEvent, 'at'>;

/** A run's steps; each inner list is written in one transaction. */
function runSteps(caller: Identity, r: LaunchRequest, runId: string, jobId: number, now: Date): Step[][] {
  const transfer = randomUUID();
  const task = randomUUID();
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const folder = `Slurm_Workflow_${caller.userName}_${stamp}`;
  const version = r.version ?? 'latest';
  const initiated = {
    originator_topic: `${TOPIC}:WorkflowRun`,
    name: 'Slurm Workflow',
    description: `Run ${r.workflow} (demo runner)\n${SCRIPT_VERSION}`,
    user: caller.userId,
    group: r.groupId,
  };
  const created = (id: string, name: string, taskVersion: string, params: Record<string, unknown>) => ({
    originator_topic: `${TOPIC}:Task`,
    workflow_id: encodeUuid(runId),
    task_name: name,
    task_version: taskVersion,
    input_data: folder,
    params,
  });
  let t = 0;
  const ts = (type: string, fields: Record<string, unknown>): Step => ({ originatorId: task, version: t++, type, fields });
  return [
    [{ originatorId: runId, version: 0, type: 'WorkflowRun.WorkflowInitiated', fields: initiated }],
    [
      {
        originatorId: transfer,
        version: 0,
        type: 'Task.TaskCreated',
        fields: created(transfer, '_SLURM_Image_Transfer.py', SCRIPT_VERSION, { Data_Type: r.dataType, IDs: r.ids, Folder_Name: folder }),
      },
      { originatorId: runId, version: 1, type: 'WorkflowRun.TaskAdded', fields: { task_id: encodeUuid(transfer) } },
    ],
    [{ originatorId: transfer, version: 1, type: 'Task.TaskCompleted', fields: { result: `Transferred ${r.ids.length} ${r.dataType.toLowerCase()}s` } }],
    [
      ts(
        'Task.TaskCreated',
        created(task, r.workflow, version, { IDs: r.ids, Data_Type: r.dataType, [`${r.workflow}_Version`]: version, ...r.parameters, Folder_Name: folder }),
      ),
      { originatorId: runId, version: 2, type: 'WorkflowRun.TaskAdded', fields: { task_id: encodeUuid(task) } },
    ],
    [ts('Task.JobIdAdded', { job_id: jobId })],
    [ts('Task.StatusUpdated', { status: 'PENDING' })],
    [ts('Task.StatusUpdated', { status: 'RUNNING' })],
    [ts('Task.ProgressUpdated', { progress: '50%' })],
    [ts('Task.ProgressUpdated', { progress: '100%' })],
    [ts('Task.StatusUpdated', { status: 'COMPLETED' })],
    [ts('Task.TaskCompleted', { result: `Job ${jobId} COMPLETED` })],
    [{ originatorId: runId, version: 3, type: 'WorkflowRun.WorkflowCompleted', fields: {} }],
  ];
}

export class DemoRunner implements WorkflowLauncher {
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly writing = new Set<Promise<void>>();
  private nextJobId: number | null = null;
  private closed = false;

  constructor(
    private readonly pool: Pool,
    private readonly stepMs: number,
  ) {}

  /** The next demo Slurm job id, above every job id in the store (npm start keeps its data). */
  private async jobId(): Promise<number> {
    if (this.nextJobId === null) {
      const { rows } = await this.pool.query<{ id: number | null }>(
        `SELECT max((convert_from(state, 'UTF8')::jsonb->>'job_id')::bigint)::int AS id FROM workflowtracker_events WHERE topic = $1`,
        [`${TOPIC}:Task.JobIdAdded`],
      );
      this.nextJobId = Math.max(FIRST_JOB_ID, (rows[0]?.id ?? 0) + 1);
    }
    return this.nextJobId++;
  }

  async launch(caller: Identity, request: LaunchRequest): Promise<LaunchAnswer> {
    const runId = randomUUID();
    const steps = runSteps(caller, request, runId, await this.jobId(), new Date());
    const write = (i: number) => {
      if (this.closed || i >= steps.length) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        const at = new Date();
        const done = appendEvents(
          this.pool,
          steps[i].map((s) => ({ ...s, at })),
        )
          .then(() => write(i + 1))
          .catch((err: unknown) => logger.warn({ err, run: runId }, 'demo runner: could not write an event; the run stops here'));
        this.writing.add(done);
        void done.finally(() => this.writing.delete(done));
      }, this.stepMs);
      this.timers.add(timer);
    };
    write(0);
    logger.info({ run: runId, workflow: request.workflow, user: caller.userName }, 'demo runner: run started');
    return {
      jobId: `ProcessCallback/${randomUUID()} -t -e 1.1:tcp -h 127.0.0.1 -p 4064 -t 60000`,
      message: `Demo runner: ${request.workflow} started; its run appears in the event store within ${this.stepMs} ms.`,
      warnings: [],
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.writing]);
  }
}
