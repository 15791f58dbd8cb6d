/**
 * npm run bench:statistics — workflowStatistics over a year of generated runs (statistics-world.ts,
 * set-based like scale.ts: 100,000 runs, ≈ 440,000 tasks, ≈ 2.2 M events by default), measured
 * side by side in one run:
 *
 *   first build  the run summary (source/run-summary.ts) folded from nothing, as a new deployment
 *                or a fold version change does it
 *   subgraph     a year of daily buckets by workflow × status, at the workflows subgraph over HTTP
 *                (signed identity, as the gateway calls it): p50, p90, p99, summary caught up,
 *                with every day changed before each request (every period computed), one day
 *                changed (that period computed, the others remembered: statistics-cache.ts) and
 *                nothing changed; then the same as columns (workflowStatisticsTable) and in-process
 *   new runs     the first request after BENCH_NEW_RUNS runs were committed (folded in the request)
 *   event store  the same answer without the summary (the path without our migration), in-process
 *   gateway      the same answer computed by a client paging every run through the gateway
 *                (workflowRuns, 100 a page, with the fields the buckets need), timed over
 *                BENCH_PAGES pages and extrapolated to all runs (BENCH_PAGES=0: every page)
 *
 * Environment (or `--runs=N` style flags, which win): BENCH_DATABASE_URL (default: an embedded
 * server), BENCH_RUNS (--runs, default 100000: a smaller world runs in minutes), BENCH_ROUNDS
 * (--rounds, statistics requests, default 20), BENCH_PAGES (--pages, default 20),
 * BENCH_EVENT_STORE_ROUNDS (--event-store-rounds, default 1; 0 skips the slow baseline),
 * BENCH_NEW_RUNS (--new-runs, default 100), BENCH_PROFILE_TOP (--profile-top, default 0: where a
 * request's CPU time goes, by stage and the N busiest functions, with nothing changed).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { DEMO_USERS, seedDemoWorld } from '../../database/demo/index';
import { startEmbeddedPostgres } from '../../database/embedded';
import { projectRoot } from '../../database/paths';
import { prepareDatabases } from '../../database/setup';
import { intFromEnv } from '../../subgraphs/common/config';
import { startStack } from '../../gateway/stack';
import { groupScope } from '../../subgraphs/common/access';
import { RunSummary } from '../../subgraphs/workflows/source/run-summary';
import { workflowStatistics, workflowStatisticsFromEvents } from '../../subgraphs/workflows/source/statistics';
import { gql as viaGateway } from '../support/stack';
import { gql as direct, identityOf, SECRET } from '../subgraphs/workflows/support';
import { formatProfile, startProfile } from './profile';
import { generatedTasks, generateStatisticsRuns } from './statistics-world';

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(1)} ms`);
const YEAR = { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' };
const STATS = `query($r: TimeRange!) { workflowStatistics(range: $r, groupBy: [PERIOD, WORKFLOW, STATUS], period: DAY) {
  periodStart workflow status runs succeeded failed successRate failureRate slurmJobs
  queueWait { mean p50 p90 p99 } runTime { mean p50 p90 p99 } total { mean p50 p90 p99 } } }`;
/** the same buckets as columns (workflowStatisticsTable), every field of STATS */
const TABLE = `query($r: TimeRange!) { workflowStatisticsTable(range: $r, groupBy: [PERIOD, WORKFLOW, STATUS], period: DAY) {
  length periodStart workflow status runs succeeded failed successRate failureRate slurmJobs
  queueWait { mean p50 p90 p99 } runTime { mean p50 p90 p99 } total { mean p50 p90 p99 } } }`;
/** what a client needs of each run to compute the same buckets itself */
const PAGE = `query($a: String) { workflowRuns(first: 100, after: $a) { pageInfo { hasNextPage endCursor }
  nodes { id status createdAt finishedAt tasks { name version slurmJobs { submittedAt startedAt endedAt } } } } }`;

/** `--runs=N` → BENCH_RUNS=N, and so on: flags win over the environment. */
function settings(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const arg of process.argv.slice(2)) {
    const m = /^--([a-z-]+)=(\d+)$/.exec(arg);
    if (!m) throw new Error(`unknown argument ${arg} (flags: --runs=N --rounds=N --pages=N --event-store-rounds=N --new-runs=N --profile-top=N)`);
    env[`BENCH_${m[1].toUpperCase().replace(/-/g, '_')}`] = m[2];
  }
  return env;
}

async function main(): Promise<void> {
  process.env.LIVE_POLL_MS ??= '600000';
  const env = settings();
  const runs = intFromEnv(env, 'BENCH_RUNS', 100_000);
  const rounds = intFromEnv(env, 'BENCH_ROUNDS', 20);
  const pages = intFromEnv(env, 'BENCH_PAGES', 20);
  const eventStoreRounds = intFromEnv(env, 'BENCH_EVENT_STORE_ROUNDS', 1);
  const newRuns = intFromEnv(env, 'BENCH_NEW_RUNS', 100);
  const profileTop = intFromEnv(env, 'BENCH_PROFILE_TOP', 0);
  let serverUrl = env.BENCH_DATABASE_URL;
  mkdirSync(join(projectRoot(), '.data'), { recursive: true });
  let embedded: { stop(): Promise<void> } | null = null;
  let dataDir: string | null = null;
  if (!serverUrl) {
    dataDir = mkdtempSync(join(projectRoot(), '.data', 'bench-statistics-'));
    const server = await startEmbeddedPostgres({ dataDir, port: 54800 + Math.floor(Math.random() * 90), durable: false });
    serverUrl = server.url;
    embedded = server;
  }
  const server = serverUrl!;
  const names = { omero: `og_benchstats_omero_${process.pid}`, biomero: `og_benchstats_biomero_${process.pid}` };
  const urls = await prepareDatabases(server, names);
  const lines: string[] = [];
  let stack: Awaited<ReturnType<typeof startStack>> | null = null;
  try {
    const [o, b] = [new pg.Client(urls.omeroUrl), new pg.Client(urls.biomeroUrl)];
    await Promise.all([o.connect(), b.connect()]);
    await seedDemoWorld(o, b);
    let t = Date.now();
    await generateStatisticsRuns(b, {
      runs,
      from: new Date(YEAR.from),
      spacingSeconds: (365 * 86_400) / runs,
      tag: 'bench',
      owners: [
        { user: 2, group: 3 },
        { user: 3, group: 5 },
        { user: 3, group: 4 },
        { user: 4, group: 3 },
      ],
    });
    await b.query('ANALYZE workflowtracker_events');
    const { rows } = await b.query<{ n: number }>('SELECT count(*)::int AS n FROM workflowtracker_events');
    lines.push(`world: ${runs} runs, ${generatedTasks(runs)} tasks, ${rows[0].n} events, generated in ${((Date.now() - t) / 1000).toFixed(0)} s`);

    // the first build of the run summary, as a new deployment does it
    const pool = new pg.Pool({ connectionString: urls.biomeroUrl, max: 4 });
    try {
      t = performance.now();
      const built = await new RunSummary(pool).catchUp();
      const ms = performance.now() - t;
      lines.push(`run summary, first build: ${built.folded} runs (${rows[0].n} events) folded in ${fmt(ms)} = ${Math.round(rows[0].n / (ms / 1000))} events/s`);
    } finally {
      await pool.end();
    }
    await b.query('ANALYZE omero_graph_workflow_run_summary');
    await Promise.all([o.end(), b.end()]);

    stack = await startStack({
      omeroDatabaseUrl: urls.omeroUrl,
      biomeroDatabaseUrl: urls.biomeroUrl,
      secret: SECRET,
      host: '127.0.0.1',
      ports: { gateway: 0, omero: 0, imports: 0, workflows: 0, forms: 0, provenance: 0 },
      sessionCacheMs: 60_000,
    });

    // the subgraph, as the gateway calls it (signed identity), admin erin: every run counts; in
    // three states of the remembered periods (source/statistics-cache.ts): every day changed
    // since the last request (each period computed: the statement's full cost), one day changed
    // (a dashboard refreshed while today's runs change: that day computed) and nothing changed
    const days = new pg.Pool({ connectionString: urls.biomeroUrl, max: 1 });
    const changed = {
      everyDay: () => days.query('UPDATE omero_graph_workflow_run_day SET version = version + 1'),
      oneDay: () => days.query(`UPDATE omero_graph_workflow_run_day SET version = version + 1 WHERE day = '2026-12-31T00:00:00Z'`),
      nothing: async () => undefined,
    };
    const measured = async (ask: () => Promise<unknown>, before: () => Promise<unknown>, n = rounds) => {
      const times: number[] = [];
      for (let i = 0; i < n; i++) {
        await before();
        t = performance.now();
        await ask();
        times.push(performance.now() - t);
      }
      return times;
    };
    const summary = (label: string, states: [string, number[]][], target: number[]) => {
      const p50 = percentile(target, 50);
      lines.push(
        `${label}: ${states.map(([state, times]) => `${state} p50 ${fmt(percentile(times, 50))} p90 ${fmt(percentile(times, 90))} p99 ${fmt(percentile(times, 99))}`).join(';  ')}  (${rounds} requests each; target p50 ≤ 100 ms, one day changed: ${p50 <= 100 ? 'met' : 'NOT met'})`,
      );
    };
    let buckets = 0;
    const objects = async () => {
      const res = await direct(stack!.subgraphs.workflows.url, STATS, 'erin', { r: YEAR });
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      buckets = res.data.workflowStatistics.length;
    };
    const columns = async () => {
      const res = await direct(stack!.subgraphs.workflows.url, TABLE, 'erin', { r: YEAR });
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      if (res.data.workflowStatisticsTable.length !== buckets) throw new Error('the table has another number of buckets');
    };
    const statePool = new pg.Pool({ connectionString: urls.biomeroUrl, max: 2 });
    const inProcess = () =>
      workflowStatistics(statePool, groupScope(identityOf('erin')), {
        range: { from: new Date(YEAR.from), to: new Date(YEAR.to) },
        groupBy: ['PERIOD', 'WORKFLOW', 'STATUS'],
        period: 'DAY',
      });
    let p50 = 0;
    const profiles: string[] = [];
    try {
      for (const [label, ask] of [
        ['workflowStatistics, a year by day × workflow × status, at the subgraph', objects],
        ['workflowStatisticsTable, the same buckets as columns, at the subgraph', columns],
        ['the same in-process (statement + buckets, no HTTP/GraphQL)', inProcess],
      ] as const) {
        const everyDay = await measured(ask, changed.everyDay);
        const oneDay = await measured(ask, changed.oneDay);
        const nothing = await measured(ask, changed.nothing);
        if (profileTop > 0) {
          // where a request's time goes when nothing changed (BENCH_PROFILE_TOP=N)
          const stop = await startProfile();
          await measured(ask, changed.nothing);
          profiles.push(`  ${label}, nothing changed, per request:`, ...formatProfile(await stop(), rounds, profileTop));
        }
        summary(
          label === 'workflowStatistics, a year by day × workflow × status, at the subgraph' ? `${label} (${buckets} buckets)` : label,
          [
            ['every day changed', everyDay],
            ['one day changed', oneDay],
            ['nothing changed', nothing],
          ],
          oneDay,
        );
        if (ask === objects) p50 = percentile(everyDay, 50); // the ratios below: against the full statement
      }
    } finally {
      await statePool.end();
      await days.end();
    }
    lines.push(...profiles);

    // runs committed since: the next request folds them itself (and starts a catch-up)
    if (newRuns > 0) {
      const writer = new pg.Client(urls.biomeroUrl);
      await writer.connect();
      try {
        await generateStatisticsRuns(writer, {
          runs: newRuns,
          from: new Date('2026-12-01T00:00:00Z'),
          spacingSeconds: 600,
          owners: [{ user: 2, group: 3 }],
          tag: 'bench-new',
        });
      } finally {
        await writer.end();
      }
      t = performance.now();
      const res = await direct(stack.subgraphs.workflows.url, STATS, 'erin', { r: YEAR });
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      const first = performance.now() - t;
      t = performance.now();
      await direct(stack.subgraphs.workflows.url, STATS, 'erin', { r: YEAR });
      lines.push(
        `after ${newRuns} new runs were committed: the next request ${fmt(first)} (folds them, their days computed), the one after ${fmt(performance.now() - t)}`,
      );
    }

    // the same answer without the summary: the event store path (no migration), in-process
    const storeTimes: number[] = [];
    if (eventStoreRounds > 0) {
      const pool = new pg.Pool({ connectionString: urls.biomeroUrl, max: 2 });
      try {
        for (let i = 0; i < eventStoreRounds; i++) {
          t = performance.now();
          await workflowStatisticsFromEvents(pool, groupScope(identityOf('erin')), {
            range: { from: new Date(YEAR.from), to: new Date(YEAR.to) },
            groupBy: ['PERIOD', 'WORKFLOW', 'STATUS'],
            period: 'DAY',
          });
          storeTimes.push(performance.now() - t);
        }
      } finally {
        await pool.end();
      }
      lines.push(
        `the same from the event store (without the summary, as before): p50 ${fmt(percentile(storeTimes, 50))}  (${eventStoreRounds} requests, in-process)`,
      );
    }

    // the same answer by paging every run through the gateway
    const session = DEMO_USERS.erin.sessionUuid;
    let after: string | null = null;
    let fetched = 0;
    let pagesRead = 0;
    t = performance.now();
    for (;;) {
      const res: any = await viaGateway(stack.gateway.url, PAGE, { session, variables: { a: after } });
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      fetched += res.data.workflowRuns.nodes.length;
      pagesRead++;
      if (!res.data.workflowRuns.pageInfo.hasNextPage || (pages > 0 && pagesRead >= pages)) break;
      after = res.data.workflowRuns.pageInfo.endCursor;
    }
    const paged = performance.now() - t;
    const visible =
      fetched < runs
        ? (await direct(stack.subgraphs.workflows.url, '{ workflowRuns(first: 1) { totalCount } }', 'erin')).data.workflowRuns.totalCount
        : fetched;
    const all = paged * (visible / fetched);
    lines.push(
      `paging every run through the gateway (100 a page: the gateway's cost limit): ${fetched} runs in ${fmt(paged)}${fetched < visible ? `, ${visible} runs extrapolated: ${fmt(all)}` : ''}`,
    );
    lines.push(
      `ratio paging / workflowStatistics p50 (every day changed): ${(all / p50).toFixed(0)} ×${storeTimes.length ? `;  event store / summary p50: ${(percentile(storeTimes, 50) / p50).toFixed(0)} ×` : ''}`,
    );
  } finally {
    await stack?.stop();
    const admin = new pg.Client(server);
    await admin.connect();
    for (const db of Object.values(names)) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
    await embedded?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
  console.log(['workflow statistics benchmark (one process, same machine)', ...lines].join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
