import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { seedDemoWorld } from '../../database/demo/index';
import { startEmbeddedPostgres } from '../../database/embedded';
import { projectRoot } from '../../database/paths';
import { prepareDatabases } from '../../database/setup';
import type { GatewaySettings } from '../../gateway/settings';
import { startStack, type Stack } from '../../gateway/stack';

export const BENCH_SECRET = 'benchmark-secret-for-omero-graph-0123456789';

export interface BenchWorld {
  stack: Stack;
  /** read-only pool on the OMERO database (sessions) */
  omeroPool: pg.Pool;
  omeroUrl: string;
  biomeroUrl: string;
  stop(): Promise<void>;
}

/** Seeded OMERO and BIOMERO databases for one benchmark: on BENCH_DATABASE_URL or an embedded server. */
export async function startBenchDatabases(prefix: string): Promise<{ omeroUrl: string; biomeroUrl: string; drop(): Promise<void> }> {
  let serverUrl = process.env.BENCH_DATABASE_URL;
  let embedded: { stop(): Promise<void> } | null = null;
  mkdirSync(join(projectRoot(), '.data'), { recursive: true });
  const dataDir = mkdtempSync(join(projectRoot(), '.data', `${prefix}-`));
  if (!serverUrl) {
    const server = await startEmbeddedPostgres({ dataDir, port: 54400 + Math.floor(Math.random() * 1000), durable: false });
    serverUrl = server.url;
    embedded = server;
  }
  const names = { omero: `og_${prefix}_omero_${process.pid}`, biomero: `og_${prefix}_biomero_${process.pid}` };
  const urls = await prepareDatabases(serverUrl, names);
  const [o, b] = [new pg.Client(urls.omeroUrl), new pg.Client(urls.biomeroUrl)];
  await Promise.all([o.connect(), b.connect()]);
  await seedDemoWorld(o, b);
  await Promise.all([o.end(), b.end()]);
  const admin = serverUrl;
  return {
    ...urls,
    async drop() {
      const client = new pg.Client(admin);
      await client.connect();
      for (const db of Object.values(names)) await client.query(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
      await client.end();
      await embedded?.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The seeded demo world and the whole stack on free ports: BENCH_DATABASE_URL or an embedded server.
 * `gateway`: the settings the benchmark needs (e.g. connections per identity), over the environment's.
 */
export async function startBenchWorld(options: { gateway?: Partial<GatewaySettings> } = {}): Promise<BenchWorld> {
  const urls = await startBenchDatabases('bench');
  const stack = await startStack({
    omeroDatabaseUrl: urls.omeroUrl,
    biomeroDatabaseUrl: urls.biomeroUrl,
    secret: BENCH_SECRET,
    host: '127.0.0.1',
    ports: { gateway: 0, omero: 0, imports: 0, workflows: 0, forms: 0, provenance: 0 },
    gateway: options.gateway,
  });
  const omeroPool = new pg.Pool({ connectionString: urls.omeroUrl, max: 2 });
  return {
    stack,
    omeroPool,
    omeroUrl: urls.omeroUrl,
    biomeroUrl: urls.biomeroUrl,
    async stop() {
      await omeroPool.end();
      await stack.stop();
      await urls.drop();
    },
  };
}
