/**
 * `npm run start:cluster [-- --replicas N]`: N gateway replicas and N replicas of each subgraph
 * behind HAProxy (gateway/cluster.ts, docs/scaling.md), on OMERO_DATABASE_URL and
 * BIOMERO_DATABASE_URL, or with neither set on the embedded demo world (as `npm start`).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { projectRoot } from '../database/paths';
import { DEMO_USERS } from '../database/demo/index';
import { intFromEnv, portFor, SUBGRAPH_NAMES } from '../subgraphs/common/config';
import { listenHost, startupRules } from '../subgraphs/common/production';
import { startCluster, type ClusterService } from './cluster';
import { databases, demoEditableCatalogue, demoImports, demoMode } from './demo-databases';
import { HaproxyMissing, haproxyBinary } from './haproxy';
import { stopOnSignals } from '../subgraphs/common/process';

/** `--replicas N` (or `--replicas=N`) over REPLICAS, default 2. */
export function replicasFrom(argv: string[], env: NodeJS.ProcessEnv): number {
  const i = argv.findIndex((a) => a === '--replicas' || a.startsWith('--replicas='));
  const raw = i < 0 ? undefined : argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1];
  const replicas = raw === undefined ? intFromEnv(env, 'REPLICAS', 2) : Number(raw);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 32)
    throw new Error(`--replicas/REPLICAS must be an integer from 1 to 32, got "${raw ?? env.REPLICAS}".`);
  return replicas;
}

async function main(): Promise<void> {
  haproxyBinary(); // first: nothing starts without it
  const replicas = replicasFrom(process.argv.slice(2), process.env);
  const demo = demoMode();
  // every replica is its own process: they share one secret (given, or generated for this cluster in demo mode)
  const { secret } = startupRules(demo ? { ...process.env, IDENTITY_SECRET: process.env.IDENTITY_SECRET || randomBytes(32).toString('hex') } : process.env, {
    demo: false,
  });
  const dataDir = process.env.DATA_DIR || join(projectRoot(), '.data');
  const db = await databases(demo, dataDir);
  const env: NodeJS.ProcessEnv = { ...process.env, IDENTITY_SECRET: secret, OMERO_DATABASE_URL: db.omero, BIOMERO_DATABASE_URL: db.biomero };
  if (demo) {
    const imports = process.env.OMERO_BIOMERO_CONFIG_FILE ? null : demoImports(dataDir);
    if (imports) Object.assign(env, { OMERO_BIOMERO_CONFIG_FILE: imports.configFile, IMPORT_MOUNT_PATH: imports.mountPath });
    if (!process.env.WORKFLOWS_CONFIG_FILE) {
      const catalogue = demoEditableCatalogue(dataDir);
      Object.assign(env, { WORKFLOWS_CONFIG_FILE: catalogue.configFile, WORKFLOW_DESCRIPTORS_DIR: catalogue.descriptorsDir });
    }
  }
  const ports = Object.fromEntries((['gateway', ...SUBGRAPH_NAMES] as ClusterService[]).map((s) => [s, portFor(s)])) as Record<ClusterService, number>;
  const cluster = await startCluster({
    replicas,
    env,
    ports,
    host: listenHost(process.env, 'gateway'),
    dataDir: join(dataDir, 'cluster'),
    restartOnExit: true,
  });
  const lines = [
    `omero-graph cluster is up: the API at ${cluster.url} (HAProxy over ${replicas} gateway replica${replicas > 1 ? 's' : ''})`,
    ...cluster.replicas.map((r) => `  ${`${r.service}-${r.index}`.padEnd(14)} 127.0.0.1:${r.port}  pid ${r.pid}`),
    ...SUBGRAPH_NAMES.map((n) => `  subgraph ${n.padEnd(10)} ${cluster.frontends[n]}/graphql (HAProxy)`),
    `  HAProxy config ${cluster.configFile}; replica logs in ${join(dataDir, 'cluster', 'logs')}`,
  ];
  if (demo) {
    lines.push('Demo sessions (GraphiQL headers: {"Authorization": "Bearer <key>"}):');
    for (const user of Object.values(DEMO_USERS)) lines.push(`  ${user.omeName.padEnd(11)} ${user.sessionUuid}`);
  }
  console.log(lines.join('\n'));
  // every replica gets its own clean stop (and a SIGKILL after its bound): a longer bound here
  stopOnSignals('start:cluster', () => cluster.stop().then(() => db.stop()), 60_000);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(`start:cluster: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(err instanceof HaproxyMissing ? 69 : 1); // 69: EX_UNAVAILABLE
  });
}
