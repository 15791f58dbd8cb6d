/**
 * Job id -1: what BIOMERO writes when sbatch failed (Task.JobIdAdded with job_id -1). No Slurm
 * job exists, but BIOMERO's job views still record one row for it (biomero views.py):
 *   - JobAccounting inserts (slurm_job_id -1, user, group, task_id) for the first such task; every
 *     later -1 violates the primary key and is dropped, so the first JobIdAdded(-1) names the task;
 *   - JobProgress maps the task to job -1 until the task names another job, and writes each of the
 *     task's StatusUpdated / ProgressUpdated meanwhile to that row ('UNKNOWN' while only a
 *     progress has come).
 * The job here is that row, built from the task's own events.
 */
import { decodeDate, decodeUuid, eventType, type StoredEvent } from './events';
import { parsePercent, type SlurmJob, type WorkflowRun } from './fold';

export const UNSUBMITTED_JOB_ID = -1;

export function unsubmittedJob(run: WorkflowRun, taskId: string): SlurmJob | null {
  const task = run.tasks.find((t) => t.id === taskId);
  if (!task || !task.slurmJobIds.includes(UNSUBMITTED_JOB_ID)) return null;
  const job: SlurmJob = { jobId: UNSUBMITTED_JOB_ID, taskId, runId: run.id, state: null, progress: null, submittedAt: null, startedAt: null, endedAt: null };
  let current = false;
  let seen = false;
  const own = run.events.filter((e: StoredEvent) => (decodeUuid(e.originator_id) ?? e.originator_id) === taskId);
  for (const event of own) {
    const s = event.state;
    switch (eventType(event.topic)) {
      case 'Task.JobIdAdded':
        current = Number(s.job_id) === UNSUBMITTED_JOB_ID;
        if (current && !seen) job.submittedAt = decodeDate(s.timestamp);
        seen ||= current;
        break;
      case 'Task.StatusUpdated':
        if (current) job.state = String(s.status ?? '');
        break;
      case 'Task.ProgressUpdated':
        if (current) {
          job.state ??= 'UNKNOWN';
          job.progress = parsePercent(s.progress);
        }
        break;
    }
  }
  return job;
}
