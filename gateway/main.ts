/**
 * The gateway alone (production layout): subgraphs run as their own processes at the routing URLs
 * of schema/supergraph.graphql, or at <NAME>_SUBGRAPH_URL when set.
 */
import { portFor, requiredEnv, SUBGRAPH_NAMES } from '../subgraphs/common/config';
import { createPool } from '../subgraphs/common/db';
import { logger } from '../subgraphs/common/logger';
import { listenHost, startupRules } from '../subgraphs/common/production';
import { startGateway } from './server';
import { readSupergraph } from './supergraph';

async function main(): Promise<void> {
  const { secret, refusedSessionKeys } = startupRules(process.env, { demo: false });
  const omeroPool = createPool(requiredEnv(process.env, 'OMERO_DATABASE_URL'), { name: 'gateway', readOnly: true, max: 5 });
  const overrides = Object.fromEntries(
    SUBGRAPH_NAMES.map((n) => [n, process.env[`${n.toUpperCase()}_SUBGRAPH_URL`]]).filter((e): e is [string, string] => Boolean(e[1])),
  );
  const gateway = await startGateway({
    supergraphSdl: readSupergraph(),
    subgraphUrls: overrides,
    omeroPool,
    secret,
    refusedSessionKeys,
    port: portFor('gateway'),
    host: listenHost(process.env, 'gateway'),
    planner: process.env.QUERY_PLANNER === 'js' ? 'js' : 'native',
  });
  const stop = () => {
    gateway
      .stop()
      .then(() => omeroPool.end())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err) => {
  logger.fatal({ err }, 'gateway failed to start');
  console.error(`gateway: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
