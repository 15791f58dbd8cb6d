/**
 * The workflows subgraph alone on a fresh copy of the demo databases, called the way the gateway
 * calls it (signed identity header, graphql-ws with the identity in connection_init), so these
 * tests do not depend on the other subgraphs.
 */
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { DEMO_USERS } from '../../../database/demo/index';
import { IDENTITY_CONNECTION_PARAM, IDENTITY_HEADER, signIdentity, type Identity } from '../../../subgraphs/common/identity';
import { startSubgraph, type RunningService } from '../../../subgraphs/common/server';
import { workflowsSubgraph, type WorkflowsOptions } from '../../../subgraphs/workflows/index';
import { createTestDatabases, type TestDatabases } from '../../support/databases';
import { demoIdentity } from '../../support/identities';
export { collect } from '../../support/subscriptions';

export const SECRET = 'workflows-test-secret-0123456789-abcdefghij';
export type DemoUser = keyof typeof DEMO_USERS;

export function identityOf(user: DemoUser): Identity {
  return demoIdentity(DEMO_USERS[user]);
}

export interface WorkflowsService {
  url: string;
  dbs: TestDatabases;
  service: RunningService;
  stop(): Promise<void>;
}

export async function startWorkflows(options: WorkflowsOptions = {}, dbs?: TestDatabases): Promise<WorkflowsService> {
  const databases = dbs ?? (await createTestDatabases());
  const service = await startSubgraph(workflowsSubgraph({ databaseUrl: databases.biomeroUrl, ...options }), { port: 0, secret: SECRET });
  return {
    url: service.url,
    dbs: databases,
    service,
    async stop() {
      await service.stop();
      await databases.drop();
    },
  };
}

export interface Response<T = any> {
  data?: T;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POSTs one operation as `user` (null: anonymous, still signed by the "gateway"). */
export async function gql<T = any>(url: string, query: string, user: DemoUser | null, variables: Record<string, unknown> = {}): Promise<Response<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: signIdentity(user ? identityOf(user) : null, SECRET, 300) },
    body: JSON.stringify({ query, variables }),
  });
  return (await res.json()) as Response<T>;
}

export function wsClient(url: string, user: DemoUser): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: () => ({ [IDENTITY_CONNECTION_PARAM]: signIdentity(identityOf(user), SECRET, 300) }),
  });
}
