import { buildGraphQLWSExecutor } from '@graphql-tools/executor-graphql-ws';
import type { ExecutionRequest } from '@graphql-tools/utils';
import { GraphQLError } from 'graphql';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { IDENTITY_CONNECTION_PARAM } from '../subgraphs/common/identity';
import type { LiveSessions, PinnedIdentity } from './live-sessions';
import { codedError } from '../subgraphs/common/errors';

type Executor = ReturnType<typeof buildGraphQLWSExecutor>;

/** graphql-ws rejects with a CloseEvent, not an Error; clients get a message that says what happened. */
function asError(reason: unknown, subgraph: string): Error {
  if (reason instanceof GraphQLError) return reason;
  // a subgraph's `error` message: its coded errors reach the client with their code
  const first = Array.isArray(reason) ? (reason[0] as { message?: unknown; extensions?: Record<string, unknown> } | undefined) : undefined;
  if (first && typeof first.message === 'string' && typeof first.extensions?.code === 'string' && first.extensions.code !== 'INTERNAL_SERVER_ERROR') {
    return new GraphQLError(first.message, { extensions: { ...first.extensions, serviceName: subgraph } });
  }
  const code = (reason as { code?: number } | null)?.code;
  const detail = reason instanceof Error ? reason.message : code ? `WebSocket close ${code}` : 'connection lost';
  return codedError('DOWNSTREAM_SERVICE_ERROR', `The ${subgraph} service ended the subscription (${detail}); resubscribe with your last cursor.`);
}

/** Not an async generator: a `return()` (the client left, its session ended) reaches the upstream subscription at once. */
function withReadableErrors<T>(result: T | Promise<T> | AsyncIterable<T>, subgraph: string): unknown {
  if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
    const source = (result as AsyncIterable<T>)[Symbol.asyncIterator]();
    const readable = (reason: unknown) => Promise.reject(asError(reason, subgraph));
    const iterator: AsyncIterableIterator<T> = {
      next: () => source.next().catch(readable),
      return: (value?: unknown) =>
        source.return?.(value).catch(() => ({ value: undefined, done: true as const })) ?? Promise.resolve({ value: undefined, done: true as const }),
      throw: (err?: unknown) => source.throw?.(err) ?? Promise.reject(err),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
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
 * the last cursor it received (docs/live-status.md).
 *
 * One connection per subgraph and OMERO session (anonymous callers share one). It follows its
 * session (gateway/live-sessions.ts): each renewed identity token goes to the subgraph in a
 * graphql-ws `ping` (`{"identity": <token>}`), which swaps the identity its open subscriptions
 * filter with (docs/identity.md, Live sessions). A subscription shared by the users of one access
 * scope (shared-subscriptions.ts) runs on a connection of its own, following the group's pinned
 * identity instead of a session.
 */
export function subgraphWsTransport(live: LiveSessions) {
  return {
    getSubgraphExecutor({ transportEntry }: { transportEntry: { location?: string; subgraph?: string } }) {
      if (!transportEntry.location) throw new Error('WebSocket transport needs a location.');
      const url = transportEntry.location.replace(/^http/, 'ws');
      type Upstream = { exec: Executor; renew(token: string): void };
      const upstreams = new Map<string | null, Upstream>();
      /** connections of shared subscription groups (shared-subscriptions.ts), apart from sessions' */
      const pinnedUpstreams = new Map<string, Upstream>();
      const open = (identity: { key: string | null; pinned: PinnedIdentity | null }, token: string, registry: Map<string | null, Upstream>) => {
        const { key: sessionKey, pinned } = identity;
        let socket: WebSocket | null = null;
        let sent = token;
        const renew = (fresh: string) => {
          if (fresh === sent || socket?.readyState !== WebSocket.OPEN) return;
          sent = fresh;
          socket.send(JSON.stringify({ type: 'ping', payload: { [IDENTITY_CONNECTION_PARAM]: fresh } }));
        };
        const follower = { renewed: (renewed: { token: string }) => renew(renewed.token) };
        const unfollow = pinned ? pinned.follow(follower) : live.follow(sessionKey, follower);
        const client = createClient({
          url,
          webSocketImpl: WebSocket,
          lazy: true,
          lazyCloseTimeout: 3_000,
          retryAttempts: 0,
          // signed now: the request's own token may have aged while its operation was planned
          connectionParams: async () => {
            sent = (pinned ? pinned.token() : await live.currentToken(sessionKey).catch(() => null)) ?? token;
            return { [IDENTITY_CONNECTION_PARAM]: sent };
          },
          on: {
            connected: (s) => void (socket = s as WebSocket),
            closed: () => {
              unfollow();
              if (registry.get(sessionKey)?.exec === upstream.exec) registry.delete(sessionKey);
            },
          },
        });
        const upstream = { exec: buildGraphQLWSExecutor(client), renew };
        registry.set(sessionKey, upstream);
        return upstream;
      };
      const executor = (request: ExecutionRequest) => {
        const context = request.context as { identityToken?: string; sessionKey?: string | null; pinnedIdentity?: PinnedIdentity } | undefined;
        const token = String(context?.identityToken ?? '');
        const pinned = context?.pinnedIdentity ?? null;
        const sessionKey = context?.sessionKey ?? null;
        const upstream = pinned
          ? (pinnedUpstreams.get(pinned.key) ?? open({ key: pinned.key, pinned }, token, pinnedUpstreams as Map<string | null, Upstream>))
          : (upstreams.get(sessionKey) ?? open({ key: sessionKey, pinned: null }, token, upstreams));
        // a newer identity than the connection's (the subgraph keeps whichever expires later)
        upstream.renew(token);
        return withReadableErrors(upstream.exec(request), transportEntry.subgraph ?? 'subgraph');
      };
      return Object.assign(executor, {
        async [Symbol.asyncDispose]() {
          await Promise.all([...upstreams.values(), ...pinnedUpstreams.values()].map((u) => u.exec[Symbol.asyncDispose]()));
          upstreams.clear();
          pinnedUpstreams.clear();
        },
      });
    },
  };
}
