/**
 * The run summary behind workflowStatistics (source/run-summary.ts): its answers equal the event
 * store's (the path used without our migration, on a twin database holding the same events),
 * after the first build, after new events, after a commit below the watermark, after concurrent
 * catch-ups, and for a caller who may not see every group.
 */
import pg from 'pg';
import { groupScope, type GroupScope } from '../../../../subgraphs/common/access';
import { RunSummary, runSummaryOf } from '../../../../subgraphs/workflows/source/run-summary';
import { workflowStatistics, type WorkflowStatisticsArgs, type WorkflowStatisticsKey } from '../../../../subgraphs/workflows/source/statistics';
import { generateStatisticsRuns } from '../../../bench/statistics-world';
import { createTestDatabases, type TestDatabases } from '../../../support/databases';
import { identityOf } from '../support';

const OWNERS = [
  { user: 2, group: 3 },
  { user: 3, group: 5 },
  { user: 5, group: 3 },
];
const YEAR = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') };
const erin = (): GroupScope => groupScope(identityOf('erin'));
const dave = (): GroupScope => groupScope(identityOf('dave'));

/** `summarised` has our migration, `eventsOnly` the same events without the summary tables. */
let summarised: TestDatabases;
let eventsOnly: TestDatabases;
let pool: pg.Pool;
let plain: pg.Pool;

/** The same generated runs in both databases (ids derive from the tag). */
async function addRuns(tag: string, runs: number, from = new Date('2026-03-01T00:00:00Z')): Promise<void> {
  for (const p of [pool, plain]) await generateStatisticsRuns(p, { runs, from, spacingSeconds: 26 * 3600, owners: OWNERS, tag });
}

const ASKS: { keys: WorkflowStatisticsKey[]; period?: 'DAY' | 'WEEK' | 'MONTH'; filter?: WorkflowStatisticsArgs['filter'] }[] = [
  { keys: ['PERIOD', 'WORKFLOW', 'STATUS'], period: 'DAY' },
  { keys: ['USER', 'GROUP', 'WORKFLOW_VERSION'] },
  { keys: [] },
  { keys: ['PERIOD'], period: 'WEEK', filter: { workflow: 'CELLPOSE', statuses: ['DONE', 'FAILED', 'UNKNOWN'] } },
  { keys: ['PERIOD', 'STATUS'], period: 'MONTH', filter: { groupId: '3' } },
];

/** Numbers to 6 decimals: sums taken in another order differ in the last bits. */
function rounded(value: unknown): unknown {
  if (typeof value === 'number') return Math.round(value * 1e6) / 1e6;
  if (value instanceof Date || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(rounded);
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, rounded(v)]));
}

/** Every ask answered from the summary equals the event store's answer, for this caller. */
async function expectSameAnswers(scope: GroupScope = erin()): Promise<void> {
  for (const ask of ASKS) {
    const args: WorkflowStatisticsArgs = { range: YEAR, groupBy: ask.keys, period: ask.period, filter: ask.filter };
    const [fromSummary, fromEvents] = await Promise.all([workflowStatistics(pool, scope, args), workflowStatistics(plain, scope, args)]);
    expect({ ask, buckets: rounded(fromSummary) }).toEqual({ ask, buckets: rounded(fromEvents) });
  }
}

async function state(): Promise<{ foldedUpTo: number; rows: number; runs: number; newest: number }> {
  const { rows } = await pool.query<{ folded_up_to: number; rows: number; runs: number; newest: number }>(
    `SELECT (SELECT folded_up_to FROM omero_graph_workflow_run_summary_state) AS folded_up_to,
            (SELECT count(*)::int FROM omero_graph_workflow_run_summary) AS rows,
            (SELECT count(*)::int FROM workflowtracker_events WHERE topic LIKE '%WorkflowRun.WorkflowInitiated') AS runs,
            (SELECT max(id) FROM workflowtracker_events) AS newest`,
  );
  return { foldedUpTo: Number(rows[0].folded_up_to), rows: rows[0].rows, runs: rows[0].runs, newest: Number(rows[0].newest) };
}

beforeAll(async () => {
  [summarised, eventsOnly] = await Promise.all([createTestDatabases(), createTestDatabases()]);
  pool = new pg.Pool({ connectionString: summarised.biomeroUrl, max: 4 });
  plain = new pg.Pool({ connectionString: eventsOnly.biomeroUrl, max: 4 });
  await plain.query(
    'DROP TABLE omero_graph_workflow_run_summary, omero_graph_workflow_run_task, omero_graph_workflow_run_summary_state, omero_graph_workflow_run_day',
  );
  // catch-ups here are explicit, each by a RunSummary of its own (one per replica), so that
  // what each folded can be counted: no background catch-up after requests on this pool
  await runSummaryOf(pool).stop();
  await addRuns('base', 60);
});
afterAll(async () => {
  await pool?.end();
  await plain?.end();
  await summarised?.drop();
  await eventsOnly?.drop();
});

describe('run summary', () => {
  it('the first build folds every run once; answers equal the event store, and come from the summary', async () => {
    const built = await new RunSummary(pool).catchUp();
    const after = await state();
    expect(built.folded).toBe(after.runs);
    expect(after.rows).toBe(after.runs);
    expect(after.foldedUpTo).toBe(after.newest);
    await expectSameAnswers();
    // the answer is read from the summary's rows (a tampered row shows), and a fold version
    // change rebuilds them
    await pool.query(
      `UPDATE omero_graph_workflow_run_summary SET workflow = 'tampered' WHERE run_id = (SELECT run_id FROM omero_graph_workflow_run_summary WHERE created >= $1 LIMIT 1)`,
      [YEAR.from],
    );
    const tampered = await workflowStatistics(pool, erin(), { range: YEAR, groupBy: ['WORKFLOW'] });
    expect(tampered.find((b) => b.workflow === 'tampered')?.runs).toBe(1);
    await pool.query('UPDATE omero_graph_workflow_run_summary_state SET fold_version = 0');
    const rebuilt = await new RunSummary(pool).catchUp();
    expect(rebuilt.folded).toBe(after.runs);
    await expectSameAnswers();
  });

  it('new events after the build are in the next answer, and the next catch-up folds only the runs they touch', async () => {
    await new RunSummary(pool).catchUp();
    const before = await state();
    // three new runs, and the still running run 1 of the first generation completes
    await addRuns('later', 3, new Date('2026-08-01T00:00:00Z'));
    for (const p of [pool, plain]) {
      await p.query(
        `INSERT INTO workflowtracker_events (originator_id, originator_version, topic, state)
         VALUES (md5('base-run-1')::uuid, 100, 'biomero.eventsourcing:WorkflowRun.WorkflowCompleted', convert_to('{"timestamp": {"_type_": "datetime_iso", "_data_": "2026-03-03T00:00:00+00:00"}}', 'UTF8'))`,
      );
    }
    // the request folds them within its snapshot
    await expectSameAnswers();
    expect((await state()).foldedUpTo).toBe(before.foldedUpTo);
    // and a catch-up folds only the runs the new events touch
    expect((await new RunSummary(pool).catchUp()).folded).toBe(4);
    await expectSameAnswers();
    await addRuns('latest', 2, new Date('2026-09-01T00:00:00Z'));
    const caughtUp = await new RunSummary(pool).catchUp();
    expect(caughtUp.folded).toBe(2);
    await expectSameAnswers();
  });

  it('an event committed below the watermark (ids taken out of commit order) is not missed; a rolled-back id is passed over', async () => {
    await new RunSummary(pool).catchUp();
    const late = await pool.connect();
    try {
      // takes its ids first and commits last
      await late.query('BEGIN');
      await generateStatisticsRuns(late, { runs: 1, from: new Date('2026-10-01T00:00:00Z'), spacingSeconds: 3600, owners: OWNERS, tag: 'late' });
      await generateStatisticsRuns(pool, { runs: 1, from: new Date('2026-10-02T00:00:00Z'), spacingSeconds: 3600, owners: OWNERS, tag: 'early' });
      await generateStatisticsRuns(plain, { runs: 1, from: new Date('2026-10-02T00:00:00Z'), spacingSeconds: 3600, owners: OWNERS, tag: 'early' });
      // a catch-up now (it waits SETTLE_WAIT_MS for the open writer, then settles for the
      // ids committed without a gap) stops below the open transaction's ids
      const { rows } = await late.query<{ id: number }>(`SELECT min(id) AS id FROM workflowtracker_events WHERE originator_id = md5('late-run-0')::uuid`);
      const caughtUp = await new RunSummary(pool).catchUp();
      const held = await state();
      expect(held.newest).toBeGreaterThan(Number(rows[0].id));
      expect(caughtUp.foldedUpTo).toBe(Number(rows[0].id) - 1);
      expect(held.foldedUpTo).toBe(Number(rows[0].id) - 1);
      await expectSameAnswers();
      await late.query('COMMIT');
    } finally {
      await late.query('ROLLBACK').catch(() => undefined); // after a failed expectation: no lock left behind
      late.release();
    }
    await generateStatisticsRuns(plain, { runs: 1, from: new Date('2026-10-01T00:00:00Z'), spacingSeconds: 3600, owners: OWNERS, tag: 'late' });
    await expectSameAnswers();
    expect((await new RunSummary(pool).catchUp()).folded).toBe(2); // late, and early again (above the old watermark)
    await expectSameAnswers();
    // a transaction that rolls back leaves a gap for good: settled once it has ended
    const rolledBack = await pool.connect();
    try {
      await rolledBack.query('BEGIN');
      await generateStatisticsRuns(rolledBack, { runs: 1, from: new Date('2026-10-05T00:00:00Z'), spacingSeconds: 3600, owners: OWNERS, tag: 'gone' });
      await rolledBack.query('ROLLBACK');
    } finally {
      rolledBack.release();
    }
    await addRuns('after-gap', 1, new Date('2026-10-06T00:00:00Z'));
    await new RunSummary(pool).catchUp();
    const settled = await state();
    expect(settled.foldedUpTo).toBe(settled.newest);
    expect(settled.rows).toBe(settled.runs);
    await expectSameAnswers();
  });

  it('two catch-ups at once (two replicas) fold each run once', async () => {
    await new RunSummary(pool).catchUp();
    await addRuns('concurrent', 40, new Date('2026-11-01T00:00:00Z'));
    const other = new pg.Pool({ connectionString: summarised.biomeroUrl, max: 2 });
    try {
      const results = await Promise.all([new RunSummary(pool).catchUp(), new RunSummary(other).catchUp()]);
      expect(results[0].folded + results[1].folded).toBe(40);
    } finally {
      await other.end();
    }
    const after = await state();
    expect(after.rows).toBe(after.runs);
    expect(after.foldedUpTo).toBe(after.newest);
    await expectSameAnswers();
  });

  it('a request that finds events above the watermark starts a catch-up in the background', async () => {
    await new RunSummary(pool).catchUp();
    await addRuns('nudged', 2, new Date('2026-12-01T00:00:00Z'));
    const other = new pg.Pool({ connectionString: summarised.biomeroUrl, max: 2 });
    try {
      await workflowStatistics(other, erin(), { range: YEAR, groupBy: [] });
      for (let i = 0; i < 100 && (await state()).foldedUpTo < (await state()).newest; i++) await new Promise((r) => setTimeout(r, 100));
      const after = await state();
      expect(after.foldedUpTo).toBe(after.newest);
      expect(after.rows).toBe(after.runs);
    } finally {
      await runSummaryOf(other).stop();
      await other.end();
    }
  });

  it('by period, the range’s halves run at once on two connections of one snapshot; with no second connection free, one after the other: the same answer', async () => {
    const args: WorkflowStatisticsArgs = { range: YEAR, groupBy: ['PERIOD', 'WORKFLOW', 'STATUS'], period: 'WEEK' };
    const [two, one] = [new pg.Pool({ connectionString: summarised.biomeroUrl, max: 4 }), new pg.Pool({ connectionString: summarised.biomeroUrl, max: 1 })];
    try {
      const byHalves = await workflowStatistics(two, erin(), args);
      expect(two.totalCount).toBeGreaterThanOrEqual(2); // the second half's own connection
      const queued = await workflowStatistics(one, erin(), args);
      expect(one.totalCount).toBe(1);
      const whole = await workflowStatistics(plain, erin(), args); // the event store: one statement, zero buckets in SQL
      expect(rounded(byHalves)).toEqual(rounded(whole));
      expect(rounded(queued)).toEqual(rounded(whole));
    } finally {
      for (const p of [two, one]) {
        await runSummaryOf(p).stop();
        await p.end();
      }
    }
  });

  it('a caller sees only the runs of the groups they may read', async () => {
    const all = await workflowStatistics(pool, erin(), { range: YEAR, groupBy: ['USER', 'GROUP'] });
    const some = await workflowStatistics(pool, dave(), { range: YEAR, groupBy: ['USER', 'GROUP'] });
    // alice's runs in private group 3: erin (admin) counts them, dave (a member) only his own
    expect(all.find((b) => b.userId === 2 && b.groupId === 3)?.runs).toBeGreaterThan(0);
    expect(some.find((b) => b.userId === 2 && b.groupId === 3)).toBeUndefined();
    expect(some.find((b) => b.userId === 5 && b.groupId === 3)?.runs).toBeGreaterThan(0);
    await expectSameAnswers(dave());
  });

  it('tables dropped while running: answers from the event store, the same', async () => {
    await new RunSummary(pool).catchUp();
    await pool.query(
      'DROP TABLE omero_graph_workflow_run_summary, omero_graph_workflow_run_task, omero_graph_workflow_run_summary_state, omero_graph_workflow_run_day',
    );
    await expectSameAnswers();
  });
});
