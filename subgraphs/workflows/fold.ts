import { decodeDate, decodeUuid, eventType, plainJson, type StoredEvent } from './events';
import { redactParams, redactResult, type RedactedResult } from './redact';

export interface StatusChange {
  status: string;
  at: Date | null;
  eventId: number;
}

export interface TaskResult extends RedactedResult {
  at: Date | null;
}

/** A Slurm job as the events tell it: JobIdAdded, then the task's status and progress updates. */
export interface SlurmJob {
  jobId: number;
  taskId: string;
  runId: string;
  state: string | null;
  progress: number | null;
  submittedAt: Date | null;
  startedAt: Date | null;
  endedAt: Date | null;
}

export interface Task {
  id: string;
  runId: string;
  name: string;
  version: string | null;
  status: string | null;
  statusHistory: StatusChange[];
  progress: number | null;
  params: unknown;
  inputData: unknown;
  /** raw job ids as written, including -1 (sbatch failed) */
  slurmJobIds: number[];
  jobs: SlurmJob[];
  results: TaskResult[];
  resultMessage: string | null;
  createdAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
}

export interface WorkflowRun {
  id: string;
  name: string;
  description: string | null;
  version: string | null;
  userId: number | null;
  groupId: number | null;
  status: string;
  /** 0-100, as BIOMERO's WorkflowProgress view derives it */
  progress: number;
  createdAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  error: string | null;
  tasks: Task[];
  /** the run's own events and its tasks', in store order */
  events: StoredEvent[];
}

/** Slurm states after which a job no longer changes (BIOMERO's poller treats these as final). */
const TERMINAL_JOB_STATE = /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|OUT_OF_MEMORY|NODE_FAIL|PREEMPTED|BOOT_FAIL|DEADLINE)/;

export function isTerminalJobState(state: string | null): boolean {
  return state != null && TERMINAL_JOB_STATE.test(state);
}

export function isFinished(run: WorkflowRun): boolean {
  return run.status === 'DONE' || run.status === 'FAILED';
}

/**
 * The status (and progress) BIOMERO's WorkflowProgress view derives (reference/biomero-models.md
 * 1.6, HEAD rules: task names compared case-insensitively), computed here from the events. The
 * deployed v2.0.1 compared case-sensitively, so its view says JOB_<state> for CONVERT_* tasks:
 * the fold gives the same answer for runs written by either version.
 */
export function statusAfterTaskUpdate(taskName: string, status: string): { status: string; progress: number | null } {
  const name = taskName.toLowerCase();
  if (name === '_slurm_image_transfer.py') return { status: 'TRANSFERRING', progress: 5 };
  if (name.startsWith('convert_')) return { status: 'CONVERTING', progress: 25 };
  if (name === 'slurm_get_results.py') return { status: 'RETRIEVING', progress: 90 };
  if (name === 'slurm_import_results.py') return { status, progress: 90 };
  if (name === 'slurm_run_workflow.py') return { status: 'RUNNING', progress: 50 };
  return { status: `JOB_${status}`, progress: null };
}

/** The workflow job's own progress (0-100) moves the run from 50% to 90%. */
function jobPhaseProgress(jobProgress: number | null): number {
  return 50 + 0.4 * (jobProgress ?? 0);
}

function toInt(value: unknown): number | null {
  const n = Number(value);
  return value !== null && value !== '' && Number.isInteger(n) ? n : null;
}

/** `"43%"` → 43; anything else → null. */
export function parsePercent(value: unknown): number | null {
  const m = /(\d+(?:\.\d+)?)\s*%/.exec(String(value ?? ''));
  return m ? Math.min(100, Number(m[1])) : null;
}

/** The script version SLURM_Run_Workflow.py appends as the description's last line (x.y.z). */
export function versionOf(description: string | null): string | null {
  if (!description) return null;
  const lines = description.trim().split('\n');
  const m = /^v?(\d+\.\d+(?:\.\d+)?(?:[-+.][\w.]+)?)$/.exec(lines[lines.length - 1].trim());
  return m ? m[1] : null;
}

/** Image ids a run read: every task's `IDs` parameter when its `Data_Type` is Image (the default). */
export function inputImageIds(run: WorkflowRun): number[] {
  const ids = new Set<number>();
  for (const task of run.tasks) for (const id of taskInputImageIds(task.params)) ids.add(id);
  return [...ids].sort((a, b) => a - b);
}

/** Every OMERO object a run's tasks name: `IDs` with their `Data_Type` (Image, Dataset, Plate, …). */
export function inputReferences(run: WorkflowRun): { dataType: string; id: number }[] {
  const seen = new Map<string, { dataType: string; id: number }>();
  for (const task of run.tasks) {
    const p = task.params as { IDs?: unknown; Data_Type?: unknown } | null;
    if (!p || typeof p !== 'object' || !Array.isArray(p.IDs)) continue;
    const dataType = String(p.Data_Type ?? 'Image');
    for (const raw of p.IDs) {
      const id = Number(raw);
      if (Number.isSafeInteger(id) && id > 0) seen.set(`${dataType}:${id}`, { dataType, id });
    }
  }
  return [...seen.values()].sort((a, b) => a.dataType.localeCompare(b.dataType) || a.id - b.id);
}

export function taskInputImageIds(params: unknown): number[] {
  const p = params as { IDs?: unknown; Data_Type?: unknown } | null;
  if (!p || typeof p !== 'object' || !Array.isArray(p.IDs) || (p.Data_Type ?? 'Image') !== 'Image') return [];
  return p.IDs.map(Number).filter((id) => Number.isSafeInteger(id) && id > 0);
}

/** Folds one run's events and its tasks' events (any order; sorted by store id here). */
export function foldRun(runId: string, events: StoredEvent[]): WorkflowRun | null {
  return foldRunAsOf(runId, events, []).run;
}

/**
 * The same fold, also giving the run as it was right after each of `asOf` (event ids), in one
 * pass: what workflowRunUpdated sends for every event of a burst.
 */
export function foldRunAsOf(runId: string, events: StoredEvent[], asOf: readonly number[]): { run: WorkflowRun | null; snapshots: Map<number, WorkflowRun> } {
  const run: WorkflowRun = {
    id: runId,
    name: '',
    description: null,
    version: null,
    userId: null,
    groupId: null,
    status: 'UNKNOWN',
    progress: 0,
    createdAt: null,
    startedAt: null,
    finishedAt: null,
    error: null,
    tasks: [],
    events: [],
  };
  const tasks = new Map<string, Task>();
  const taskOrder: string[] = [];
  let initiated = false;
  // BIOMERO's WorkflowProgress keeps one task progress per run (the last ProgressUpdated of any of
  // its tasks) and reads it only when a status update recomputes the run's progress.
  let taskProgress: number | null = null;
  const sorted = [...events].sort((a, b) => a.id - b.id);
  // The run's tasks: those it added, and those created for it (events of other runs are ignored).
  const member = new Set<string>();
  for (const event of sorted) {
    const type = eventType(event.topic);
    const origin = decodeUuid(event.originator_id) ?? event.originator_id;
    if (type === 'WorkflowRun.TaskAdded' && origin === runId) member.add(decodeUuid(event.state.task_id) ?? '');
    if (type === 'Task.TaskCreated' && decodeUuid(event.state.workflow_id) === runId) member.add(origin);
  }
  const own = sorted.filter((e) => {
    const origin = decodeUuid(e.originator_id) ?? e.originator_id;
    return origin === runId || member.has(origin);
  });
  const wanted = [...asOf].sort((a, b) => a - b);
  const snapshots = new Map<number, WorkflowRun>();
  let next = 0;
  let seen = 0;
  const snapshot = (): WorkflowRun | null => (initiated ? finish(run, tasks, taskOrder, own.slice(0, seen), true) : null);
  for (const event of own) {
    for (; next < wanted.length && wanted[next] < event.id; next++) {
      const snap = snapshot();
      if (snap) snapshots.set(wanted[next], snap);
    }
    seen++;
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
          run.version = versionOf(run.description);
          run.userId = toInt(s.user);
          run.groupId = toInt(s.group);
          run.createdAt = at;
          run.status = 'INITIALIZING';
          run.progress = 0;
          break;
        case 'WorkflowRun.TaskAdded': {
          const taskId = decodeUuid(s.task_id);
          if (taskId && !taskOrder.includes(taskId)) taskOrder.push(taskId);
          break;
        }
        case 'WorkflowRun.WorkflowStarted':
          run.startedAt ??= at;
          break;
        case 'WorkflowRun.WorkflowCompleted':
          run.status = 'DONE';
          run.progress = 100;
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
    if (!type.startsWith('Task.') || !member.has(origin)) continue;
    let task = tasks.get(origin);
    if (type === 'Task.TaskCreated') {
      task = {
        id: origin,
        runId: decodeUuid(s.workflow_id) ?? runId,
        name: String(s.task_name ?? ''),
        version: s.task_version == null ? null : String(s.task_version),
        status: 'CREATED',
        statusHistory: [{ status: 'CREATED', at, eventId: event.id }],
        progress: null,
        params: redactParams(plainJson(s.params ?? null)),
        inputData: plainJson(s.input_data ?? null),
        slurmJobIds: [],
        jobs: [],
        results: [],
        resultMessage: null,
        createdAt: at,
        startedAt: null,
        finishedAt: null,
        error: null,
      };
      tasks.set(origin, task);
      // A run's tasks are those it added; the first task also marks when work began.
      run.startedAt ??= at;
      continue;
    }
    if (!task) continue;
    const job = task.jobs.at(-1);
    switch (type) {
      case 'Task.JobIdAdded': {
        const jobId = toInt(s.job_id);
        if (jobId === null || task.slurmJobIds.includes(jobId)) break;
        task.slurmJobIds.push(jobId);
        // -1: sbatch failed, no job exists
        if (jobId > 0)
          task.jobs.push({ jobId, taskId: task.id, runId: task.runId, state: null, progress: null, submittedAt: at, startedAt: null, endedAt: null });
        break;
      }
      case 'Task.StatusUpdated': {
        const status = String(s.status ?? '');
        task.status = status;
        task.statusHistory.push({ status, at, eventId: event.id });
        if (job && !isTerminalJobState(job.state)) {
          job.state = status;
          if (status.startsWith('RUNNING')) job.startedAt ??= at;
          if (isTerminalJobState(status)) job.endedAt = at;
        }
        if (!isFinished(run)) {
          const next = statusAfterTaskUpdate(task.name, status);
          run.status = next.status;
          run.progress = next.progress ?? jobPhaseProgress(taskProgress);
        }
        break;
      }
      case 'Task.ProgressUpdated': {
        task.progress = parsePercent(s.progress);
        if (job) job.progress = task.progress;
        taskProgress = task.progress;
        break;
      }
      case 'Task.ResultAdded': {
        const result = s.result && typeof s.result === 'object' ? (s.result as Record<string, unknown>) : { stdout: s.result };
        task.results.push({ ...redactResult(result), at });
        break;
      }
      case 'Task.TaskStarted':
        task.startedAt ??= at;
        break;
      case 'Task.TaskCompleted':
        task.finishedAt = at;
        task.resultMessage = s.result == null ? null : String(s.result);
        break;
      case 'Task.TaskFailed':
        task.finishedAt = at;
        task.error = s.error_message == null ? null : String(s.error_message);
        // BIOMERO's Task.fail_task keeps the failure text as the task's result message
        task.resultMessage = task.error;
        break;
    }
  }
  for (; next < wanted.length; next++) {
    const snap = snapshot();
    if (snap) snapshots.set(wanted[next], snap);
  }
  return { run: initiated ? finish(run, tasks, taskOrder, own, false) : null, snapshots };
}

/** The run with its tasks in order; `copy` detaches it from the fold still in progress. */
function finish(run: WorkflowRun, tasks: Map<string, Task>, taskOrder: string[], events: StoredEvent[], copy: boolean): WorkflowRun {
  const ordered = taskOrder.map((id) => tasks.get(id)).filter((t): t is Task => Boolean(t));
  return {
    ...run,
    progress: Math.round(run.progress * 10) / 10,
    tasks: copy
      ? ordered.map((t) => ({
          ...t,
          statusHistory: t.statusHistory.slice(),
          slurmJobIds: t.slurmJobIds.slice(),
          jobs: t.jobs.map((j) => ({ ...j })),
          results: t.results.slice(),
        }))
      : ordered,
    events,
  };
}

/**
 * Task names of BIOMERO's own steps (transfer, conversion, result retrieval): a run's workflow is
 * its first task not named so (BIOMERO's main_task_name), else its last task. Also used as a SQL
 * regular expression (source/events.ts, source/statistics.ts), case-insensitively.
 */
export const SUPPORT_TASK_PATTERN = '^(_slurm_|slurm_|convert_)';
const SUPPORT_TASK = new RegExp(SUPPORT_TASK_PATTERN, 'i');

/** The task that runs the run's workflow (e.g. cellpose), as BIOMERO picks its main_task_name. */
export function workflowTaskOf(run: WorkflowRun): Task | null {
  return run.tasks.find((t) => !SUPPORT_TASK.test(t.name)) ?? run.tasks.at(-1) ?? null;
}

/** The workflow task's first Slurm job: its queue wait and run time are the run's. */
export function workflowJobOf(run: WorkflowRun): SlurmJob | null {
  return workflowTaskOf(run)?.jobs[0] ?? null;
}

/** Seconds from `from` to `to`, null unless both are known. */
export function secondsBetween(from: Date | null, to: Date | null): number | null {
  return from && to ? (to.getTime() - from.getTime()) / 1000 : null;
}

/** Unfinished jobs of a run: submitted and not known to have ended. */
export function unfinishedJobs(run: WorkflowRun): SlurmJob[] {
  // A job of a task that already ended (TaskCompleted/TaskFailed) is over whatever its last status said.
  return run.tasks
    .filter((t) => !t.finishedAt)
    .flatMap((t) => t.jobs)
    .filter((j) => !isTerminalJobState(j.state));
}

export const KNOWN_STATUSES = [
  'INITIALIZING',
  'TRANSFERRING',
  'CONVERTING',
  'RUNNING',
  'JOB_PENDING',
  'JOB_RUNNING',
  'JOB_COMPLETED',
  'JOB_FAILED',
  'JOB_CANCELLED',
  'JOB_TIMEOUT',
  'RETRIEVING',
  'IMPORTING',
  'IMPORTED',
  'POSTPROCESSING',
  'DONE',
  'FAILED',
] as const;
const KNOWN = new Set<string>(KNOWN_STATUSES);
/** The WorkflowStatus enum: a known status, else UNKNOWN. */
export type WorkflowStatus = (typeof KNOWN_STATUSES)[number] | 'UNKNOWN';
const isKnown = (status: string): status is WorkflowStatus => KNOWN.has(status);

/** sacct truncates with '+' and appends ' by <uid>' to CANCELLED: both still map. */
export function normaliseStatus(raw: string): string {
  return raw.replace(/\+$/, '').replace(/ by \d+$/, '');
}

/** Open status strings onto the enum; the raw string stays beside it (statusRaw). */
export function statusEnum(raw: string): WorkflowStatus {
  const normalised = normaliseStatus(raw);
  return isKnown(normalised) ? normalised : 'UNKNOWN';
}

/** `JOB_RUNNING` → `RUNNING`: the Slurm state of the workflow job, readable on its own. */
export function slurmStateOf(status: string): string | null {
  return status.startsWith('JOB_') ? normaliseStatus(status.slice(4)) : null;
}
