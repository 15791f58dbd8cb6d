/**
 * The run status filter is computed in SQL (source/events.ts STATUS_SQL) while the run itself is
 * folded in TypeScript (fold.ts): for every status a run can have, both must agree.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { appendEvents, newRunEvents, type NewEvent } from '../../../../database/demo/workflows';
import { KNOWN_STATUSES } from '../../../../subgraphs/workflows/fold';
import { gql, startWorkflows, type WorkflowsService } from '../support';

/** How to bring a run to each status, as BIOMERO writes it: the task's name and its last status. */
const PLANS: Record<string, { task: string; status?: string; end?: 'WorkflowCompleted' | 'WorkflowFailed' } | null> = {
  INITIALIZING: null,
  TRANSFERRING: { task: '_SLURM_Image_Transfer.py', status: 'RUNNING' },
  CONVERTING: { task: 'convert_zarr_to_tiff', status: 'RUNNING' },
  RUNNING: { task: 'SLURM_Run_Workflow.py', status: 'RUNNING' },
  JOB_PENDING: { task: 'cellpose', status: 'PENDING' },
  JOB_RUNNING: { task: 'cellpose', status: 'RUNNING' },
  JOB_COMPLETED: { task: 'cellpose', status: 'COMPLETED' },
  JOB_FAILED: { task: 'cellpose', status: 'FAILED' },
  JOB_CANCELLED: { task: 'cellpose', status: 'CANCELLED by 1000' },
  JOB_TIMEOUT: { task: 'cellpose', status: 'TIMEOUT' },
  RETRIEVING: { task: 'SLURM_Get_Results.py', status: 'RUNNING' },
  IMPORTING: { task: 'SLURM_Import_Results.py', status: 'IMPORTING' },
  IMPORTED: { task: 'SLURM_Import_Results.py', status: 'IMPORTED' },
  POSTPROCESSING: { task: 'SLURM_Import_Results.py', status: 'POSTPROCESSING' },
  DONE: { task: 'cellpose', status: 'COMPLETED', end: 'WorkflowCompleted' },
  FAILED: { task: 'cellpose', status: 'RUNNING', end: 'WorkflowFailed' },
  UNKNOWN: { task: 'cellpose', status: 'SOMETHING_NEW' },
};

let stack: WorkflowsService;
const runOf = new Map<string, string>();

beforeAll(async () => {
  stack = await startWorkflows({ slurm: null });
  const db = new pg.Client(stack.dbs.biomeroUrl);
  await db.connect();
  try {
    for (const [status, plan] of Object.entries(PLANS)) {
      const id = randomUUID();
      const taskId = randomUUID();
      runOf.set(status, id);
      const events: NewEvent[] = plan
        ? newRunEvents({ id, taskId, user: 2, group: 3, taskName: plan.task })
        : newRunEvents({ id, taskId, user: 2, group: 3 }).slice(0, 1);
      if (plan?.status) events.push({ originatorId: taskId, version: 1, type: 'Task.StatusUpdated', fields: { status: plan.status } });
      if (plan?.end === 'WorkflowCompleted') events.push({ originatorId: id, version: 2, type: 'WorkflowRun.WorkflowCompleted' });
      if (plan?.end === 'WorkflowFailed')
        events.push({ originatorId: id, version: 2, type: 'WorkflowRun.WorkflowFailed', fields: { error_message: 'failed' } });
      await appendEvents(db, events);
    }
  } finally {
    await db.end();
  }
});
afterAll(async () => {
  await stack?.stop();
});

test('every status of the fold has a run here (the table covers KNOWN_STATUSES and UNKNOWN)', () => {
  expect(Object.keys(PLANS).sort()).toEqual([...KNOWN_STATUSES, 'UNKNOWN'].sort());
});

test.each(Object.keys(PLANS))('%s: the SQL filter finds exactly the runs the fold gives that status', async (status) => {
  const all = await gql(stack.url, '{ workflowRuns(first: 500) { nodes { id status } } }', 'erin');
  expect(all.errors).toBeUndefined();
  const nodes = all.data.workflowRuns.nodes as { id: string; status: string }[];
  // the fold gives this run the status it was built for
  expect(nodes.find((r) => r.id === runOf.get(status))?.status).toBe(status);
  const filtered = await gql(stack.url, 'query($s: [WorkflowStatus!]) { workflowRuns(filter: { statuses: $s }, first: 500) { nodes { id } } }', 'erin', {
    s: [status],
  });
  expect(filtered.errors).toBeUndefined();
  const ids = new Set((filtered.data.workflowRuns.nodes as { id: string }[]).map((r) => r.id));
  expect(ids).toEqual(new Set(nodes.filter((r) => r.status === status).map((r) => r.id)));
});
