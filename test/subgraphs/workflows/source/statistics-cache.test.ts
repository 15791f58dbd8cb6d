/**
 * workflowStatistics rows remembered per full period (source/statistics-cache.ts): the bound, and
 * against a database, that a period is reused exactly while its days' versions are unchanged and
 * none of its runs waits above the watermark, and recomputed otherwise.
 */
import pg from 'pg';
import { groupScope } from '../../../../subgraphs/common/access';
import { RunSummary, runSummaryOf } from '../../../../subgraphs/workflows/source/run-summary';
import { workflowStatistics, type WorkflowStatisticsArgs } from '../../../../subgraphs/workflows/source/statistics';
import { StatisticsCache } from '../../../../subgraphs/workflows/source/statistics-cache';
import { generateStatisticsRuns } from '../../../bench/statistics-world';
import { createTestDatabases, type TestDatabases } from '../../../support/databases';
import { identityOf } from '../support';

describe('StatisticsCache', () => {
  it('answers a period only with the stamp it was remembered with', () => {
    const cache = new StatisticsCache<string>(10);
    cache.set('q', 1, 's1', ['a']);
    expect(cache.get('q', 1, 's1')).toEqual(['a']);
    expect(cache.get('q', 1, 's2')).toBeUndefined();
    expect(cache.get('q', 2, 's1')).toBeUndefined();
    expect(cache.get('other', 1, 's1')).toBeUndefined();
    cache.set('q', 1, 's2', ['b', 'c']);
    expect(cache.get('q', 1, 's2')).toEqual(['b', 'c']);
    expect(cache.size).toBe(2);
  });

  it('holds at most its bound of rows, an empty period counted as one: least recently used statements go first', () => {
    const cache = new StatisticsCache<string>(4);
    cache.set('old', 1, 's', ['a', 'b']);
    cache.set('used', 1, 's', []);
    cache.set('used', 2, 's', []);
    expect(cache.size).toBe(4);
    cache.get('old', 1, 's'); // now 'used' is the least recently used
    cache.set('new', 1, 's', ['x']);
    expect(cache.size).toBe(3);
    expect(cache.get('used', 1, 's')).toBeUndefined();
    expect(cache.get('old', 1, 's')).toEqual(['a', 'b']);
    expect(cache.get('new', 1, 's')).toEqual(['x']);
    cache.set('huge', 1, 's', ['1', '2', '3', '4', '5']); // over the bound alone: not kept
    expect(cache.get('huge', 1, 's')).toBeUndefined();
    expect(cache.size).toBe(3);
    for (let p = 2; p <= 6; p++) cache.set('new', p, 's', [String(p)]); // one statement over the bound: its oldest periods go
    expect(cache.size).toBe(4);
    expect(cache.get('new', 6, 's')).toEqual(['6']);
    expect(cache.get('new', 1, 's')).toBeUndefined();
  });
});

describe('workflowStatistics by period, with remembered periods', () => {
  let dbs: TestDatabases;
  let pool: pg.Pool;
  const YEAR = { from: new Date('2026-01-01T00:00:00Z'), to: new Date('2027-01-01T00:00:00Z') };
  const DAY = new Date('2026-03-03T00:00:00Z');
  const BY_DAY: WorkflowStatisticsArgs = { range: YEAR, groupBy: ['PERIOD', 'WORKFLOW'], period: 'DAY' };
  const erin = () => groupScope(identityOf('erin'));
  const workflowsOn = async (day: Date, args = BY_DAY) =>
    (await workflowStatistics(pool, erin(), args))
      .filter((b) => b.periodStart?.getTime() === day.getTime() && b.runs > 0)
      .map((b) => b.workflow)
      .sort();
  /** a summary row of `day` changed behind the catch-up's back: only a recomputed period shows it */
  const tamper = (day: Date) =>
    pool.query(
      `UPDATE omero_graph_workflow_run_summary SET workflow = 'tampered'
        WHERE run_id = (SELECT run_id FROM omero_graph_workflow_run_summary WHERE created >= $1 AND created < $1::timestamptz + interval '1 day' ORDER BY run_id LIMIT 1)`,
      [day],
    );
  const versions = async () =>
    new Map(
      (await pool.query<{ day: Date; version: string }>('SELECT day, version FROM omero_graph_workflow_run_day')).rows.map((r) => [
        r.day.getTime(),
        Number(r.version),
      ]),
    );

  beforeAll(async () => {
    dbs = await createTestDatabases();
    pool = new pg.Pool({ connectionString: dbs.biomeroUrl, max: 4 });
    await runSummaryOf(pool).stop(); // catch-ups only where a test makes them
    await generateStatisticsRuns(pool, {
      runs: 20,
      from: new Date('2026-03-01T00:00:00Z'),
      spacingSeconds: 26 * 3600,
      owners: [{ user: 2, group: 3 }],
      tag: 'cache',
    });
    await new RunSummary(pool).catchUp();
  });
  afterAll(async () => {
    await pool?.end();
    await dbs?.drop();
  });

  it('reuses a day while its version is unchanged and recomputes it once the version is raised', async () => {
    const before = await workflowsOn(DAY);
    expect(before.length).toBeGreaterThan(0);
    await tamper(DAY);
    expect(await workflowsOn(DAY)).toEqual(before); // remembered
    await pool.query('UPDATE omero_graph_workflow_run_day SET version = version + 1 WHERE day = $1', [DAY]);
    expect(await workflowsOn(DAY)).toContain('tampered');
    // another grouping, filter or caller is another statement: computed, never served another's rows
    expect(await workflowsOn(DAY, { ...BY_DAY, filter: { workflow: 'tampered' } })).toEqual(['tampered']);
  });

  it('the catch-up raises the version of exactly the days whose runs it writes; the next answer has the new event', async () => {
    const failedOn = async () =>
      (await workflowStatistics(pool, erin(), BY_DAY)).filter((b) => b.periodStart?.getTime() === DAY.getTime()).reduce((n, b) => n + b.failed, 0);
    const failedBefore = await failedOn(); // every day remembered
    const before = await versions();
    // the still running run of 2026-03-03 fails: its day changes, no other
    await pool.query(
      `INSERT INTO workflowtracker_events (originator_id, originator_version, topic, state)
       SELECT originator_id, 100, 'biomero.eventsourcing:WorkflowRun.WorkflowFailed', convert_to('{"timestamp": {"_type_": "datetime_iso", "_data_": "2026-03-04T00:00:00+00:00"}}', 'UTF8')
         FROM workflowtracker_events WHERE topic = 'biomero.eventsourcing:WorkflowRun.WorkflowInitiated'
          AND convert_from(state, 'UTF8')::jsonb->'timestamp'->>'_data_' LIKE '2026-03-03%'`,
    );
    expect(await failedOn()).toBe(failedBefore + 1); // above the watermark: folded in the request, its day computed
    await new RunSummary(pool).catchUp();
    const after = await versions();
    const raised = [...after].filter(([day, version]) => version !== before.get(day)).map(([day]) => new Date(day));
    expect(raised).toEqual([DAY]);
    expect(await failedOn()).toBe(failedBefore + 1); // from the summary now, the day computed again
  });

  it('never remembers a period the range cuts: a range from mid-day computes its first day every time', async () => {
    const midDay = { ...BY_DAY, range: { from: new Date('2026-03-05T06:00:00Z'), to: YEAR.to } };
    const day = new Date('2026-03-05T00:00:00Z');
    const before = await workflowsOn(day, midDay);
    await tamper(day);
    const after = await workflowsOn(day, midDay);
    expect(after).not.toEqual(before);
    expect(after).toContain('tampered');
  });
});
