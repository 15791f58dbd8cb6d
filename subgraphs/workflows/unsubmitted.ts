/**
 * Job id -1: what BIOMERO writes when sbatch failed (Task.JobIdAdded with job_id -1). No Slurm
 * job exists, but BIOMERO's job views still record one row for it (biomero views.py):
 *   - JobAccounting inserts (slurm_job_id -1, user, group, task_id) for the first such task; every
 *     later -1 violates the primary key and is dropped, so the first JobIdAdded(-1) names the task;
 *   - JobProgress keeps one row per job id, so the row of -1 takes the StatusUpdated and
 *     ProgressUpdated of every task while -1 is that task's latest job, whichever run it is in
 *     (a status keeps the progress; 'UNKNOWN' while only a progress has come).
 * The job here is that row: the first task's run and submission time, the shared row's state.
 */
import { decodeDate, decodeUuid, eventType, type StoredEvent } from './events';
import { parsePercent, type SlurmJob, type WorkflowRun } from './fold';

export const UNSUBMITTED_JOB_ID = -1;

/** One update BIOMERO's JobProgress wrote to the row of job -1 (source/events.ts unsubmittedJobUpdates). */
export interface UnsubmittedJobUpdate {
  topic: string;
  status: unknown;
  progress: unknown;
}

export function unsubmittedJob(run: WorkflowRun, taskId: string, updates: readonly UnsubmittedJobUpdate[]): SlurmJob | null {
  const task = run.tasks.find((t) => t.id === taskId);
  if (!task || !task.slurmJobIds.includes(UNSUBMITTED_JOB_ID)) return null;
  const job: SlurmJob = { jobId: UNSUBMITTED_JOB_ID, taskId, runId: run.id, state: null, progress: null, submittedAt: null, startedAt: null, endedAt: null };
  const first = run.events.find(
    (e: StoredEvent) =>
      (decodeUuid(e.originator_id) ?? e.originator_id) === taskId && eventType(e.topic) === 'Task.JobIdAdded' && Number(e.state.job_id) === UNSUBMITTED_JOB_ID,
  );
  job.submittedAt = first ? decodeDate(first.state.timestamp) : null;
  for (const update of updates) {
    if (eventType(update.topic) === 'Task.StatusUpdated') job.state = String(update.status ?? '');
    else {
      job.state ??= 'UNKNOWN';
      job.progress = parsePercent(update.progress);
    }
  }
  return job;
}
