import { DEFAULT_PORTS, SUBGRAPH_NAMES, type ServiceName } from '../subgraphs/common/config';
import { createPool, type Pool } from '../subgraphs/common/db';
import { startSubgraph, type RunningService, type SubgraphDefinition } from '../subgraphs/common/server';
import { formsSubgraph } from '../subgraphs/forms/index';
import { importsSubgraph } from '../subgraphs/imports/index';
import { omeroSourceFromEnv, omeroSubgraph, type OmeroSubgraphOptions } from '../subgraphs/omero/index';
import { provenanceSubgraph } from '../subgraphs/provenance/index';
import { workflowsSubgraph, type WorkflowsOptions } from '../subgraphs/workflows/index';
import { DEMO_PASSWORDS } from '../database/demo/world';
import { DemoSignIn } from './demo-sign-in';
import type { OperationLimits } from './protection';
import { startGateway, type QueryPlanner, type RunningGateway } from './server';
import type { GatewaySettings } from './settings';
import { readSupergraph } from './supergraph';

export interface StackOptions {
  omeroDatabaseUrl: string;
  biomeroDatabaseUrl: string;
  secret: string;
  /** npm start over the embedded demo world: subgraphs accept the published development secret */
  demo?: boolean;
  /** session keys the gateway never accepts (production: the demo world's published ones) */
  refusedSessionKeys?: ReadonlySet<string>;
  host?: string;
  /** fixed ports per service; 0 picks a free one (tests). Defaults: 4000-4005. */
  ports?: Partial<Record<ServiceName | 'gateway', number>>;
  planner?: QueryPlanner;
  sessionCacheMs?: number;
  limits?: Partial<OperationLimits>;
  /** gateway settings over the environment's (gateway/settings.ts) */
  gateway?: Partial<GatewaySettings>;
  /** OMERO.biomero config file and import mount (default: OMERO_BIOMERO_CONFIG_FILE, IMPORT_MOUNT_PATH) */
  imports?: { configFile: string; mountPath: string };
  /** OMERO objects source (default: OMERO_SOURCE / OMERO_WEB_URL from the environment, else database) */
  omero?: Pick<OmeroSubgraphOptions, 'source' | 'omeroWebUrl' | 'scanLimit'>;
  /** workflow catalogue and Slurm cluster (default: from the environment, docs/workflows.md) */
  workflows?: WorkflowsOptions;
  /**
   * login/logout for the demo users with their demo passwords, opening session rows in the OMERO
   * database (gateway/demo-sign-in.ts): npm start's demo mode and tests only, never production.
   */
  demoSignIn?: boolean;
}

export interface Stack {
  gateway: RunningGateway;
  subgraphs: Record<ServiceName, RunningService>;
  stop(): Promise<void>;
}

/**
 * The whole graph in one process: the five subgraphs on their own ports and the gateway in front,
 * as `npm start` runs it (production runs each as a process of its own, same code).
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const omeroPool: Pool = createPool(options.omeroDatabaseUrl, { name: 'omero', readOnly: true });
  const biomeroPool: Pool = createPool(options.biomeroDatabaseUrl, { name: 'biomero' });
  // writable, small: the demo sign-in inserts and closes session rows
  const signInPool: Pool | null = options.demoSignIn ? createPool(options.omeroDatabaseUrl, { name: 'demo-sign-in', max: 2 }) : null;
  const port = (name: ServiceName | 'gateway') => options.ports?.[name] ?? DEFAULT_PORTS[name];
  const definitions: Record<ServiceName, SubgraphDefinition<unknown>> = {
    omero: omeroSubgraph({ pool: omeroPool, ...(options.omero ?? omeroSourceFromEnv()) }) as SubgraphDefinition<unknown>,
    imports: importsSubgraph({ pool: biomeroPool, omeroPool, ...options.imports }) as SubgraphDefinition<unknown>,
    workflows: workflowsSubgraph({ pool: biomeroPool, omeroPool, ...options.workflows }) as SubgraphDefinition<unknown>,
    forms: formsSubgraph({ pool: omeroPool, ...(options.omero ?? omeroSourceFromEnv()) }) as SubgraphDefinition<unknown>,
    provenance: provenanceSubgraph({ omeroPool, biomeroPool, catalogue: options.workflows?.catalogue }) as SubgraphDefinition<unknown>,
  };
  const started: RunningService[] = [];
  const closePools = () => Promise.all([omeroPool.end(), biomeroPool.end(), signInPool?.end()]);
  try {
    const subgraphs = {} as Record<ServiceName, RunningService>;
    for (const name of SUBGRAPH_NAMES) {
      subgraphs[name] = await startSubgraph(definitions[name], { port: port(name), host: options.host, secret: options.secret, demo: options.demo });
      started.push(subgraphs[name]);
    }
    const gateway = await startGateway({
      supergraphSdl: readSupergraph(),
      subgraphUrls: Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, subgraphs[n].url])),
      omeroPool,
      secret: options.secret,
      refusedSessionKeys: options.refusedSessionKeys,
      port: port('gateway'),
      host: options.host,
      planner: options.planner,
      sessionCacheMs: options.sessionCacheMs,
      limits: options.limits,
      settings: options.gateway,
      signIn: signInPool ? (sessions) => new DemoSignIn(signInPool, sessions, DEMO_PASSWORDS) : undefined,
    });
    return {
      gateway,
      subgraphs,
      async stop() {
        await gateway.stop();
        // the current services: a test may have replaced one (restart on the same port)
        for (const name of [...SUBGRAPH_NAMES].reverse()) await subgraphs[name].stop();
        for (const s of started) await s.stop(); // idempotent; covers replaced ones
        await closePools();
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    await closePools();
    throw err;
  }
}
