/**
 * npm run bench — gateway overhead, measured side by side in one run:
 *
 *   gateway   the lineage query spanning omero, workflows, imports and forms through the gateway
 *             (Hive runtime with the native query planner, and with the JavaScript planner)
 *   direct    the same data fetched by calling the subgraphs directly, in the same order a
 *             client without a gateway would have to (5 HTTP calls, signed identity header)
 *
 * Reported: p50/p99 per operation, operations per second, and the ratios. Runs alternate
 * (A B C, A B C, …) and the median of the rounds is kept, so drift on a shared machine hits all
 * alike. Environment: BENCH_DATABASE_URL (a PostgreSQL server; default: an embedded one),
 * BENCH_SECONDS (per run, default 5), BENCH_ROUNDS (default 3), BENCH_CONCURRENCY (default 20).
 */
import { join } from 'node:path';
import { DEMO, DEMO_USERS } from '../../database/demo/index';
import { startGateway } from '../../gateway/server';
import { BENCH_SECRET, startBenchWorld } from './setup';
import { readSupergraph } from '../../gateway/supergraph';
import { createPool } from '../../subgraphs/common/db';
import { signIdentity, type Identity } from '../../subgraphs/common/identity';
import { Worker } from 'node:worker_threads';
import type { ClientJob } from './client';
import { SessionResolver } from '../../gateway/sessions';
import { loadRow, loadSettings, medianOfRounds, type LoadResult } from './load';
import { GATEWAY_QUERY } from './queries';
import { runOmeroPageBench } from './omero-page';

const SECRET = BENCH_SECRET;

async function main(): Promise<void> {
  const { seconds, rounds, concurrency } = loadSettings();

  const world = await startBenchWorld();
  const { stack } = world;
  const jsPool = createPool(world.omeroUrl, { name: 'bench', readOnly: true });
  const jsGateway = await startGateway({
    supergraphSdl: readSupergraph(),
    subgraphUrls: Object.fromEntries(Object.values(stack.subgraphs).map((s) => [s.name, s.url])),
    omeroPool: jsPool,
    secret: SECRET,
    port: 0,
    planner: 'js',
  });

  const session = DEMO_USERS.alice.sessionUuid;
  const imageId = String(DEMO.images.aliceSeg1);
  const identity = (await new SessionResolver(jsPool, { secret: SECRET, cacheMs: 0, tokenTtlSeconds: 3600 }).resolve(session)) as Identity;
  const token = signIdentity(identity, SECRET, 3600);
  const subgraphUrls = Object.fromEntries(Object.values(stack.subgraphs).map((s) => [s.name, s.url]));
  const worker = new Worker(join(__dirname, 'client.js'));
  const runJob = (job: ClientJob) =>
    new Promise<LoadResult>((resolve, reject) => {
      worker.once('message', (m: { ok: boolean; result?: LoadResult; error?: string }) => (m.ok ? resolve(m.result!) : reject(new Error(m.error))));
      worker.postMessage(job);
    });
  const base = { subgraphUrls, query: GATEWAY_QUERY, session, token, imageId, concurrency, durationMs: seconds * 1000, warmupMs: 1000 };
  const variants: [string, ClientJob][] = [
    ['gateway (native planner)', { ...base, kind: 'gateway', url: stack.gateway.url }],
    ['gateway (JS planner)', { ...base, kind: 'gateway', url: jsGateway.url }],
    ['direct subgraph calls', { ...base, kind: 'direct', url: '' }],
  ];

  const results = new Map<string, LoadResult[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, job] of variants) {
      const r = await runJob(job);
      results.set(name, [...(results.get(name) ?? []), r]);
    }
  }
  const summary = new Map<string, LoadResult>();
  for (const [name, list] of results) {
    summary.set(name, medianOfRounds(list));
  }
  const direct = summary.get('direct subgraph calls')!;
  const lines = [
    `gateway overhead: lineage query over 4 subgraphs, ${concurrency} concurrent clients, ${rounds} alternating rounds × ${seconds} s, median of rounds`,
    `${'variant'.padEnd(28)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'ops/s'.padStart(8)} ${'errors'.padStart(6)}`,
    ...[...summary].map(([name, r]) => loadRow(name, r, 28)),
    '',
    ...[...summary]
      .filter(([name]) => name.startsWith('gateway'))
      .map(([name, r]) => `${name}: p50 ratio vs direct ${(r.p50 / direct.p50).toFixed(2)}×, throughput ratio ${(r.perSecond / direct.perSecond).toFixed(2)}×`),
  ];
  console.log(lines.join('\n'));
  console.log(`\n${await runOmeroPageBench(world.omeroUrl)}`); // OMERO objects: database vs json-api vs one request per image

  await worker.terminate();
  await jsGateway.stop();
  await jsPool.end();
  await world.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
