/**
 * The gateway alone (production layout): subgraphs run as their own processes at the routing URLs
 * of schema/supergraph.graphql, or at <NAME>_SUBGRAPH_URL when set.
 */
import { portFor, requiredEnv, SUBGRAPH_NAMES } from '../subgraphs/common/config';
import { createPool } from '../subgraphs/common/db';
import { listenHost, startupRules } from '../subgraphs/common/production';
import { startGateway } from './server';
import { readSupergraph } from './supergraph';
import { exitOnStartFailure, stopOnSignals } from '../subgraphs/common/process';

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
  stopOnSignals('gateway', () => gateway.stop().then(() => omeroPool.end()));
}

main().catch((err) => exitOnStartFailure('gateway', err));
