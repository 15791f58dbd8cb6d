/**
 * npm run bench:live — live status through the gateway:
 *   - commit → client latency (p50, p99, max) of import stage rows inserted by plain SQL, with
 *     BENCH_SUBSCRIBERS (default 1000) WebSocket subscribers of importOrderEvents, each its own
 *     connection, signed in as BENCH_IDENTITIES (default 200) OMERO users spread over
 *     BENCH_GROUPS (default 5) groups, as a facility's users are (test/bench/facility.ts); the rows
 *     are imported in turn by a member of each group, and every subscriber receives its group's;
 *   - server memory per idle subscriber (RSS and V8 heap of the process serving gateway and
 *     subgraphs; the subscribers run in a separate process).
 * BENCH_EVENTS rows (default 100) are inserted BENCH_EVENT_GAP_MS apart (default 20).
 * The benchmark sets the gateway limits it needs itself (connections per identity, no rate limit),
 * so it runs with the defaults of the environment.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import pg from 'pg';
import { DEMO } from '../../database/demo/index';
import { intFromEnv } from '../../subgraphs/common/config';
import { SessionResolver } from '../../gateway/sessions';
import { signIdentity } from '../../subgraphs/common/identity';
import { addFacilityUsers } from './facility';
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
  const identities = Math.max(1, Math.min(subscribers, intFromEnv(process.env, 'BENCH_IDENTITIES', 200)));
  const groups = Math.max(1, Math.min(identities, intFromEnv(process.env, 'BENCH_GROUPS', 5)));
  const perIdentity = Math.ceil(subscribers / identities);
  const world = await startBenchWorld({ gateway: { wsMaxConnectionsPerIdentity: perIdentity, rateLimitPerSecond: 0 } });
  const seeder = new pg.Client(world.omeroUrl);
  await seeder.connect();
  const users = await addFacilityUsers(seeder, { users: identities, groups });
  await seeder.end();
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
  const resolver = new SessionResolver(world.omeroPool, { secret: BENCH_SECRET, cacheMs: 0, tokenTtlSeconds: 3600 });
  const credentials = direct
    ? await Promise.all(users.map(async (u) => ({ identity: signIdentity((await resolver.resolve(u.sessionUuid))!, BENCH_SECRET, 3600) })))
    : users.map((u) => ({ session: u.sessionUuid }));
  const url = direct ? world.stack.subgraphs.imports.url : world.stack.gateway.url;
  const opening = await ask<{ ready?: true; error?: string }>({ open: { url, credentials, count: subscribers } });
  if (opening.error) throw new Error(opening.error);
  const openMs = now() - opened;
  // subscriber i is users[i % identities]: who receives a row of each group
  const groupOf = (subscriber: number) => users[subscriber % users.length].groupName;
  const subscribersIn = new Map<string, number>();
  for (let i = 0; i < subscribers; i++) subscribersIn.set(groupOf(i), (subscribersIn.get(groupOf(i)) ?? 0) + 1);
  await new Promise((r) => setTimeout(r, 2000)); // subscriptions reach the subgraph and settle
  const idle = memory();

  const writer = new pg.Client(world.biomeroUrl);
  await writer.connect();
  const committed = new Map<string, number>();
  let expected = 0;
  for (let i = 0; i < events; i++) {
    const stage = `Bench ${i}`;
    const importer = users[i % users.length]; // round the facility: each group in turn
    await writer.query(
      `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
       VALUES ($4, $5, $1, 'Dataset', $2, $3, now(), '[]', '[]')`,
      [String(DEMO.datasets.bobLive), stage, DEMO.importOrders.pending, importer.groupName, importer.userName],
    );
    committed.set(stage, now()); // autocommit: the INSERT has committed when it returns
    expected += subscribersIn.get(importer.groupName) ?? 0;
    await new Promise((r) => setTimeout(r, gap));
  }
  await writer.end();
  await new Promise((r) => setTimeout(r, 2000));
  const { receipts } = await ask<{ receipts: [number, string, number][] }>({ report: true });
  const importerOf = (stage: string) => users[Number(stage.slice('Bench '.length)) % users.length];
  const ours = receipts.filter(([, stage]) => committed.has(stage));
  // the access rule, checked on the way: nobody receives another group's rows
  const leaked = ours.filter(([subscriber, stage]) => groupOf(subscriber) !== importerOf(stage).groupName).length;
  const latencies = ours.map(([, stage, at]) => at - committed.get(stage)!).sort((a, b) => a - b);

  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  console.log(
    [
      `live status: ${subscribers} graphql-ws subscribers ${direct ? 'directly on the imports subgraph' : 'through the gateway'} as ${identities} users in ${groups} groups (${perIdentity} connections per user), ${events} rows ${gap} ms apart`,
      `delivered ${latencies.length} of ${expected} (subscriber × row of their group); rows of another group received: ${leaked}`,
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
