import { startStack, type Stack, type StackOptions } from '../../gateway/stack';
import { createTestDatabases, type TestDatabases } from './databases';

export const TEST_SECRET = 'test-secret-for-omero-graph-identity-0123456789';

export interface TestStack extends Stack {
  dbs: TestDatabases;
}

/** The whole graph on free loopback ports over fresh copies of the seeded demo databases. */
export async function startTestStack(options: Partial<StackOptions> = {}): Promise<TestStack> {
  const dbs = await createTestDatabases();
  try {
    const stack = await startStack({
      omeroDatabaseUrl: dbs.omeroUrl,
      biomeroDatabaseUrl: dbs.biomeroUrl,
      secret: TEST_SECRET,
      host: '127.0.0.1',
      ports: { gateway: 0, omero: 0, imports: 0, workflows: 0, forms: 0, provenance: 0 },
      sessionCacheMs: 0,
      ...options,
    });
    return {
      ...stack,
      dbs,
      async stop() {
        await stack.stop();
        await dbs.drop();
      },
    };
  } catch (err) {
    await dbs.drop();
    throw err;
  }
}

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } }[];
}

/** POSTs one operation; `session` is an OMERO session key sent as a Bearer token. */
export async function gql<T = any>(
  url: string,
  query: string,
  opts: { variables?: Record<string, unknown>; session?: string; headers?: Record<string, string> } = {},
): Promise<GraphQLResponse<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
      ...(opts.session ? { authorization: `Bearer ${opts.session}` } : {}),
      ...opts.headers,
    },
    body: JSON.stringify({ query, variables: opts.variables }),
  });
  const body = (await res.json()) as GraphQLResponse<T>;
  return { ...body, status: res.status };
}
