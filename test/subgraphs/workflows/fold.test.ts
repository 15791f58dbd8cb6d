import { encodeState, newRunEvents, workflowEventRows } from '../../../database/demo/workflows';
import { DEMO } from '../../../database/demo/world';
import type { StoredEvent } from '../../../subgraphs/workflows/events';
import { unsubmittedJob } from '../../../subgraphs/workflows/unsubmitted';
import {
  foldRun,
  inputImageIds,
  inputReferences,
  parsePercent,
  slurmStateOf,
  statusAfterTaskUpdate,
  statusEnum,
  unfinishedJobs,
  versionOf,
} from '../../../subgraphs/workflows/fold';

/** The demo events as the subgraph reads them: state decoded from the bytea JSON. */
const events: StoredEvent[] = workflowEventRows().map((r) => ({
  id: r.id as number,
  originator_id: r.originator_id as string,
  originator_version: r.originator_version as number,
  topic: r.topic as string,
  state: JSON.parse((r.state as Buffer).toString('utf8')),
}));

function fold(runId: string) {
  const run = foldRun(runId, events);
  if (!run) throw new Error('run not folded');
  return run;
}

describe('status rules (biomero views.py, HEAD)', () => {
  it.each([
    ['_SLURM_Image_Transfer.py', 'COMPLETED', 'TRANSFERRING', 5],
    ['CONVERT_ZARR_TO_TIFF', 'RUNNING', 'CONVERTING', 25],
    ['convert_zarr_to_tiff', 'RUNNING', 'CONVERTING', 25],
    ['SLURM_Get_Results.py', 'RUNNING', 'RETRIEVING', 90],
    ['SLURM_Import_Results.py', 'IMPORTING', 'IMPORTING', 90],
    ['SLURM_Run_Workflow.py', 'RUNNING', 'RUNNING', 50],
    ['cellpose', 'RUNNING', 'JOB_RUNNING', null],
  ])('%s + %s → %s', (task, status, expected, progress) => {
    expect(statusAfterTaskUpdate(task, status)).toEqual({ status: expected, progress });
  });

  it('maps open status strings onto the enum and keeps JOB_<state> readable', () => {
    expect(statusEnum('JOB_CANCELLED+')).toBe('JOB_CANCELLED');
    expect(statusEnum('JOB_CANCELLED by 1000')).toBe('JOB_CANCELLED');
    expect(statusEnum('JOB_OUT_OF_MEMORY')).toBe('UNKNOWN');
    expect(statusEnum('CLAIMED')).toBe('UNKNOWN');
    expect(slurmStateOf('JOB_OUT_OF_MEMORY')).toBe('OUT_OF_MEMORY');
    expect(slurmStateOf('JOB_CANCELLED+')).toBe('CANCELLED');
    expect(slurmStateOf('CONVERTING')).toBeNull();
  });

  it('parses versions and percentages', () => {
    expect(versionOf('Run cellpose segmentation\n2.0.1')).toBe('2.0.1');
    expect(versionOf('v1.4.0')).toBe('1.4.0');
    expect(versionOf('no version here')).toBeNull();
    expect(parsePercent('43%')).toBe(43);
    expect(parsePercent('68.0%')).toBe(68);
    expect(parsePercent(null)).toBeNull();
  });
});

describe('folding the demo runs', () => {
  it('a completed run: tasks in order, jobs with times, results, progress 100', () => {
    const run = fold(DEMO.workflows.cellpose.id);
    expect(run).toMatchObject({ name: 'Slurm Workflow', version: '2.0.1', userId: 2, groupId: 3, status: 'DONE', progress: 100, error: null });
    expect(run.tasks.map((t) => t.name)).toEqual(['_SLURM_Image_Transfer.py', 'CONVERT_ZARR_TO_TIFF', 'cellpose', 'SLURM_Get_Results.py']);
    const cellpose = run.tasks[2];
    expect(cellpose.statusHistory.map((s) => s.status)).toEqual(['CREATED', 'PENDING', 'RUNNING', 'COMPLETED']);
    expect(cellpose.jobs).toEqual([expect.objectContaining({ jobId: DEMO.workflows.cellpose.jobs.cellpose, state: 'COMPLETED', progress: 100 })]);
    const job = cellpose.jobs[0];
    expect(job.submittedAt!.toISOString()).toBe('2026-03-05T12:04:15.200Z');
    expect(job.startedAt!.toISOString()).toBe('2026-03-05T12:05:00.900Z');
    expect(job.endedAt!.toISOString()).toBe('2026-03-05T12:30:10.400Z');
    expect(cellpose.results[0].environment.find((e) => e.name === 'OMERO_PASSWORD')!.value).toBe('[REDACTED]');
    expect(cellpose.resultMessage).toBe(`Job ${DEMO.workflows.cellpose.jobs.cellpose} COMPLETED`);
    expect(inputImageIds(run)).toEqual([1, 2]);
    expect(unfinishedJobs(run)).toEqual([]);
    expect(run.events.length).toBe(events.filter((e) => [run.id, ...run.tasks.map((t) => t.id)].includes(e.originator_id)).length);
  });

  it('a failed run keeps its error and the progress it had', () => {
    const run = fold(DEMO.workflows.failed.id);
    expect(run).toMatchObject({ status: 'FAILED', error: expect.stringContaining('FAILED') });
    expect(run.tasks[1]).toMatchObject({ status: 'FAILED', error: expect.stringContaining('out of memory') });
    expect(run.progress).toBeCloseTo(50 + 0.4 * 7, 5);
  });

  it("a running run: JOB_RUNNING, 50% until a status update reads the job log's progress, its job unfinished", () => {
    const run = fold(DEMO.workflows.running.id);
    expect(run.status).toBe('JOB_RUNNING');
    // the 12% came after the RUNNING update: BIOMERO's view keeps 50% until the next one
    expect(run.tasks.find((t) => t.name === 'cellpose')!.progress).toBe(12);
    expect(run.progress).toBe(50);
    expect(unfinishedJobs(run).map((j) => j.jobId)).toEqual([DEMO.workflows.running.jobs.cellpose]);
  });

  it('a run written by the deployed v2.0.1 scripts (upper-case CONVERT_ task) folds to CONVERTING', () => {
    const run = fold(DEMO.workflows.deployed.id);
    expect(run).toMatchObject({ status: 'CONVERTING', progress: 25, userId: 5, groupId: 3 });
    expect(unfinishedJobs(run).map((j) => j.jobId)).toEqual([DEMO.workflows.deployed.jobs.convert]);
  });

  it('a run made by run_workflow without a workflow id: user/group -1, failed sbatch (job -1, no job)', () => {
    const run = fold(DEMO.workflows.unassigned.id);
    expect(run).toMatchObject({ name: 'cellpose', version: '1.4.0', userId: -1, groupId: -1, status: 'FAILED' });
    expect(run.tasks[0].slurmJobIds).toEqual([-1]);
    expect(run.tasks[0].jobs).toEqual([]);
  });

  it('never lets a secret out of a folded run', () => {
    const run = fold(DEMO.workflows.secrets.id);
    const text = JSON.stringify(run.tasks);
    for (const secret of DEMO.workflows.secrets.secretValues) expect(text).not.toContain(secret);
    expect(text).toContain('[REDACTED]');
  });

  it('ignores events of other aggregates and folds in store order whatever the input order', () => {
    const run = fold(DEMO.workflows.progress.id);
    const shuffled = foldRun(DEMO.workflows.progress.id, [...events].reverse())!;
    expect(shuffled.progress).toBe(run.progress);
    expect(run.progress).toBe(50); // progress updates alone never move the run (BIOMERO's WorkflowProgress)
    expect(run.events.length).toBe(1 + 2 + 3 + DEMO.workflows.progress.progressUpdates);
  });

  it('returns null without a WorkflowInitiated', () => {
    expect(foldRun('00000000-0000-4000-8000-000000000000', events)).toBeNull();
  });
});

describe('inputs', () => {
  it('names images as inputs, and every object with its Data_Type as references', () => {
    const run = { id: '7e57e57e-0000-4000-8000-0000000000a1', taskId: '7e57e57e-0000-4000-8000-0000000000a2', user: 2, group: 3 };
    const second = '7e57e57e-0000-4000-8000-0000000000a3';
    const plan = [
      ...newRunEvents({ ...run, params: { IDs: [3, '4', 'x', -1], Data_Type: 'Dataset' } }),
      ...newRunEvents({ ...run, taskId: second, params: { IDs: [9, 8] } })
        .slice(1)
        .map((e) => (e.originatorId === run.id ? { ...e, version: 2 } : e)),
    ];
    const events: StoredEvent[] = plan.map((e, i) => ({
      id: i + 1,
      originator_id: e.originatorId,
      originator_version: e.version,
      topic: `biomero.eventsourcing:${e.type}`,
      state: JSON.parse(encodeState(e.fields ?? {}, new Date()).toString()),
    }));
    const folded = foldRun(run.id, events)!;
    expect(inputImageIds(folded)).toEqual([8, 9]);
    expect(inputReferences(folded)).toEqual([
      { dataType: 'Dataset', id: 3 },
      { dataType: 'Dataset', id: 4 },
      { dataType: 'Image', id: 8 },
      { dataType: 'Image', id: 9 },
    ]);
  });
});

describe("BIOMERO's own fold (biomero views.py WorkflowProgress, eventsourcing.py Task)", () => {
  const run = { id: '7e57e57e-0000-4000-8000-0000000000b1', taskId: '7e57e57e-0000-4000-8000-0000000000b2', user: 2, group: 3 };
  /** Events as BIOMERO's WorkflowTracker stores them: the run's three, then the task's, versions counting up. */
  function eventsOf(...taskEvents: [string, Record<string, unknown>][]): StoredEvent[] {
    const plan = [...newRunEvents(run), ...taskEvents.map(([type, fields], i) => ({ originatorId: run.taskId, version: i + 1, type, fields }))];
    return plan.map((e, i) => ({
      id: i + 1,
      originator_id: e.originatorId,
      originator_version: e.version,
      topic: `biomero.eventsourcing:${e.type}`,
      state: JSON.parse(encodeState(e.fields ?? {}, new Date(Date.UTC(2026, 2, 1, 10, 0, i))).toString()),
    }));
  }

  it('a progress update alone does not move the run; the next status update reads it (50 + 0.4 × last task progress)', () => {
    const completedThenFailed = eventsOf(
      ['Task.JobIdAdded', { job_id: '812' }],
      ['Task.StatusUpdated', { status: 'COMPLETED' }],
      ['Task.ProgressUpdated', { progress: '55%' }],
      ['Task.TaskFailed', { error_message: 'import failed: no space left on device' }],
    );
    const failed = [
      ...completedThenFailed,
      {
        id: 99,
        originator_id: run.id,
        originator_version: 2,
        topic: 'biomero.eventsourcing:WorkflowRun.WorkflowFailed',
        state: { timestamp: completedThenFailed[0].state.timestamp, error_message: 'import failed' },
      },
    ];
    const folded = foldRun(run.id, failed)!;
    expect(folded).toMatchObject({ status: 'FAILED', progress: 50 });
    expect(folded.tasks[0].progress).toBe(55);

    const updated = foldRun(
      run.id,
      eventsOf(['Task.JobIdAdded', { job_id: '812' }], ['Task.ProgressUpdated', { progress: '55%' }], ['Task.StatusUpdated', { status: 'RUNNING' }]),
    )!;
    expect(updated).toMatchObject({ status: 'JOB_RUNNING', progress: 72 });
  });

  it("job -1 (sbatch failed): the first task's run with the shared row JobProgress writes (status keeps progress; UNKNOWN while only a progress came)", () => {
    const S = 'biomero.eventsourcing:Task.StatusUpdated';
    const P = 'biomero.eventsourcing:Task.ProgressUpdated';
    const folded = foldRun(run.id, eventsOf(['Task.JobIdAdded', { job_id: -1 }], ['Task.JobIdAdded', { job_id: '812' }]))!;
    expect(folded.tasks[0].jobs.map((j) => j.jobId)).toEqual([812]);
    expect(
      unsubmittedJob(folded, run.taskId, [
        { topic: P, status: undefined, progress: '0%' },
        { topic: S, status: 'FAILED', progress: undefined },
      ]),
    ).toMatchObject({ jobId: -1, taskId: run.taskId, runId: run.id, state: 'FAILED', progress: 0, startedAt: null, endedAt: null });
    expect(unsubmittedJob(folded, run.taskId, [{ topic: P, status: undefined, progress: '5%' }])).toMatchObject({ state: 'UNKNOWN', progress: 5 });
    expect(unsubmittedJob(folded, run.taskId, [])).toMatchObject({ state: null, progress: null });
    expect(unsubmittedJob(foldRun(run.id, eventsOf(['Task.JobIdAdded', { job_id: '812' }]))!, run.taskId, [])).toBeNull();
  });

  it('a failed task keeps its failure text as resultMessage (Task.fail_task sets result_message)', () => {
    const folded = foldRun(run.id, eventsOf(['Task.TaskFailed', { error_message: 'sbatch: error: invalid partition' }]))!;
    expect(folded.tasks[0]).toMatchObject({ error: 'sbatch: error: invalid partition', resultMessage: 'sbatch: error: invalid partition' });
    const completed = foldRun(run.id, eventsOf(['Task.TaskCompleted', { result: 'Job 812 COMPLETED' }]))!;
    expect(completed.tasks[0]).toMatchObject({ error: null, resultMessage: 'Job 812 COMPLETED' });
  });
});
