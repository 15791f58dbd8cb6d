/**
 * The workflows subgraph against the real single-node Slurm cluster over SSH (test/slurm/):
 * live job fields, Slurm updates in workflowRunUpdated, and cancelWorkflowRun running scancel.
 * Skips with the reason printed where the cluster cannot run; fails under REQUIRE_SLURM=1.
 */
import pg from 'pg';
import { createSlurmCluster, createSlurmWatcher } from '../../../subgraphs/workflows/slurm/cluster';
import { cleanupJobs, describeSlurm, eventually, slurmTest, submitJob } from '../../slurm/cluster';
import { insertRunWithJob } from '../../slurm/events';
import { collect, gql, startWorkflows, wsClient, type WorkflowsService } from './support';

describeSlurm('the workflows subgraph on a real Slurm cluster', () => {
  let stack: WorkflowsService;
  let db: pg.Pool;
  const jobs: number[] = [];
  beforeAll(async () => {
    const cluster = createSlurmCluster(slurmTest().config);
    stack = await startWorkflows({ slurm: { cluster, watcher: createSlurmWatcher(cluster, 300) } });
    db = new pg.Pool({ connectionString: stack.dbs.biomeroUrl, max: 2 });
  });
  afterAll(async () => {
    await cleanupJobs(jobs);
    await db?.end();
    await stack?.stop();
  });

  const JOB = 'jobId state live { state source exitCode } exitCode log(lines: 5) { tail progress }';

  it('shows a queued job live, publishes its Slurm changes, and cancels it for its owner only', async () => {
    const jobId = await submitJob({ script: 'echo 42%; sleep 60', hold: true });
    jobs.push(jobId);
    const run = await insertRunWithJob(db, { jobId, user: 2, group: 3 }); // alice, lab-private

    const read = async () => (await gql(stack.url, `{ slurmJob(id: "${jobId}") { ${JOB} } }`, 'alice')).data?.slurmJob;
    const queued = await read();
    expect(queued).toMatchObject({ jobId, state: 'PENDING', live: { state: 'PENDING' } });

    const client = wsClient(stack.url, 'alice');
    try {
      const cancelledSeen = collect(
        client,
        `subscription { workflowRunUpdated(filter: { groupId: "3" }) { source cursor job { jobId } slurmState { state source } run { id } } }`,
        {},
        (events) => events.some((e) => e.source === 'SLURM' && e.slurmState.state === 'CANCELLED'),
        30_000,
      );
      await new Promise((r) => setTimeout(r, 1000));

      const cancel = async (user: 'alice' | 'bob' | 'dave' | 'carol') =>
        gql(stack.url, `mutation { cancelWorkflowRun(id: "${run.runId}") { cancelledJobIds run { id } } }`, user);
      expect((await cancel('bob')).errors?.[0].extensions?.code).toBe('NOT_FOUND');
      expect((await cancel('dave')).errors?.[0].extensions?.code).toBe('NOT_FOUND');
      const done = await cancel('alice');
      expect(done.errors).toBeUndefined();
      expect(done.data.cancelWorkflowRun).toEqual({ cancelledJobIds: [jobId], run: { id: run.runId } });

      const updates = await cancelledSeen;
      const slurm = updates.filter((e) => e.source === 'SLURM');
      expect(slurm.every((e) => e.cursor === null && e.job.jobId === jobId && e.run.id === run.runId)).toBe(true);
      const live = await eventually(async () => {
        const job = await read();
        return job?.live?.state === 'CANCELLED' ? job : undefined;
      });
      expect(live.state).toBe('PENDING'); // the event store still says what BIOMERO last wrote
      // nothing left to cancel: scancel is not run again
      expect((await cancel('carol')).data.cancelWorkflowRun.cancelledJobIds).toEqual([]);
    } finally {
      await client.dispose();
    }
  }, 90_000);

  it('reads a running job’s log tail and progress in one command, and nothing once the run has finished', async () => {
    const jobId = await submitJob({ script: 'echo starting; echo 42%; sleep 60' });
    jobs.push(jobId);
    const run = await insertRunWithJob(db, { jobId, user: 2, group: 3, status: 'RUNNING' });
    const job = await eventually(async () => {
      const j = (await gql(stack.url, `{ slurmJob(id: "${jobId}") { ${JOB} } }`, 'carol')).data?.slurmJob;
      return j?.live?.state === 'RUNNING' && j.log?.progress === 42 ? j : undefined;
    });
    expect(job.log.tail).toContain('starting');
    expect((await gql(stack.url, `{ slurmJob(id: "${jobId}") { live { state } } }`, 'bob')).data?.slurmJob).toBeNull();
    await db.query(
      `INSERT INTO workflowtracker_events (originator_id, originator_version, topic, state)
      VALUES ($1, 2, 'biomero.eventsourcing:WorkflowRun.WorkflowCompleted', convert_to($2, 'UTF8'))`,
      [run.runId, JSON.stringify({ timestamp: { _type_: 'datetime_iso', _data_: '2026-03-20T10:00:00.000000+00:00' } })],
    );
    const finished = (await gql(stack.url, `{ slurmJob(id: "${jobId}") { ${JOB} } }`, 'alice')).data?.slurmJob;
    expect(finished).toMatchObject({ live: null, exitCode: null, log: null });
  }, 60_000);
});
