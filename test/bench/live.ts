/**
 * npm run bench:live — live status through the gateway:
 *   - commit → client latency (p50, p99, max) of import stage rows inserted by plain SQL, with
 *     BENCH_SUBSCRIBERS (default 1000) WebSocket subscribers of importOrderEvents, each its own
 *     connection, all receiving every row;
 *   - server memory per idle subscriber (RSS and V8 heap of the process serving gateway and
 *     subgraphs; the subscribers run in a separate process).
 * BENCH_EVENTS rows (default 100) are inserted BENCH_EVENT_GAP_MS apart (default 20).
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { DEMO, DEMO_USERS } from '../../database/demo/index';
import { intFromEnv } from '../../subgraphs/common/config';
import { SessionResolver } from '../../gateway/sessions';
import { signIdentity } from '../../subgraphs/common/identity';
import { BENCH_SECRET, startBenchWorld } from './setup';

const now = () => performance.timeOrigin + performance.now();
const gc = () => (global as { gc?: () => void }).gc?.();

function memory() {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const subscribers = intFromEnv(process.env, 'BENCH_SUBSCRIBERS', 1000);
  const events = intFromEnv(process.env, 'BENCH_EVENTS', 100);
  const gap = intFromEnv(process.env, 'BENCH_EVENT_GAP_MS', 20);
  const world = await startBenchWorld();
  const child = fork(join(__dirname, 'live-client.js'), { stdio: 'inherit' });
  const ask = <T>(msg: object) => new Promise<T>((resolve) => {
    child.once('message', (m) => resolve(m as T));
    child.send(msg);
  });

  await new Promise((r) => setTimeout(r, 1000));
  const before = memory();
  const opened = now();
  // BENCH_DIRECT=1: subscribe to the imports subgraph itself, to see what the gateway adds
  const direct = process.env.BENCH_DIRECT === '1';
  const identity = direct ? signIdentity((await new SessionResolver(world.omeroPool, { secret: BENCH_SECRET, cacheMs: 0, tokenTtlSeconds: 3600 }).resolve(DEMO_USERS.erin.sessionUuid))!, BENCH_SECRET, 3600) : undefined;
  const url = direct ? world.stack.subgraphs.imports.url : world.stack.gateway.url;
  await ask({ open: { url, session: DEMO_USERS.erin.sessionUuid, count: subscribers, identity } });
  const openMs = now() - opened;
  await new Promise((r) => setTimeout(r, 2000)); // subscriptions reach the subgraph and settle
  const idle = memory();

  const writer = new pg.Client(world.biomeroUrl);
  await writer.connect();
  const committed = new Map<string, number>();
  for (let i = 0; i < events; i++) {
    const stage = `Bench ${i}`;
    await writer.query(
      `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
       VALUES ('lab-annotate', 'bob', $1, 'Dataset', $2, $3, now(), '[]', '[]')`,
      [String(DEMO.datasets.bobLive), stage, DEMO.importOrders.pending],
    );
    committed.set(stage, now()); // autocommit: the INSERT has committed when it returns
    await new Promise((r) => setTimeout(r, gap));
  }
  await writer.end();
  await new Promise((r) => setTimeout(r, 2000));
  const { receipts } = await ask<{ receipts: [string, number][] }>({ report: true });
  const latencies = receipts.filter(([stage]) => committed.has(stage)).map(([stage, at]) => at - committed.get(stage)!).sort((a, b) => a - b);

  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  console.log(
    [
      `live status: ${subscribers} graphql-ws subscribers ${direct ? 'directly on the imports subgraph' : 'through the gateway'}, ${events} rows ${gap} ms apart`,
      `delivered ${latencies.length} of ${subscribers * events} (subscriber × row)`,
      `commit → client latency ms: p50 ${percentile(latencies, 50).toFixed(2)}  p99 ${percentile(latencies, 99).toFixed(2)}  max ${latencies[latencies.length - 1].toFixed(2)}`,
      `opening ${subscribers} subscriptions took ${openMs.toFixed(0)} ms`,
      `server memory: RSS ${mb(before.rss)} → ${mb(idle.rss)} MiB, heap ${mb(before.heap)} → ${mb(idle.heap)} MiB`,
      `per idle subscriber: RSS ${((idle.rss - before.rss) / subscribers / 1024).toFixed(1)} KiB, heap ${((idle.heap - before.heap) / subscribers / 1024).toFixed(1)} KiB`,
    ].join('\n'),
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send({ close: true });
  await exited;
  await world.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
