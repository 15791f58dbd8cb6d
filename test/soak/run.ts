/**
 * The fault campaign (`npm run soak`, `npm run soak -- --ci`; docs/reliability.md, "Soak"):
 * a cluster (gateway/cluster.ts: replicas behind HAProxy) over a PostgreSQL of its own, writers
 * appending import stage rows and workflow events with out-of-order commits, subscribers resuming
 * over graphql-ws and SSE through HAProxy with the TypeScript SDK, a querier, and a schedule that
 * kills and restarts gateway replicas, subgraph replicas and PostgreSQL (SIGKILL and clean stops).
 *
 * Afterwards every subscriber's ids are compared with the table: 0 lost, 0 duplicated, 0 out of
 * order; no query may have outlived its timeout; PostgreSQL connections, replica memory and
 * HAProxy sessions must be back at their baseline. Prints one `soak:` line, writes the timeline
 * (JSON lines) and exits 1 when any of these fails.
 *
 * Flags: --ci (5,000 events, each kind of restart twice), --events N, --replicas N, --rate N
 * (rows per second the writers aim at), --timeline FILE.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, cpSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import pg from 'pg';
import { DEMO_USERS, seedDemoWorld } from '../../database/demo/index';
import { projectRoot } from '../../database/paths';
import { prepareDatabases } from '../../database/setup';
import { freePort, startCluster, type Cluster, type Replica } from '../../gateway/cluster';
import { encodeCursor } from '../../subgraphs/common/cursor';
import { POOL_IDLE_TIMEOUT_MS } from '../../subgraphs/common/db';
import { ErrorTally, Querier, sdkClient, STREAMS, StreamSubscriber, type StreamName } from './clients';
import { SoakPostgres } from './postgres';
import { Writer, type Budget } from './writers';

interface Settings {
  events: number;
  replicas: number;
  rate: number;
  /** times the fault cycle (each kind killed once and stopped once) runs */
  cycles: number;
  timeline: string;
  /** --schedule gateway:SIGKILL,postgres:clean,…: these faults instead of the cycles */
  schedule: Fault[] | null;
}

function settingsFrom(argv: string[]): Settings {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i < 0 ? undefined : argv[i + 1];
  };
  const ci = argv.includes('--ci');
  const events = Number(flag('events') ?? (ci ? 5000 : 100_000));
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return {
    events,
    replicas: Number(flag('replicas') ?? 2),
    rate: Number(flag('rate') ?? (ci ? 110 : 300)),
    cycles: Number(flag('cycles') ?? (ci ? 1 : 3)),
    schedule:
      flag('schedule')
        ?.split(',')
        .map((f) => {
          const [kind, how] = f.split(':');
          if (!['gateway', 'subgraph', 'postgres'].includes(kind) || !['SIGKILL', 'clean'].includes(how))
            throw new Error(`--schedule: "${f}" is not <gateway|subgraph|postgres>:<SIGKILL|clean>`);
          return { kind, how } as Fault;
        }) ?? null,
    timeline: flag('timeline') ?? join(projectRoot(), '.data', 'soak', `timeline-${stamp}.jsonl`),
  };
}

const SUBGRAPH_TIMEOUT_MS = 5000;
/** a query's bound: the gateway's subgraph timeout plus HAProxy's connect retries (3 × 2 s) and slack */
const QUERY_LIMIT_MS = SUBGRAPH_TIMEOUT_MS + 8000;

type FaultKind = 'gateway' | 'subgraph' | 'postgres';
interface Fault {
  kind: FaultKind;
  how: 'SIGKILL' | 'clean';
}

/** each kind once by SIGKILL and once cleanly, interleaved */
const CYCLE: Fault[] = [
  { kind: 'gateway', how: 'SIGKILL' },
  { kind: 'subgraph', how: 'SIGKILL' },
  { kind: 'postgres', how: 'SIGKILL' },
  { kind: 'gateway', how: 'clean' },
  { kind: 'subgraph', how: 'clean' },
  { kind: 'postgres', how: 'clean' },
];

const t0 = Date.now();
let timelineFile = '';
function mark(event: string, detail: Record<string, unknown> = {}): void {
  appendFileSync(timelineFile, JSON.stringify({ t: ((Date.now() - t0) / 1000).toFixed(2), event, ...detail }) + '\n');
}

/** resident memory of the replicas' processes (kB) */
function replicaMemoryKb(cluster: Cluster): number {
  let total = 0;
  for (const r of cluster.replicas) {
    if (r.pid === null) continue;
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${r.pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return total;
}

async function databaseConnections(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name LIKE 'omero-graph/%'`);
  return rows[0].n;
}

/**
 * Current sessions of HAProxy's gateway frontend (the clients' connections), from its admin socket.
 * The subgraph frontends are left out: the gateways' readiness checks keep connections to them open.
 */
function haproxySessions(socket: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = connect(socket, () => s.write('show stat\n'));
    s.on('data', (d) => (out += d.toString()));
    s.on('error', reject);
    s.on('end', () => {
      const lines = out.split('\n').filter((l) => l.startsWith('gateway,FRONTEND,'));
      resolve(lines.reduce((sum, l) => sum + Number(l.split(',')[4] ?? 0), 0));
    });
  });
}

async function until(check: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

async function main(): Promise<void> {
  const settings = settingsFrom(process.argv.slice(2));
  timelineFile = settings.timeline;
  mkdirSync(join(timelineFile, '..'), { recursive: true });
  const dataDir = join(projectRoot(), '.data', 'soak', `run-${process.pid}-${Date.now()}`);
  const postgres = new SoakPostgres(join(dataDir, 'postgres'), await freePort());
  let cluster: Cluster | null = null;
  let pool: pg.Pool | null = null;
  const stopAll = async () => {
    await cluster?.stop().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await postgres.stop().catch(() => undefined);
    // the replicas' and HAProxy's logs stay beside the timeline
    cpSync(join(dataDir, 'cluster', 'logs'), `${timelineFile}.logs`, { recursive: true });
    rmSync(dataDir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));

  try {
    mark('start', { ...settings });
    await postgres.start();
    const urls = await prepareDatabases(postgres.url);
    const [o, b] = [new pg.Client(urls.omeroUrl), new pg.Client(urls.biomeroUrl)];
    await Promise.all([o.connect(), b.connect()]);
    await seedDemoWorld(o, b);
    await Promise.all([o.end(), b.end()]);
    // synchronous_commit on: a commit is in the WAL before anyone can see it, so a crash keeps it
    pool = new pg.Pool({ connectionString: urls.biomeroUrl, max: 12, options: '-c synchronous_commit=on' });
    pool.on('error', () => undefined);
    pool.on('connect', (client) => client.on('error', () => undefined));

    const env: NodeJS.ProcessEnv = {
      ...process.env,
      IDENTITY_SECRET: randomBytes(32).toString('hex'),
      OMERO_DATABASE_URL: urls.omeroUrl,
      BIOMERO_DATABASE_URL: urls.biomeroUrl,
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      RATE_LIMIT_PER_SECOND: '0',
      SUBGRAPH_TIMEOUT_MS: String(SUBGRAPH_TIMEOUT_MS),
      LIVE_POLL_MS: '200',
    };
    const ports = { gateway: 0, omero: 0, imports: 0, workflows: 0, forms: 0, provenance: 0 };
    cluster = await startCluster({ replicas: settings.replicas, env, ports, dataDir: join(dataDir, 'cluster'), checkIntervalMs: 500 });
    const socket = join(dataDir, 'cluster', 'haproxy.sock');
    mark('cluster up', { url: cluster.url, replicas: cluster.replicas.map((r) => `${r.service}-${r.index}`) });
    const idleSessions = await haproxySessions(socket);

    const db = pool;
    const maxId = async (table: string) => Number((await db.query(`SELECT coalesce(max(id), 0)::bigint AS id FROM ${table}`)).rows[0].id);
    const start: Record<StreamName, number> = { imports: await maxId('imports'), workflows: await maxId('workflowtracker_events') };
    const errors = new ErrorTally();
    let lastEventAt = Date.now();
    const clients = ['ws', 'ws', 'sse', 'sse'].map(() => sdkClient(cluster!.url, DEMO_USERS.erin.sessionUuid));
    const subscribers: StreamSubscriber[] = [];
    clients.forEach((client, i) => {
      const transport = i < 2 ? 'ws' : 'sse';
      for (const stream of ['imports', 'workflows'] as const) {
        const cursor = encodeCursor(STREAMS[stream].kind, start[stream]);
        subscribers.push(new StreamSubscriber(`${transport}-${i + 1}/${stream}`, client, stream, transport, cursor, errors, () => (lastEventAt = Date.now())));
      }
    });
    const queriers = [new Querier(sdkClient(cluster.url, DEMO_USERS.erin.sessionUuid), QUERY_LIMIT_MS, errors)];

    // warm-up: one row on each stream reaches every subscriber before the writers and the faults start
    const probe = new Writer(db, 'imports', { remaining: 1 }, 1000, 1_000_000, 0);
    const probeRun = new Writer(db, 'workflows', { remaining: 1 }, 1000, 1_000_000, 0);
    await Promise.all([probe.finished(), probeRun.finished()]);
    if (!(await until(() => subscribers.every((s) => s.ids.length > 0), 120_000))) throw new Error('subscribers received nothing within 120 s');
    const baseline = { connections: await databaseConnections(db), memoryKb: replicaMemoryKb(cluster) };
    const budget: Budget = { remaining: settings.events - 4 };
    // half the writers per stream, about 50 rows/s each (at least 2 per stream); each holds every
    // 5th to 13th transaction open 0.15-1.2 s
    const perStream = Math.max(2, Math.round(settings.rate / 100));
    const holds = [
      [7, 400],
      [11, 800],
      [5, 600],
      [13, 300],
    ];
    const writers = (['imports', 'workflows'] as const).flatMap((kind, k) =>
      Array.from(
        { length: perStream },
        (_, i) => new Writer(db, kind, budget, settings.rate / (2 * perStream), holds[(2 * k + i) % 4][0], holds[(2 * k + i) % 4][1]),
      ),
    );
    const written = () => settings.events - Math.max(0, budget.remaining);
    mark('baseline', { ...baseline, haproxySessionsIdle: idleSessions });

    // the schedule: fault k when k/(faults+1) of the events are written
    const faults = settings.schedule ?? Array.from({ length: settings.cycles }, () => CYCLE).flat();
    let restarts = 0;
    let turn = 0;
    const recoveries: number[] = [];
    const pick = (service: 'gateway' | 'subgraph'): Replica => {
      const candidates = cluster!.replicas.filter((r) =>
        service === 'gateway' ? r.service === 'gateway' : r.service === 'imports' || r.service === 'workflows',
      );
      return candidates[turn++ % candidates.length];
    };
    for (let k = 0; k < faults.length; k++) {
      const threshold = (settings.events * (k + 1)) / (faults.length + 1);
      while (written() < threshold && budget.remaining > 0) await new Promise((r) => setTimeout(r, 100));
      const fault = faults[k];
      const before = new Map(subscribers.map((s) => [s, s.last]));
      const at = Date.now();
      if (fault.kind === 'postgres') {
        mark('fault', { target: 'postgres', how: fault.how, written: written() });
        await (fault.how === 'SIGKILL' ? postgres.crash() : postgres.stop());
        await new Promise((r) => setTimeout(r, 1000));
        await postgres.start();
      } else {
        const replica = pick(fault.kind);
        mark('fault', { target: `${replica.service}-${replica.index}`, how: fault.how, written: written() });
        await replica.kill(fault.how === 'SIGKILL' ? 'SIGKILL' : 'SIGTERM');
        mark('stopped', { after: ((Date.now() - at) / 1000).toFixed(2) });
        await new Promise((r) => setTimeout(r, 1000));
        await replica.start();
      }
      restarts++;
      mark('restarted', { after: ((Date.now() - at) / 1000).toFixed(2) });
      // recovery: every subscriber has received an event newer than it had at the fault (writers keep writing meanwhile)
      const back = at;
      const recovered = await until(() => budget.remaining <= 0 || subscribers.every((s) => s.last > before.get(s)!), 30_000);
      const ms = Date.now() - back;
      if (recovered) recoveries.push(ms);
      mark(recovered ? 'recovered' : 'not recovered within 30 s', {
        msSinceFault: ms,
        stuck: subscribers.filter((s) => s.last <= before.get(s)!).map((s) => s.name),
      });
    }
    await Promise.all(writers.map((w) => w.finished()));
    mark('writers done', { writerErrors: writers.reduce((a, w) => a + w.errors, 0) });

    // verification against the table
    const expected: Record<StreamName, number[]> = { imports: [], workflows: [] };
    for (const stream of ['imports', 'workflows'] as const) {
      const { rows } = await db.query<{ id: number }>(`SELECT id::int AS id FROM ${STREAMS[stream].table} WHERE id > $1 ORDER BY id`, [start[stream]]);
      expected[stream] = rows.map((r) => r.id);
    }
    const caughtUp = await until(() => subscribers.every((s) => s.last >= (expected[s.stream].at(-1) ?? 0)), 60_000);
    mark(caughtUp ? 'caught up' : 'not caught up within 60 s', { lastEventAgoMs: Date.now() - lastEventAt });
    let lost = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    const perSubscriber: Record<string, unknown>[] = [];
    for (const s of subscribers) {
      const seen = new Set(s.ids);
      const want = new Set(expected[s.stream]);
      const l = expected[s.stream].filter((id) => !seen.has(id)).length;
      const d = s.ids.length - seen.size;
      const o = s.ids.filter((id, i) => i > 0 && id <= s.ids[i - 1]).length;
      const extra = [...seen].filter((id) => !want.has(id)).length; // ids the table does not hold
      lost += l + extra;
      duplicated += d;
      outOfOrder += o;
      perSubscriber.push({ subscriber: s.name, received: s.ids.length, lost: l, extra, duplicated: d, outOfOrder: o, resumes: s.resumes });
      // the interruptions around each id that came twice or out of order
      const anomalies = s.notes.flatMap((n, i) => (n.includes(' received ') ? s.notes.slice(Math.max(0, i - 3), i + 1) : []));
      if (anomalies.length)
        mark('anomaly', { subscriber: s.name, notes: anomalies.map((n) => n.replace(/^(\d+)/, (ms) => ((Number(ms) - t0) / 1000).toFixed(2))) });
    }
    mark('verified', { perSubscriber });
    const events = expected.imports.length + expected.workflows.length;

    for (const s of subscribers) await s.stop();
    for (const q of queriers) await q.stop();
    await Promise.all(clients.map((c) => c.dispose()));
    const queries = {
      ok: queriers.reduce((a, q) => a + q.ok, 0),
      failed: queriers.reduce((a, q) => a + q.failed, 0),
      hangs: queriers.reduce((a, q) => a + q.hangs, 0),
      slowestMs: Math.max(...queriers.map((q) => q.slowestMs)),
    };
    mark('queries', queries);

    // back to baseline: connections and sessions once the pools' idle connections have closed (a
    // connection last used as the campaign ended stays open that long: not a leak), plus 15 s;
    // memory within 1.5× the warm baseline
    let end = { connections: 0, memoryKb: 0, haproxySessions: 0 };
    const settleMs = POOL_IDLE_TIMEOUT_MS + 15_000;
    const settled = await until(async () => {
      end = { connections: await databaseConnections(db), memoryKb: replicaMemoryKb(cluster!), haproxySessions: await haproxySessions(socket) };
      return end.connections <= baseline.connections && end.haproxySessions <= idleSessions && end.memoryKb <= baseline.memoryKb * 1.5;
    }, settleMs);
    mark(settled ? 'back to baseline' : `not back to baseline within ${settleMs / 1000} s`, { baseline, idleSessions, end });

    const recovery = recoveries.length
      ? { medianMs: recoveries.sort((a, b) => a - b)[Math.floor(recoveries.length / 2)], maxMs: Math.max(...recoveries) }
      : null;
    mark('summary', {
      events,
      lost,
      duplicated,
      outOfOrder,
      restarts,
      errors: Object.fromEntries(errors.byCode),
      queries,
      recovery,
      seconds: (Date.now() - t0) / 1000,
    });
    console.log(
      `soak: ${events} events, ${lost} lost, ${duplicated} duplicated, ${outOfOrder} out of order, ${restarts} restarts, ${errors.total} errors by code${errors.total ? ` (${errors})` : ''}`,
    );
    console.error(`timeline: ${timelineFile}`);
    const failed = lost + duplicated + outOfOrder + queries.hangs > 0 || !caughtUp || !settled || events < settings.events;
    await stopAll();
    process.exit(failed ? 1 : 0);
  } catch (err) {
    mark('failed', { error: err instanceof Error ? err.stack : String(err) });
    console.error(`soak failed: ${err instanceof Error ? err.message : String(err)} (timeline: ${timelineFile})`);
    await stopAll();
    process.exit(1);
  }
}

void main();
