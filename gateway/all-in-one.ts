/**
 * `npm start`: the whole graph in one process. With neither OMERO_DATABASE_URL nor
 * BIOMERO_DATABASE_URL set, it starts an embedded PostgreSQL under .data/postgres, creates the
 * omero and biomero databases with our DDL and seeds the demo world.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../database/embedded';
import { projectRoot } from '../database/paths';
import { prepareDatabases } from '../database/setup';
import { DEMO_GROUPS, DEMO_USERS, seedDemoWorld } from '../database/demo/index';
import { demoCatalogue } from '../database/demo/workflows';
import { identitySecret, intFromEnv } from '../subgraphs/common/config';
import { logger } from '../subgraphs/common/logger';
import { startStack } from './stack';

/**
 * The demo's import mount: .data/import-mount with one folder per demo lab, mapped in an
 * OMERO.biomero-style config file, so that createImportOrder works out of the box.
 */
function demoImports(): { configFile: string; mountPath: string } {
  const mountPath = join(projectRoot(), '.data', 'import-mount');
  const configFile = join(projectRoot(), '.data', 'biomero-config.json');
  const groups = Object.values(DEMO_GROUPS).filter((g) => g.name.startsWith('lab-'));
  for (const g of groups) mkdirSync(join(mountPath, g.name), { recursive: true });
  if (!existsSync(configFile)) {
    const mappings = Object.fromEntries(groups.map((g) => [String(g.id), { folder: g.name, groupName: g.name }]));
    writeFileSync(configFile, JSON.stringify({ group_mappings: mappings }, null, 2) + '\n');
  }
  return { configFile, mountPath };
}

async function databases(): Promise<{ omero: string; biomero: string; demo: boolean; stop(): Promise<void> }> {
  const omero = process.env.OMERO_DATABASE_URL;
  const biomero = process.env.BIOMERO_DATABASE_URL;
  if (omero && biomero) return { omero, biomero, demo: false, stop: async () => undefined };
  if (omero || biomero) throw new Error('Set both OMERO_DATABASE_URL and BIOMERO_DATABASE_URL, or neither (embedded PostgreSQL with the demo world).');
  const server = await startEmbeddedPostgres({
    dataDir: join(projectRoot(), '.data', 'postgres'),
    port: intFromEnv(process.env, 'EMBEDDED_POSTGRES_PORT', 54329),
  });
  const urls = await prepareDatabases(server.url);
  const [o, b] = [new pg.Client(urls.omeroUrl), new pg.Client(urls.biomeroUrl)];
  await Promise.all([o.connect(), b.connect()]);
  try {
    await seedDemoWorld(o, b);
  } finally {
    await Promise.all([o.end(), b.end()]);
  }
  return { omero: urls.omeroUrl, biomero: urls.biomeroUrl, demo: true, stop: () => server.stop() };
}

async function main(): Promise<void> {
  const db = await databases();
  const stack = await startStack({
    omeroDatabaseUrl: db.omero,
    biomeroDatabaseUrl: db.biomero,
    secret: identitySecret(),
    host: process.env.HOST ?? '127.0.0.1',
    planner: process.env.QUERY_PLANNER === 'js' ? 'js' : 'native',
    imports: db.demo && !process.env.OMERO_BIOMERO_CONFIG_FILE ? demoImports() : undefined,
    // the demo workflow catalogue (slurm-config.ini and descriptors under database/demo/catalogue)
    workflows: db.demo && !process.env.WORKFLOWS_CONFIG_FILE ? { catalogue: demoCatalogue() } : undefined,
  });
  const lines = [
    `omero-graph is up: GraphiQL and the API at ${stack.gateway.url}`,
    ...Object.values(stack.subgraphs).map((s) => `  subgraph ${s.name.padEnd(10)} ${s.url}`),
    `  health ${stack.gateway.url.replace(/\/graphql$/, '/healthz')}   readiness ${stack.gateway.url.replace(/\/graphql$/, '/readyz')}`,
  ];
  if (db.demo) {
    lines.push('Demo sessions (GraphiQL headers: {"Authorization": "Bearer <key>"}):');
    for (const user of Object.values(DEMO_USERS)) lines.push(`  ${user.omeName.padEnd(11)} ${user.sessionUuid}`);
  }
  console.log(lines.join('\n'));
  const stop = () => {
    stack
      .stop()
      .then(() => db.stop())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  logger.fatal({ err }, 'omero-graph failed to start');
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
