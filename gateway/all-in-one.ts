/**
 * `npm start`: the whole graph in one process. With neither OMERO_DATABASE_URL nor
 * BIOMERO_DATABASE_URL set, it runs in demo mode: it starts an embedded PostgreSQL under
 * $DATA_DIR/postgres (default .data/), creates the omero and biomero databases with our DDL and
 * seeds the demo world. NODE_ENV=production refuses demo mode (subgraphs/common/production.ts).
 */
import { join } from 'node:path';
import { projectRoot } from '../database/paths';
import { DEMO_PASSWORDS, DEMO_USERS } from '../database/demo/index';
import { portFor, SUBGRAPH_NAMES } from '../subgraphs/common/config';
import { listenHost, startupRules } from '../subgraphs/common/production';
import { databases, demoEditableCatalogue, demoImports, demoMode } from './demo-databases';
import { startStack } from './stack';
import { exitOnStartFailure, stopOnSignals } from '../subgraphs/common/process';

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
      ? {
          ...(process.env.WORKFLOWS_CONFIG_FILE ? {} : { catalogue: demoEditableCatalogue(dataDir) }),
          ...(process.env.OMERO_WEB_URL ? {} : { launcher: 'demo' as const }),
        }
      : undefined,
    // login/logout for the demo users (gateway/demo-sign-in.ts); a configured OMERO.web wins
    demoSignIn: demo && !process.env.OMERO_WEB_URL,
  });
  const lines = [
    `omero-graph is up: the API at ${stack.gateway.url}`,
    ...Object.values(stack.subgraphs).map((s) => `  subgraph ${s.name.padEnd(10)} ${s.url}`),
    `  health ${stack.gateway.url.replace(/\/graphql$/, '/healthz')}   readiness ${stack.gateway.url.replace(/\/graphql$/, '/readyz')}`,
    `  monitor page ${stack.gateway.url.replace(/\/graphql$/, '/monitor')} (docs/monitor.md)`,
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
  stopOnSignals('omero-graph', () => stack.stop().then(() => db.stop()));
}

main().catch((err) => exitOnStartFailure('omero-graph', err));
