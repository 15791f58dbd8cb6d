/**
 * PollingSlurmWatcher against the real single-node Slurm cluster (test/slurm/setup.sh).
 */
import { createSlurmCluster, createSlurmWatcher, SlurmError, type SshSlurmCluster } from '../../../../subgraphs/workflows/slurm/cluster';
import type { SlurmCluster, SlurmStateChange } from '../../../../subgraphs/workflows/slurm/types';
import type { PollingSlurmWatcher } from '../../../../subgraphs/workflows/slurm/watcher';
import { cleanupJobs, describeSlurm, eventually, releaseJob, slurmTest, submitJob } from '../../../slurm/cluster';

const submitted: number[] = [];

/** The cluster with a log of which method was called with which ids. */
function recording(cluster: SlurmCluster) {
  const calls: Array<[string, number[]]> = [];
  const wrapped: SlurmCluster = {
    jobStates: (ids) => (calls.push(['jobStates', [...ids]]), cluster.jobStates(ids)),
    queueStates: (ids) => (calls.push(['queueStates', [...ids]]), cluster.queueStates(ids)),
    logTails: (ids, lines) => cluster.logTails(ids, lines),
    cancel: (ids) => cluster.cancel(ids),
    close: () => cluster.close(),
  };
  return { wrapped, calls };
}

describeSlurm('SlurmWatcher on a real Slurm cluster', () => {
  let cluster: SshSlurmCluster;
  let watcher: PollingSlurmWatcher;

  beforeEach(() => {
    cluster = createSlurmCluster(slurmTest().config);
  });
  afterEach(async () => {
    await watcher?.stop();
    await cluster.close();
  });
  afterAll(async () => {
    await cleanupJobs(submitted);
  });

  test('reports PENDING → RUNNING → COMPLETED, changes only, one squeue per interval for all jobs', async () => {
    const { wrapped, calls } = recording(cluster);
    watcher = createSlurmWatcher(wrapped, 150);
    const held = await submitJob({ script: 'sleep 1.2', hold: true });
    const other = await submitJob({ script: 'sleep 1', hold: true });
    submitted.push(held, other);

    const seen: SlurmStateChange[] = [];
    const seenOther: SlurmStateChange[] = [];
    watcher.watch([held], (c) => seen.push(c));
    watcher.watch([other], (c) => seenOther.push(c));

    await eventually(async () => (seen.length >= 1 && seenOther.length >= 1 ? true : undefined), 5000, 50);
    expect(seen[0]).toMatchObject({ previous: null, current: { jobId: held, state: 'PENDING', source: 'squeue' } });
    await new Promise((r) => setTimeout(r, 500)); // several polls of an unchanged job: nothing new
    expect(seen).toHaveLength(1);

    await releaseJob(held);
    await releaseJob(other);
    await eventually(
      async () => (seen.at(-1)?.current.state === 'COMPLETED' && seenOther.at(-1)?.current.state === 'COMPLETED' ? true : undefined),
      15_000,
      100,
    );

    const states = seen.map((c) => c.current.state);
    expect(states[0]).toBe('PENDING');
    expect(states).toContain('RUNNING');
    expect(states.at(-1)).toBe('COMPLETED');
    for (let i = 1; i < seen.length; i++) expect(seen[i].previous).toEqual(seen[i - 1].current);
    expect(seen.at(-1)!.current).toMatchObject({ source: 'sacct', exitCode: '0:0' });

    // every poll asked squeue once for all unfinished watched jobs; sacct only for jobs that left the queue
    const squeues = calls.filter(([m]) => m === 'queueStates');
    expect(squeues.length).toBe(watcher.polls);
    expect(squeues[0][1].sort()).toEqual([held, other].sort());
    for (const [method, ids] of calls.filter(([m]) => m === 'jobStates')) {
      expect(method).toBe('jobStates');
      expect(ids.every((id) => [held, other].includes(id))).toBe(true);
    }

    // finished jobs are no longer polled
    const polls = watcher.polls;
    await new Promise((r) => setTimeout(r, 400));
    expect(watcher.polls).toBe(polls);
  });

  test('a cancelled job is reported CANCELLED; a late listener gets the current state; unwatch stops polling', async () => {
    watcher = createSlurmWatcher(cluster, 150);
    const id = await submitJob({ script: 'sleep 120' });
    submitted.push(id);
    const seen: SlurmStateChange[] = [];
    const unwatch = watcher.watch([id], (c) => seen.push(c));
    await eventually(async () => (seen.at(-1)?.current.state === 'RUNNING' ? true : undefined), 10_000, 50);

    const late: SlurmStateChange[] = [];
    const unwatchLate = watcher.watch([id], (c) => late.push(c));
    await eventually(async () => (late.length === 1 ? true : undefined), 1000, 10);
    expect(late[0]).toMatchObject({ previous: null, current: { state: 'RUNNING' } });

    await cluster.cancel([id]);
    await eventually(async () => (seen.at(-1)?.current.state === 'CANCELLED' ? true : undefined), 15_000, 100);
    expect(seen.at(-1)!.current).toMatchObject({ jobId: id, source: 'sacct' });
    expect(late.at(-1)!.current.state).toBe('CANCELLED');

    unwatch();
    unwatchLate();
    const polls = watcher.polls;
    await new Promise((r) => setTimeout(r, 400));
    expect(watcher.polls).toBe(polls);
  });

  test('a job Slurm has never seen stays silent; a poll that fails is retried', async () => {
    const { config } = slurmTest();
    const broken = createSlurmCluster({ ...config, port: 1, commandTimeoutMs: 300, reconnectBaseMs: 50, reconnectMaxMs: 50 });
    watcher = createSlurmWatcher(broken, 100);
    const seen: SlurmStateChange[] = [];
    watcher.watch([60_000_000], (c) => seen.push(c));
    await eventually(async () => (watcher.polls >= 3 ? true : undefined), 5000, 50); // failures do not stop polling
    expect(seen).toEqual([]);
    await watcher.stop();
    await broken.close();

    watcher = createSlurmWatcher(cluster, 100);
    watcher.watch([60_000_000], (c) => seen.push(c));
    await eventually(async () => (watcher.polls >= 2 ? true : undefined), 5000, 50);
    expect(seen).toEqual([]);
    expect(() => watcher.watch([-1], () => undefined)).toThrow(SlurmError);
    expect(() => watcher.watch(['1;id'] as unknown as number[], () => undefined)).toThrow(SlurmError);
  });
});
