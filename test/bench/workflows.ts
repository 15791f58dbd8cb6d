/**
 * npm run bench:workflows — the workflow runs subgraph alone, on a seeded demo world plus
 * generated runs, measured in one run:
 *
 *   fold        folding a run of 200 events in memory (foldRun), and `workflowRun(id)` over HTTP
 *   page        `workflowRuns(first: 100)` with tasks: time and SQL statements per page, with and
 *               without a status filter
 *   latency     commit → client: an event INSERTed by plain SQL (autocommit, pg_notify trigger
 *               installed) until it arrives at a graphql-ws client, for workflowRunEvents and
 *               workflowRunUpdated
 *
 * Environment: BENCH_DATABASE_URL (a PostgreSQL server; default: an embedded one),
 * BENCH_ROUNDS (requests per measurement, default 50), BENCH_EVENTS (latency samples, default 200).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { seedDemoWorld } from '../../database/demo/index';
import { appendEvents, encodeState, newRunEvents, type NewEvent } from '../../database/demo/workflows';
import { startEmbeddedPostgres } from '../../database/embedded';
import { projectRoot } from '../../database/paths';
import { prepareDatabases } from '../../database/setup';
import { intFromEnv } from '../../subgraphs/common/config';
import { createPool } from '../../subgraphs/common/db';
import { startSubgraph } from '../../subgraphs/common/server';
import { foldRun } from '../../subgraphs/workflows/fold';
import { workflowsSubgraph } from '../../subgraphs/workflows/index';
import { gql, SECRET, wsClient } from '../subgraphs/workflows/support';

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

/** A run with one task and `n` events in all: statuses and progress, as a long Slurm job writes them. */
function longRun(n: number): { id: string; events: NewEvent[] } {
  const run = { id: randomUUID(), taskId: randomUUID(), user: 2, group: 3 };
  const events = newRunEvents(run);
  events.push({ originatorId: run.taskId, version: 1, type: 'Task.JobIdAdded', fields: { job_id: 90000 } });
  for (let v = 2; events.length < n; v++) {
    events.push(
      v % 10 === 2
        ? { originatorId: run.taskId, version: v, type: 'Task.StatusUpdated', fields: { status: 'RUNNING' } }
        : { originatorId: run.taskId, version: v, type: 'Task.ProgressUpdated', fields: { progress: `${v % 100}%` } },
    );
  }
  return { id: run.id, events };
}

async function main(): Promise<void> {
  process.env.LIVE_POLL_MS ??= '600000'; // woken by the trigger only: polls would add statements
  const rounds = intFromEnv(process.env, 'BENCH_ROUNDS', 50);
  const samples = intFromEnv(process.env, 'BENCH_EVENTS', 200);
  let serverUrl = process.env.BENCH_DATABASE_URL;
  mkdirSync(join(projectRoot(), '.data'), { recursive: true });
  const dataDirs: string[] = [];
  let embedded: { stop(): Promise<void> } | null = null;
  if (!serverUrl) {
    // a random port, tried again elsewhere if another process holds it
    for (let attempt = 1; !embedded; attempt++) {
      const dataDir = mkdtempSync(join(projectRoot(), '.data', 'bench-workflows-'));
      dataDirs.push(dataDir);
      try {
        const server = await startEmbeddedPostgres({ dataDir, port: 54900 + Math.floor(Math.random() * 90), durable: false });
        serverUrl = server.url;
        embedded = server;
      } catch (err) {
        if (attempt >= 3) {
          for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
          throw err;
        }
      }
    }
  }
  const server = serverUrl!;
  const names = { omero: `og_benchwf_omero_${process.pid}`, biomero: `og_benchwf_biomero_${process.pid}` };
  const urls = await prepareDatabases(server, names);
  const [o, b] = [new pg.Client(urls.omeroUrl), new pg.Client(urls.biomeroUrl)];
  await Promise.all([o.connect(), b.connect()]);
  await seedDemoWorld(o, b);
  await Promise.all([o.end(), b.end()]);

  const writer = new pg.Pool({ connectionString: urls.biomeroUrl, max: 4 });
  // 150 generated runs of 4 tasks (≈ 40 events each) for the page, and one run of 200 events
  for (let r = 0; r < 150; r++) {
    const run = { id: randomUUID(), taskId: randomUUID(), user: 2, group: 3 };
    const events = newRunEvents(run);
    let runVersion = 2;
    for (let t = 0; t < 4; t++) {
      const taskId = t === 0 ? run.taskId : randomUUID();
      if (t > 0) {
        events.push(...newRunEvents({ ...run, taskId }).slice(1, 2));
        events.push({
          originatorId: run.id,
          version: runVersion++,
          type: 'WorkflowRun.TaskAdded',
          fields: { task_id: { _type_: 'uuid_hex', _data_: taskId.replace(/-/g, '') } },
        });
      }
      for (let v = 1; v <= 9; v++)
        events.push({
          originatorId: taskId,
          version: v,
          type: v === 1 ? 'Task.JobIdAdded' : 'Task.StatusUpdated',
          fields: v === 1 ? { job_id: 50000 + r * 4 + t } : { status: v < 9 ? 'RUNNING' : 'COMPLETED' },
        });
    }
    if (r % 3 === 0) events.push({ originatorId: run.id, version: runVersion++, type: 'WorkflowRun.WorkflowCompleted' });
    await appendEvents(writer, events);
  }
  const long = longRun(200);
  await appendEvents(writer, long.events);

  // The subgraph on a pool that counts statements.
  const pool = createPool(urls.biomeroUrl, { name: 'bench-workflows' });
  let statements = 0;
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    statements++;
    return query(...args);
  };
  const service = await startSubgraph(workflowsSubgraph({ pool }), { port: 0, secret: SECRET });
  const lines: string[] = [];
  try {
    // fold of 200 events, in memory
    const { rows } = await writer.query(
      `SELECT id::int, originator_id::text, originator_version::int, topic, convert_from(state, 'UTF8')::jsonb AS state
      FROM workflowtracker_events WHERE originator_id = ANY($1::uuid[]) ORDER BY id`,
      [[...new Set(long.events.map((e) => e.originatorId))]],
    );
    const foldTimes: number[] = [];
    for (let i = 0; i < 500; i++) {
      const t = performance.now();
      foldRun(long.id, rows);
      foldTimes.push(performance.now() - t);
    }
    lines.push(`fold of a run with ${rows.length} events (in memory)        p50 ${fmt(percentile(foldTimes, 50))}  p99 ${fmt(percentile(foldTimes, 99))}`);

    const timed = async (label: string, q: string, variables: Record<string, unknown> = {}) => {
      const times: number[] = [];
      const counts: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const before = statements;
        const t = performance.now();
        const res = await gql(service.url, q, 'alice', variables);
        times.push(performance.now() - t);
        counts.push(statements - before);
        if (res.errors) throw new Error(JSON.stringify(res.errors));
      }
      lines.push(
        `${label.padEnd(52)} p50 ${fmt(percentile(times, 50))}  p99 ${fmt(percentile(times, 99))}  statements ${Math.min(...counts)}-${Math.max(...counts)}`,
      );
    };
    await timed(
      `workflowRun(id) of the ${rows.length}-event run, all fields`,
      `query($id: ID!) { workflowRun(id: $id) { id status progress tasks { name status statusHistory { status } slurmJobs { jobId state } } events(first: 200) { nodes { cursor type } } } }`,
      { id: long.id },
    );
    const PAGE = `query($f: WorkflowRunFilter) { workflowRuns(first: 100, filter: $f) { totalCount nodes { id status progress createdAt tasks { name status slurmJobs { jobId state } } } } }`;
    await timed('page of 100 runs with tasks and jobs', PAGE);
    await timed('page of 100 runs, filter statuses: [DONE]', PAGE, { f: { statuses: ['DONE'] } });
    await timed('page of 100 runs, filter statuses: [JOB_COMPLETED]', PAGE, { f: { statuses: ['JOB_COMPLETED'] } });

    // commit → client
    const taskId = long.events[1].originatorId;
    let version = long.events.filter((e) => e.originatorId === taskId).length;
    for (const [label, sub] of [
      ['workflowRunEvents', `subscription($r: ID) { workflowRunEvents(runId: $r) { cursor type } }`],
      ['workflowRunUpdated', `subscription { workflowRunUpdated(filter: { groupId: "3" }) { cursor run { id status progress } } }`],
    ] as const) {
      const client = wsClient(service.url, 'alice');
      const arrived: number[] = [];
      let waiting: (() => void) | null = null;
      const dispose = client.subscribe(
        { query: sub, variables: { r: long.id } },
        {
          next: () => {
            arrived.push(performance.now());
            waiting?.();
          },
          error: (e) => console.error(e),
          complete: () => undefined,
        },
      );
      await new Promise((r) => setTimeout(r, 500));
      const latencies: number[] = [];
      for (let i = 0; i < samples; i++) {
        const got = new Promise<void>((resolve) => (waiting = resolve));
        const t = performance.now();
        await writer.query(
          `INSERT INTO workflowtracker_events (originator_id, originator_version, topic, state) VALUES ($1, $2, 'biomero.eventsourcing:Task.ProgressUpdated', $3)`,
          [taskId, version++, encodeState({ progress: `${i % 100}%` }, new Date())],
        );
        await got;
        latencies.push(arrived[arrived.length - 1] - t);
        await new Promise((r) => setTimeout(r, 5));
      }
      dispose();
      await client.dispose();
      lines.push(`commit → client, ${label.padEnd(20)} (${samples} events) p50 ${fmt(percentile(latencies, 50))}  p99 ${fmt(percentile(latencies, 99))}`);
    }
  } finally {
    await service.stop();
    await pool.end();
    await writer.end();
    const admin = new pg.Client(server);
    await admin.connect();
    for (const db of Object.values(names)) await admin.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    await admin.end();
    await embedded?.stop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
  console.log(['workflows subgraph benchmark (direct, no gateway; one process, same machine)', ...lines].join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
