/**
 * test/slurm/events.ts: BIOMERO's events for a run whose task has a real Slurm job, written as
 * the demo world (and BIOMERO) writes them.
 */
import pg from 'pg';
import { workflowEventRows } from '../../../../database/demo/workflows';
import { decodeDate, decodeUuid } from '../../../../subgraphs/workflows/events';
import { createSlurmCluster } from '../../../../subgraphs/workflows/slurm/cluster';
import { cleanupJobs, describeSlurm, eventually, slurmTest, submitJob } from '../../../slurm/cluster';
import { appendTaskEvents, insertRunWithJob } from '../../../slurm/events';
import { createTestDatabases, type TestDatabases } from '../../../support/databases';

/** key order and JSON types of an event's state, e.g. "timestamp:object,job_id:number" */
const shape = (state: Record<string, unknown>) =>
  Object.entries(state)
    .map(([k, v]) => `${k}:${Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v}`)
    .join(',');

describeSlurm('BIOMERO events for a real Slurm job', () => {
  let dbs: TestDatabases;
  let pool: pg.Pool;
  const jobs: number[] = [];

  beforeAll(async () => {
    dbs = await createTestDatabases();
    pool = new pg.Pool({ connectionString: dbs.biomeroUrl, max: 2 });
  });
  afterAll(async () => {
    await pool.end();
    await dbs.drop();
    await cleanupJobs(jobs);
  });

  test('a run whose task has a real sbatch job id, encoded like the demo world', async () => {
    const jobId = await submitJob({ script: 'echo "50%"' });
    jobs.push(jobId);
    const run = await insertRunWithJob(pool, { jobId, user: 2, group: 3 });

    const { rows } = await pool.query(
      `SELECT id, originator_id, originator_version, topic, convert_from(state, 'UTF8') AS state
         FROM workflowtracker_events WHERE id = ANY($1::bigint[]) ORDER BY id`,
      [run.eventIds],
    );
    expect(rows.map((r) => [r.originator_id, Number(r.originator_version), r.topic])).toEqual([
      [run.runId, 0, 'biomero.eventsourcing:WorkflowRun.WorkflowInitiated'],
      [run.taskId, 0, 'biomero.eventsourcing:Task.TaskCreated'],
      [run.runId, 1, 'biomero.eventsourcing:WorkflowRun.TaskAdded'],
      [run.taskId, 1, 'biomero.eventsourcing:Task.JobIdAdded'],
      [run.taskId, 2, 'biomero.eventsourcing:Task.StatusUpdated'],
    ]);
    // ids come from the table's sequence, after the demo world's
    const demo = workflowEventRows();
    expect(Number(rows[0].id)).toBeGreaterThan(demo.length);

    const states = rows.map((r) => JSON.parse(r.state) as Record<string, unknown>);
    expect(states[3].job_id).toBe(jobId);
    expect(decodeUuid(states[1].workflow_id)).toBe(run.runId);
    expect(decodeUuid(states[2].task_id)).toBe(run.taskId);
    expect(states[4].status).toBe('PENDING');
    const times = states.map((s) => decodeDate(s.timestamp)!.getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect((states[0].timestamp as { _data_: string })._data_).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?\+00:00$/);

    // the same key order and value types as the demo world's events of the same topic
    for (const [i, row] of rows.entries()) {
      const twin = demo.find((d) => d.topic === row.topic)!;
      expect(shape(states[i])).toBe(shape(JSON.parse((twin.state as Buffer).toString('utf8'))));
    }

    // and Slurm knows that job
    const cluster = createSlurmCluster(slurmTest().config);
    try {
      const state = await eventually(async () => (await cluster.jobStates([jobId])).get(jobId));
      expect(state.jobId).toBe(jobId);
    } finally {
      await cluster.close();
    }
  });

  test('later task events continue the aggregate versions', async () => {
    const run = await insertRunWithJob(pool, { jobId: 999_001, user: 2, group: 3, status: null, taskName: 'stardist' });
    expect(run.eventIds).toHaveLength(4);
    const ids = await appendTaskEvents(pool, run.taskId, [
      ['StatusUpdated', { status: 'RUNNING' }],
      ['ProgressUpdated', { progress: '40%' }],
    ]);
    const end = await appendTaskEvents(pool, run.runId, [['WorkflowCompleted']], 'WorkflowRun');
    const { rows } = await pool.query('SELECT originator_version, topic FROM workflowtracker_events WHERE id = ANY($1::bigint[]) ORDER BY id', [
      [...ids, ...end],
    ]);
    expect(rows.map((r) => [Number(r.originator_version), r.topic])).toEqual([
      [2, 'biomero.eventsourcing:Task.StatusUpdated'],
      [3, 'biomero.eventsourcing:Task.ProgressUpdated'],
      [2, 'biomero.eventsourcing:WorkflowRun.WorkflowCompleted'],
    ]);
  });
});
