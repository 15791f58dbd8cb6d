/**
 * npm run bench:statistics — workflowStatistics over a year of generated runs (statistics-world.ts,
 * set-based like scale.ts: 100,000 runs, ≈ 460,000 tasks, ≈ 2.3 M events by default), measured:
 *
 *   subgraph   a year of daily buckets by workflow × status, at the workflows subgraph: p50, p99
 *   gateway    the same answer computed by a client paging every run through the gateway
 *              (workflowRuns, 100 a page, with the fields the buckets need), timed over
 *              BENCH_PAGES pages and extrapolated to all runs (BENCH_PAGES=0: every page)
 *
 * Environment: BENCH_DATABASE_URL (default: an embedded server), BENCH_RUNS (default 100000),
 * BENCH_ROUNDS (statistics requests, default 20), BENCH_PAGES (default 20).
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
import { gql as viaGateway } from '../support/stack';
import { gql as direct, SECRET } from '../subgraphs/workflows/support';
import { generatedTasks, generateStatisticsRuns } from './statistics-world';

const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((p / 100) * values.length))];
const fmt = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(1)} ms`);
const YEAR = { from: '2026-01-01T00:00:00Z', to: '2027-01-01T00:00:00Z' };
const STATS = `query($r: TimeRange!) { workflowStatistics(range: $r, groupBy: [PERIOD, WORKFLOW, STATUS], period: DAY) {
  periodStart workflow status runs succeeded failed successRate failureRate slurmJobs
  queueWait { mean p50 p90 p99 } runTime { mean p50 p90 p99 } total { mean p50 p90 p99 } } }`;
/** what a client needs of each run to compute the same buckets itself */
const PAGE = `query($a: String) { workflowRuns(first: 100, after: $a) { pageInfo { hasNextPage endCursor }
  nodes { id status createdAt finishedAt tasks { name version slurmJobs { submittedAt startedAt endedAt } } } } }`;

async function main(): Promise<void> {
  process.env.LIVE_POLL_MS ??= '600000';
  const runs = intFromEnv(process.env, 'BENCH_RUNS', 100_000);
  const rounds = intFromEnv(process.env, 'BENCH_ROUNDS', 20);
  const pages = intFromEnv(process.env, 'BENCH_PAGES', 20);
  let serverUrl = process.env.BENCH_DATABASE_URL;
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
      runs, from: new Date(YEAR.from), spacingSeconds: (365 * 86_400) / runs, tag: 'bench',
      owners: [{ user: 2, group: 3 }, { user: 3, group: 5 }, { user: 3, group: 4 }, { user: 4, group: 3 }],
    });
    await b.query('ANALYZE workflowtracker_events');
    const { rows } = await b.query<{ n: number }>('SELECT count(*)::int AS n FROM workflowtracker_events');
    lines.push(`world: ${runs} runs, ${generatedTasks(runs)} tasks, ${rows[0].n} events, generated in ${((Date.now() - t) / 1000).toFixed(0)} s`);
    await Promise.all([o.end(), b.end()]);

    stack = await startStack({ omeroDatabaseUrl: urls.omeroUrl, biomeroDatabaseUrl: urls.biomeroUrl, secret: SECRET, host: '127.0.0.1', ports: { gateway: 0, omero: 0, imports: 0, workflows: 0, forms: 0, provenance: 0 }, sessionCacheMs: 60_000 });

    // the subgraph, as the gateway calls it (signed identity), admin erin: every run counts
    const times: number[] = [];
    let buckets = 0;
    for (let i = 0; i < rounds; i++) {
      t = performance.now();
      const res = await direct(stack.subgraphs.workflows.url, STATS, 'erin', { r: YEAR });
      times.push(performance.now() - t);
      if (res.errors) throw new Error(JSON.stringify(res.errors));
      buckets = res.data.workflowStatistics.length;
    }
    const p50 = percentile(times, 50);
    lines.push(`workflowStatistics, a year by day × workflow × status (${buckets} buckets), at the subgraph: p50 ${fmt(p50)}  p99 ${fmt(percentile(times, 99))}  (${rounds} requests)`);

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
    const visible = fetched < runs ? (await direct(stack.subgraphs.workflows.url, '{ workflowRuns(first: 1) { totalCount } }', 'erin')).data.workflowRuns.totalCount : fetched;
    const all = paged * (visible / fetched);
    lines.push(`paging every run through the gateway (100 a page: the gateway's cost limit): ${fetched} runs in ${fmt(paged)}${fetched < visible ? `, ${visible} runs extrapolated: ${fmt(all)}` : ''}`);
    lines.push(`ratio paging / workflowStatistics p50: ${(all / p50).toFixed(0)} ×`);
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
