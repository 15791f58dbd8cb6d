import { decodeDate, decodeUuid, eventType, plainJson, type StoredEvent } from './events';

export interface Task {
  id: string;
  name: string;
  version: string | null;
  status: string | null;
  params: unknown;
  inputData: unknown;
  slurmJobIds: number[];
  createdAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
}

export interface WorkflowRun {
  id: string;
  name: string;
  description: string | null;
  userId: number | null;
  groupId: number | null;
  status: string;
  createdAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
  tasks: Task[];
}

/**
 * The status BIOMERO's WorkflowProgress view derives (reference/biomero-models.md 1.6, HEAD rules:
 * task names compared case-insensitively), computed here from the events themselves.
 */
export function statusAfterTaskUpdate(taskName: string, status: string): string {
  const name = taskName.toLowerCase();
  if (name === '_slurm_image_transfer.py') return 'TRANSFERRING';
  if (name.startsWith('convert_')) return 'CONVERTING';
  if (name === 'slurm_get_results.py') return 'RETRIEVING';
  if (name === 'slurm_import_results.py') return status;
  if (name === 'slurm_run_workflow.py') return 'RUNNING';
  return `JOB_${status}`;
}

function toInt(value: unknown): number | null {
  const n = Number(value);
  return Number.isInteger(n) ? n : null;
}

/** Image ids a run read: every task's `IDs` parameter when its `Data_Type` is Image (the default). */
export function inputImageIds(run: WorkflowRun): number[] {
  const ids = new Set<number>();
  for (const task of run.tasks) {
    const params = task.params as { IDs?: unknown; Data_Type?: unknown } | null;
    if (!params || !Array.isArray(params.IDs) || (params.Data_Type ?? 'Image') !== 'Image') continue;
    for (const id of params.IDs) if (Number.isSafeInteger(Number(id))) ids.add(Number(id));
  }
  return [...ids].sort((a, b) => a - b);
}

/** Folds one run's events and its tasks' events (any order; sorted by store id here). */
export function foldRun(runId: string, events: StoredEvent[]): WorkflowRun | null {
  const run: WorkflowRun = { id: runId, name: '', description: null, userId: null, groupId: null, status: 'UNKNOWN', createdAt: null, finishedAt: null, error: null, tasks: [] };
  const tasks = new Map<string, Task>();
  const taskOrder: string[] = [];
  let initiated = false;
  for (const event of [...events].sort((a, b) => a.id - b.id)) {
    const type = eventType(event.topic);
    const s = event.state;
    const at = decodeDate(s.timestamp);
    const origin = decodeUuid(event.originator_id) ?? event.originator_id;
    if (type.startsWith('WorkflowRun.') && origin === runId) {
      switch (type) {
        case 'WorkflowRun.WorkflowInitiated':
          initiated = true;
          run.name = String(s.name ?? '');
          run.description = s.description == null ? null : String(s.description);
          run.userId = toInt(s.user);
          run.groupId = toInt(s.group);
          run.createdAt = at;
          run.status = 'INITIALIZING';
          break;
        case 'WorkflowRun.TaskAdded': {
          const taskId = decodeUuid(s.task_id);
          if (taskId && !taskOrder.includes(taskId)) taskOrder.push(taskId);
          break;
        }
        case 'WorkflowRun.WorkflowStarted':
          break;
        case 'WorkflowRun.WorkflowCompleted':
          run.status = 'DONE';
          run.finishedAt = at;
          break;
        case 'WorkflowRun.WorkflowFailed':
          run.status = 'FAILED';
          run.finishedAt = at;
          run.error = s.error_message == null ? null : String(s.error_message);
          break;
      }
      continue;
    }
    if (!type.startsWith('Task.')) continue;
    let task = tasks.get(origin);
    if (type === 'Task.TaskCreated') {
      task = {
        id: origin,
        name: String(s.task_name ?? ''),
        version: s.task_version == null ? null : String(s.task_version),
        status: 'CREATED',
        params: plainJson(s.params ?? null),
        inputData: plainJson(s.input_data ?? null),
        slurmJobIds: [],
        createdAt: at,
        finishedAt: null,
        error: null,
      };
      tasks.set(origin, task);
      continue;
    }
    if (!task) continue;
    switch (type) {
      case 'Task.JobIdAdded': {
        const jobId = toInt(s.job_id);
        if (jobId !== null && !task.slurmJobIds.includes(jobId)) task.slurmJobIds.push(jobId);
        break;
      }
      case 'Task.StatusUpdated':
        task.status = String(s.status ?? '');
        if (run.status !== 'DONE' && run.status !== 'FAILED') run.status = statusAfterTaskUpdate(task.name, task.status);
        break;
      case 'Task.TaskCompleted':
        task.finishedAt = at;
        break;
      case 'Task.TaskFailed':
        task.finishedAt = at;
        task.error = s.error_message == null ? null : String(s.error_message);
        break;
    }
  }
  if (!initiated) return null;
  run.tasks = taskOrder.map((id) => tasks.get(id)).filter((t): t is Task => Boolean(t));
  return run;
}

const KNOWN_STATUSES = new Set([
  'INITIALIZING', 'TRANSFERRING', 'CONVERTING', 'RUNNING', 'JOB_PENDING', 'JOB_RUNNING', 'JOB_COMPLETED', 'JOB_FAILED',
  'JOB_CANCELLED', 'JOB_TIMEOUT', 'RETRIEVING', 'IMPORTING', 'IMPORTED', 'DONE', 'FAILED',
]);

/** Open status strings onto the enum: sacct's truncation '+' and 'CANCELLED by <uid>' still map. */
export function statusEnum(raw: string): string {
  const normalised = raw.replace(/\+$/, '').replace(/ by \d+$/, '');
  return KNOWN_STATUSES.has(normalised) ? normalised : 'UNKNOWN';
}
