import { DEMO_USERS } from '../../database/demo/index';
import { gql, startTestStack, type TestStack } from '../support/stack';

/**
 * The gateway's start (gateway/server.ts): one anonymous operation runs through the runtime before
 * it serves, so that the query planner's subgraph executors are built then and not inside the
 * first users' requests (docs/performance.md, the opening of 1,000 subscriptions).
 */
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
}, 60_000);
afterAll(async () => {
  await stack?.stop();
});

const omeroRequests = async (): Promise<number> => {
  const text = await (await fetch(stack.subgraphs.omero.url.replace(/\/graphql$/, '/metrics'))).text();
  return Number(/omero_graph_subgraph_request_duration_seconds_count\{subgraph="omero"\} (\d+)/.exec(text)?.[1] ?? 0);
};

it('has sent one operation to a subgraph before its first client, which is served as usual', async () => {
  expect(await omeroRequests()).toBe(1); // the warm-up, answered UNAUTHENTICATED by the omero subgraph
  const res = await gql(stack.gateway.url, '{ me { userName } }', { session: DEMO_USERS.alice.sessionUuid });
  expect(res).toEqual({ status: 200, data: { me: { userName: 'alice' } } });
  expect(await omeroRequests()).toBeGreaterThan(1);
});
