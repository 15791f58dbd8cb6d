/**
 * The forms subgraph alone over a fresh copy of the demo databases, called with identities signed
 * the way the gateway signs them for the demo users.
 */
import { DEMO_USERS } from '../../../database/demo/index';
import { IDENTITY_HEADER, signIdentity, type Identity } from '../../../subgraphs/common/identity';
import { startSubgraph, type RunningService } from '../../../subgraphs/common/server';
import { formsSubgraph, type FormsOptions } from '../../../subgraphs/forms/index';
import { createTestDatabases, type TestDatabases } from '../../support/databases';
import { TEST_SECRET, type GraphQLResponse } from '../../support/stack';
import { demoIdentity } from '../../support/identities';

export type DemoUserName = keyof typeof DEMO_USERS;

export function identityOf(name: DemoUserName): Identity {
  return demoIdentity(DEMO_USERS[name]);
}

export interface FormsHarness {
  dbs: TestDatabases;
  service: RunningService;
  query<T = any>(user: DemoUserName | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>>;
  stop(): Promise<void>;
}

export async function startForms(options: FormsOptions = {}): Promise<FormsHarness> {
  const dbs = await createTestDatabases();
  const service = await startSubgraph(formsSubgraph({ databaseUrl: dbs.omeroUrl, ...options }), { port: 0, host: '127.0.0.1', secret: TEST_SECRET });
  return {
    dbs,
    service,
    async query<T = any>(user: DemoUserName | null, query: string, variables?: Record<string, unknown>): Promise<GraphQLResponse<T>> {
      const res = await fetch(service.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: signIdentity(user ? identityOf(user) : null, TEST_SECRET, 60) },
        body: JSON.stringify({ query, variables }),
      });
      return { ...((await res.json()) as GraphQLResponse<T>), status: res.status };
    },
    async stop() {
      await service.stop();
      await dbs.drop();
    },
  };
}
