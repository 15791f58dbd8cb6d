import { buildGraphQLWSExecutor } from '@graphql-tools/executor-graphql-ws';
import type { ExecutionRequest } from '@graphql-tools/utils';
import { GraphQLError } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { IDENTITY_CONNECTION_PARAM } from '../subgraphs/common/identity';

type Executor = ReturnType<typeof buildGraphQLWSExecutor>;

/** graphql-ws rejects with a CloseEvent, not an Error; clients get a message that says what happened. */
function asError(reason: unknown, subgraph: string): Error {
  if (reason instanceof GraphQLError) return reason;
  const code = (reason as { code?: number } | null)?.code;
  const detail = reason instanceof Error ? reason.message : code ? `WebSocket close ${code}` : 'connection lost';
  return new GraphQLError(`The ${subgraph} service ended the subscription (${detail}); resubscribe with your last cursor.`, {
    extensions: { code: 'DOWNSTREAM_SERVICE_ERROR' },
  });
}

function withReadableErrors<T>(result: T | Promise<T> | AsyncIterable<T>, subgraph: string): unknown {
  if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
    const source = result as AsyncIterable<T>;
    return (async function* () {
      try {
        yield* source;
      } catch (reason) {
        throw asError(reason, subgraph);
      }
    })();
  }
  return Promise.resolve(result).catch((reason) => {
    throw asError(reason, subgraph);
  });
}

/**
 * The gateway's WebSocket transport to subgraphs (used for subscriptions).
 *
 * Why not @graphql-mesh/transport-ws: its graphql-ws client retries a dropped connection and then
 * re-sends the *original* subscribe message, i.e. the client's original `after` cursor, so events
 * are replayed twice — and those written while it waits between retries arrive late. Here an
 * upstream drop ends the client's subscription with an error at once, and the client resumes from
 * the last cursor it received (docs/live-status.md). One connection per subgraph and identity token.
 */
export const subgraphWsTransport = {
  getSubgraphExecutor({ transportEntry }: { transportEntry: { location?: string; subgraph?: string } }) {
    if (!transportEntry.location) throw new Error('WebSocket transport needs a location.');
    const url = transportEntry.location.replace(/^http/, 'ws');
    const executors = new Map<string, Executor>();
    const executor = (request: ExecutionRequest) => {
      const token = String((request.context as { identityToken?: string } | undefined)?.identityToken ?? '');
      let exec = executors.get(token);
      if (!exec) {
        const client = createClient({
          url,
          webSocketImpl: WebSocket,
          lazy: true,
          lazyCloseTimeout: 3_000,
          retryAttempts: 0,
          connectionParams: { [IDENTITY_CONNECTION_PARAM]: token },
          on: { closed: () => executors.delete(token) },
        });
        exec = buildGraphQLWSExecutor(client);
        executors.set(token, exec);
      }
      return withReadableErrors(exec(request), transportEntry.subgraph ?? 'subgraph');
    };
    return Object.assign(executor, {
      async [Symbol.asyncDispose]() {
        await Promise.all([...executors.values()].map((e) => e[Symbol.asyncDispose]()));
        executors.clear();
      },
    });
  },
};
