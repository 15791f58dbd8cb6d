/**
 * slurmJob(-1) against rows written as BIOMERO writes them: several tasks whose sbatch failed, in
 * several runs. BIOMERO's JobAccounting keeps the first task for job -1; its JobProgress row takes
 * the updates of every task while -1 is that task's latest job.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { DEMO } from '../../../database/demo/index';
import { appendEvents, newRunEvents } from '../../../database/demo/workflows';
import { gql, startWorkflows, type WorkflowsService } from './support';

let stack: WorkflowsService;
beforeAll(async () => {
  stack = await startWorkflows({ slurm: null });
});
afterAll(async () => {
  await stack?.stop();
});

const Q = '{ slurmJob(id: "-1") { jobId state progress task { id } run { id } } }';

test('the row of job -1: the first task, with the status and progress of every task while -1 was its job', async () => {
  const before = (await gql(stack.url, Q, 'erin')).data.slurmJob;
  const first = DEMO.workflows.unassigned;
  expect(before).toMatchObject({ jobId: -1, task: { id: first.tasks.cellpose }, run: { id: first.id } });

  const runId = randomUUID();
  const taskId = randomUUID();
  const db = new pg.Client(stack.dbs.biomeroUrl);
  await db.connect();
  try {
    await appendEvents(db, [
      ...newRunEvents({ id: runId, taskId, user: 2, group: 3 }),
      { originatorId: taskId, version: 1, type: 'Task.JobIdAdded', fields: { job_id: -1 } },
      { originatorId: taskId, version: 2, type: 'Task.StatusUpdated', fields: { status: 'FAILED' } },
      { originatorId: taskId, version: 3, type: 'Task.ProgressUpdated', fields: { progress: '7%' } },
      // a later job of the same task: its updates go to that job's row, not to -1
      { originatorId: taskId, version: 4, type: 'Task.JobIdAdded', fields: { job_id: '9001' } },
      { originatorId: taskId, version: 5, type: 'Task.StatusUpdated', fields: { status: 'RUNNING' } },
      { originatorId: taskId, version: 6, type: 'Task.ProgressUpdated', fields: { progress: '80%' } },
    ]);
  } finally {
    await db.end();
  }
  const after = (await gql(stack.url, Q, 'erin')).data.slurmJob;
  // still the first task (JobAccounting keeps the first insert), with the shared progress row
  expect(after).toEqual({ jobId: -1, state: 'FAILED', progress: 7, task: { id: first.tasks.cellpose }, run: { id: first.id } });
});
