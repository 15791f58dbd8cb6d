/**
 * The databases of `npm start` and `npm run start:cluster`: the given OMERO_DATABASE_URL and
 * BIOMERO_DATABASE_URL, or in demo mode (neither set) an embedded PostgreSQL under $DATA_DIR with
 * the demo world, its import mount and an editable copy of its workflow catalogue.
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../database/embedded';
import { prepareDatabases } from '../database/setup';
import { DEMO_GROUPS, seedDemoWorld } from '../database/demo/index';
import { demoCatalogue } from '../database/demo/workflows';
import { intFromEnv } from '../subgraphs/common/config';

/**
 * The demo's import mount: .data/import-mount with one folder per demo lab, mapped in an
 * OMERO.biomero-style config file, so that createImportOrder works out of the box.
 */
export function demoImports(dataDir: string): { configFile: string; mountPath: string } {
  const mountPath = join(dataDir, 'import-mount');
  const configFile = join(dataDir, 'biomero-config.json');
  const groups = Object.values(DEMO_GROUPS).filter((g) => g.name.startsWith('lab-'));
  for (const g of groups) mkdirSync(join(mountPath, g.name), { recursive: true });
  if (!existsSync(configFile)) {
    const mappings = Object.fromEntries(groups.map((g) => [String(g.id), { folder: g.name, groupName: g.name }]));
    writeFileSync(configFile, JSON.stringify({ group_mappings: mappings }, null, 2) + '\n');
  }
  return { configFile, mountPath };
}

/**
 * The demo workflow catalogue, its slurm-config.ini copied once to $DATA_DIR so that setWorkflow
 * and removeWorkflow edit the copy (and keep its history there), never the file in the source tree.
 */
export function demoEditableCatalogue(dataDir: string): { configFile: string; descriptorsDir: string } {
  const demo = demoCatalogue();
  const configFile = join(dataDir, 'slurm-config.ini');
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(configFile)) copyFileSync(demo.configFile, configFile);
  return { configFile, descriptorsDir: demo.descriptorsDir };
}

/** Demo mode: neither database URL set. */
export function demoMode(): boolean {
  const omero = process.env.OMERO_DATABASE_URL;
  const biomero = process.env.BIOMERO_DATABASE_URL;
  if (Boolean(omero) !== Boolean(biomero))
    throw new Error('Set both OMERO_DATABASE_URL and BIOMERO_DATABASE_URL, or neither (embedded PostgreSQL with the demo world).');
  return !omero;
}

export async function databases(demo: boolean, dataDir: string): Promise<{ omero: string; biomero: string; stop(): Promise<void> }> {
  if (!demo) return { omero: process.env.OMERO_DATABASE_URL!, biomero: process.env.BIOMERO_DATABASE_URL!, stop: async () => undefined };
  const server = await startEmbeddedPostgres({
    dataDir: join(dataDir, 'postgres'),
    port: intFromEnv(process.env, 'EMBEDDED_POSTGRES_PORT', 54329),
    // a generated superuser password, kept beside the cluster (never postgres:postgres)
    passwordFile: join(dataDir, 'postgres-password'),
  });
  const urls = await prepareDatabases(server.url);
  const [o, b] = [new pg.Client(urls.omeroUrl), new pg.Client(urls.biomeroUrl)];
  await Promise.all([o.connect(), b.connect()]);
  try {
    await seedDemoWorld(o, b);
  } finally {
    await Promise.all([o.end(), b.end()]);
  }
  return { omero: urls.omeroUrl, biomero: urls.biomeroUrl, stop: () => server.stop() };
}
