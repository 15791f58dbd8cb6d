/**
 * `npm run bench:gateway`: the all-subgraph query (image → workflow run → inputs → import orders
 * and form submissions, four subgraphs) through
 *   1. our gateway with every protection on (limits, cost, APQ, rate limit set high enough not to bite),
 *   2. our gateway with protections off,
 *   3. @apollo/gateway serving the same supergraph (queries only), behind @apollo/server,
 * side by side in one run, the same subgraphs behind all three. BENCH_SECONDS, BENCH_ROUNDS,
 * BENCH_CONCURRENCY as in test/bench/run.ts.
 *
 * @apollo/gateway does not resolve OMERO sessions: it forwards the identity token signed once
 * up front (our gateway resolves the session per request from its cache, SESSION_CACHE_MS).
 */
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { DEMO, DEMO_USERS } from '../../database/demo/index';
import { startGateway } from '../../gateway/server';
import { SessionResolver } from '../../gateway/sessions';
import { readSupergraph, withRoutingUrls } from '../../gateway/supergraph';
import { createPool } from '../../subgraphs/common/db';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../../subgraphs/common/identity';
import type { ClientJob } from './client';
import { loadRow, loadSettings, medianOfRounds, type LoadResult } from './load';
import { GATEWAY_QUERY } from './queries';
import { BENCH_SECRET as SECRET, startBenchWorld } from './setup';

async function main(): Promise<void> {
  const { seconds, rounds, concurrency } = loadSettings();

  const world = await startBenchWorld();
  const { stack } = world;
  const subgraphUrls = Object.fromEntries(Object.values(stack.subgraphs).map((s) => [s.name, s.url]));
  const supergraphSdl = readSupergraph();
  const pools = [createPool(world.omeroUrl, { name: 'bench-on', readOnly: true }), createPool(world.omeroUrl, { name: 'bench-off', readOnly: true })];
  // protections on: every limit and APQ at their defaults, the rate limit high enough not to refuse the load
  const on = await startGateway({
    supergraphSdl,
    subgraphUrls,
    omeroPool: pools[0],
    secret: SECRET,
    port: 0,
    settings: { rateLimitPerSecond: 1_000_000, rateLimitBurst: 1_000_000, persistedOperations: 'apq' },
  });
  const off = await startGateway({ supergraphSdl, subgraphUrls, omeroPool: pools[1], secret: SECRET, port: 0, protections: false });

  const session = DEMO_USERS.alice.sessionUuid;
  const identity = (await new SessionResolver(pools[0], { secret: SECRET, cacheMs: 0, tokenTtlSeconds: 3600 }).resolve(session)) as Identity;
  const token = signIdentity(identity, SECRET, 3600);

  // @apollo/gateway over the same supergraph (federation 2.6 composed by @theguild/federation-composition)
  const apolloGateway = new ApolloGateway({
    supergraphSdl: withRoutingUrls(supergraphSdl, subgraphUrls),
    buildService: ({ url }) =>
      new RemoteGraphQLDataSource({
        url,
        // Node's own fetch (undici, keep-alive), as our gateway uses, instead of the default make-fetch-happen
        fetcher: globalThis.fetch as never,
        willSendRequest({ request }) {
          request.http?.headers.set(IDENTITY_HEADER, token);
        },
      }),
  });
  const apollo = new ApolloServer({ gateway: apolloGateway });
  const { url: apolloUrl } = await startStandaloneServer(apollo, { listen: { port: 0, host: '127.0.0.1' } });

  const imageId = String(DEMO.images.aliceSeg1);
  const worker = new Worker(join(__dirname, 'client.js'));
  const runJob = (job: ClientJob) =>
    new Promise<LoadResult>((resolve, reject) => {
      worker.once('message', (m: { ok: boolean; result?: LoadResult; error?: string }) => (m.ok ? resolve(m.result!) : reject(new Error(m.error))));
      worker.postMessage(job);
    });
  const base = {
    subgraphUrls,
    query: GATEWAY_QUERY,
    session,
    token,
    imageId,
    concurrency,
    durationMs: seconds * 1000,
    warmupMs: 1000,
    kind: 'gateway' as const,
  };
  const variants: [string, ClientJob][] = [
    ['omero-graph gateway, protections on', { ...base, url: on.url }],
    ['omero-graph gateway, protections off', { ...base, url: off.url }],
    ['@apollo/gateway (same supergraph)', { ...base, url: apolloUrl.replace(/\/?$/, '/') }],
  ];
  // subgraph HTTP requests one operation costs through each gateway (from the subgraphs' /metrics)
  const subgraphRequests = async () => {
    let total = 0;
    for (const s of Object.values(stack.subgraphs)) {
      const text = await (await fetch(s.url.replace(/graphql$/, 'metrics'))).text();
      total += Number(/omero_graph_subgraph_request_duration_seconds_count\{[^}]*\} (\d+)/.exec(text)?.[1] ?? 0);
    }
    return total;
  };
  const callsPerOperation = new Map<string, number>();
  for (const [name, job] of variants) {
    const before = await subgraphRequests();
    const res = await fetch(job.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` },
      body: JSON.stringify({ query: GATEWAY_QUERY, variables: { id: imageId } }),
    });
    const body = (await res.json()) as { errors?: unknown };
    if (body.errors) throw new Error(`${name}: ${JSON.stringify(body.errors)}`);
    callsPerOperation.set(name, (await subgraphRequests()) - before);
  }

  const results = new Map<string, LoadResult[]>();
  for (let round = 0; round < rounds; round++) {
    for (const [name, job] of variants) results.set(name, [...(results.get(name) ?? []), await runJob(job)]);
  }
  const lines = [
    `all-subgraph query, ${concurrency} concurrent clients, ${seconds} s × ${rounds} rounds (median of rounds), native planner for ours`,
    `${'variant'.padEnd(34)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'ops/s'.padStart(8)} ${'errors'.padStart(6)} ${'subgraph calls/op'.padStart(18)}`,
  ];
  for (const [name, list] of results) {
    lines.push(loadRow(name, medianOfRounds(list), 34) + String(callsPerOperation.get(name)).padStart(19));
  }
  console.log(lines.join('\n'));
  await worker.terminate();
  await apollo.stop();
  await on.stop();
  await off.stop();
  for (const p of pools) await p.end();
  await world.stop();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
