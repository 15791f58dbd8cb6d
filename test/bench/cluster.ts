/**
 * `npm run bench:cluster`: throughput of the all-subgraph query through HAProxy over 1, 2 and 4
 * gateway replicas (gateway/cluster.ts; 2 replicas of each subgraph), side by side in one run: one
 * cluster of 4 gateway replicas, of which HAProxy's admin socket puts all but n in maintenance,
 * rounds interleaved. BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONCURRENCY as in test/bench/run.ts;
 * BENCH_SUBGRAPH_REPLICAS (default 2). The figures are in docs/scaling.md.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { DEMO, DEMO_USERS } from '../../database/demo/index';
import { projectRoot } from '../../database/paths';
import { startCluster } from '../../gateway/cluster';
import { intFromEnv } from '../../subgraphs/common/config';
import { post } from './client';
import { load, loadRow, loadSettings, medianOfRounds, type LoadResult } from './load';
import { GATEWAY_QUERY } from './queries';
import { startBenchDatabases } from './setup';

const GATEWAY_COUNTS = [1, 2, 4];

/** one command on HAProxy's admin socket */
function admin(socket: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = connect(socket, () => s.write(`${command}\n`));
    s.on('data', (d) => (out += d.toString()));
    s.on('error', reject);
    s.on('end', () => resolve(out));
  });
}

/** gateway replicas 1..n in rotation, the others in maintenance (both backends: ready and live) */
async function useGateways(socket: string, n: number): Promise<void> {
  for (let i = 1; i <= Math.max(...GATEWAY_COUNTS); i++) {
    for (const backend of ['gateway-replicas', 'gateway-live']) await admin(socket, `set server ${backend}/gateway-${i} state ${i <= n ? 'ready' : 'maint'}`);
  }
}

async function main(): Promise<void> {
  const { seconds, rounds, concurrency } = loadSettings();
  const urls = await startBenchDatabases('cluster');
  const dataDir = mkdtempSync(join(projectRoot(), '.data', 'bench-cluster-'));
  const cluster = await startCluster({
    replicas: Math.max(...GATEWAY_COUNTS),
    subgraphReplicas: intFromEnv(process.env, 'BENCH_SUBGRAPH_REPLICAS', 2),
    env: {
      ...process.env,
      IDENTITY_SECRET: randomBytes(32).toString('hex'),
      OMERO_DATABASE_URL: urls.omeroUrl,
      BIOMERO_DATABASE_URL: urls.biomeroUrl,
      RATE_LIMIT_PER_SECOND: '0',
    },
    ports: { gateway: 0, omero: 0, imports: 0, workflows: 0, forms: 0, provenance: 0 },
    dataDir,
  });
  const socket = join(dataDir, 'haproxy.sock');
  try {
    const headers = { authorization: `Bearer ${DEMO_USERS.alice.sessionUuid}` };
    const variables = { id: String(DEMO.images.aliceSeg1) };
    await post(cluster.url, GATEWAY_QUERY, variables, headers); // fails the benchmark at once if the query does
    const results = new Map<number, LoadResult[]>();
    for (let round = 0; round < rounds; round++) {
      for (const n of GATEWAY_COUNTS) {
        await useGateways(socket, n);
        const result = await load(() => post(cluster.url, GATEWAY_QUERY, variables, headers), { concurrency, durationMs: seconds * 1000, warmupMs: 1000 });
        results.set(n, [...(results.get(n) ?? []), result]);
      }
    }
    const one = medianOfRounds(results.get(1)!).perSecond;
    const lines = [
      `all-subgraph query through HAProxy, ${concurrency} concurrent clients, ${seconds} s × ${rounds} rounds (median of rounds); ${cluster.replicas.filter((r) => r.service === 'imports').length} replicas of each subgraph`,
      `${'gateway replicas'.padEnd(18)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'ops/s'.padStart(8)} ${'errors'.padStart(6)} ${'× 1 replica'.padStart(12)}`,
      ...GATEWAY_COUNTS.map((n) => {
        const r = medianOfRounds(results.get(n)!);
        return loadRow(String(n), r, 18) + (r.perSecond / one).toFixed(2).padStart(13);
      }),
    ];
    console.log(lines.join('\n'));
  } finally {
    await cluster.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await urls.drop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
