/**
 * `npm start`: the whole graph in one process. With neither OMERO_DATABASE_URL nor
 * BIOMERO_DATABASE_URL set, it runs in demo mode: it starts an embedded PostgreSQL under
 * $DATA_DIR/postgres (default .data/), creates the omero and biomero databases with our DDL and
 * seeds the demo world. NODE_ENV=production refuses demo mode (subgraphs/common/production.ts).
 */
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../database/embedded';
import { projectRoot } from '../database/paths';
import { prepareDatabases } from '../database/setup';
import { DEMO_GROUPS, DEMO_PASSWORDS, DEMO_USERS, seedDemoWorld } from '../database/demo/index';
import { demoCatalogue } from '../database/demo/workflows';
import { intFromEnv, portFor, SUBGRAPH_NAMES } from '../subgraphs/common/config';
import { logger } from '../subgraphs/common/logger';
import { listenHost, startupRules } from '../subgraphs/common/production';
import { startStack } from './stack';

/**
 * The demo's import mount: .data/import-mount with one folder per demo lab, mapped in an
 * OMERO.biomero-style config file, so that createImportOrder works out of the box.
 */
function demoImports(dataDir: string): { configFile: string; mountPath: string } {
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
function demoEditableCatalogue(dataDir: string): { configFile: string; descriptorsDir: string } {
  const demo = demoCatalogue();
  const configFile = join(dataDir, 'slurm-config.ini');
  mkdirSync(dataDir, { recursive: true });
  if (!existsSync(configFile)) copyFileSync(demo.configFile, configFile);
  return { configFile, descriptorsDir: demo.descriptorsDir };
}

/** Demo mode: neither database URL set. */
function demoMode(): boolean {
  const omero = process.env.OMERO_DATABASE_URL;
  const biomero = process.env.BIOMERO_DATABASE_URL;
  if (Boolean(omero) !== Boolean(biomero)) throw new Error('Set both OMERO_DATABASE_URL and BIOMERO_DATABASE_URL, or neither (embedded PostgreSQL with the demo world).');
  return !omero;
}

async function databases(demo: boolean, dataDir: string): Promise<{ omero: string; biomero: string; stop(): Promise<void> }> {
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

async function main(): Promise<void> {
  const demo = demoMode();
  // production refuses demo mode and the development secret here, before anything starts
  const { secret, refusedSessionKeys } = startupRules(process.env, { demo, singleProcess: true });
  const dataDir = process.env.DATA_DIR || join(projectRoot(), '.data');
  const db = await databases(demo, dataDir);
  const stack = await startStack({
    omeroDatabaseUrl: db.omero,
    biomeroDatabaseUrl: db.biomero,
    secret,
    demo,
    refusedSessionKeys,
    host: listenHost(process.env, 'all-in-one'),
    ports: Object.fromEntries((['gateway', ...SUBGRAPH_NAMES] as const).map((name) => [name, portFor(name)])),
    planner: process.env.QUERY_PLANNER === 'js' ? 'js' : 'native',
    imports: demo && !process.env.OMERO_BIOMERO_CONFIG_FILE ? demoImports(dataDir) : undefined,
    // the demo workflow catalogue (slurm-config.ini and descriptors under database/demo/catalogue),
    // and runWorkflow's demo runner (writes a run's events itself) unless an OMERO.web is configured
    workflows: demo
      ? { ...(process.env.WORKFLOWS_CONFIG_FILE ? {} : { catalogue: demoEditableCatalogue(dataDir) }), ...(process.env.OMERO_WEB_URL ? {} : { launcher: 'demo' as const }) }
      : undefined,
    // login/logout for the demo users (gateway/demo-sign-in.ts); a configured OMERO.web wins
    demoSignIn: demo && !process.env.OMERO_WEB_URL,
  });
  const lines = [
    `omero-graph is up: the API at ${stack.gateway.url}`,
    ...Object.values(stack.subgraphs).map((s) => `  subgraph ${s.name.padEnd(10)} ${s.url}`),
    `  health ${stack.gateway.url.replace(/\/graphql$/, '/healthz')}   readiness ${stack.gateway.url.replace(/\/graphql$/, '/readyz')}`,
  ];
  if (demo) {
    lines.push('Demo sessions (GraphiQL headers: {"Authorization": "Bearer <key>"}):');
    for (const user of Object.values(DEMO_USERS)) lines.push(`  ${user.omeName.padEnd(11)} ${user.sessionUuid}`);
    if (!process.env.OMERO_WEB_URL) {
      lines.push('Demo sign-in (mutation { login(username, password) { sessionKey } }):');
      for (const [name, password] of Object.entries(DEMO_PASSWORDS)) lines.push(`  ${name.padEnd(11)} ${password}`);
    }
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
