import type { IncomingMessage, Server } from 'node:http';
import { getGraphQLWSOptions, type GatewayRuntime } from '@graphql-hive/gateway-runtime';
import { GraphQLError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import { directFrames, jsonMessageReplacer, spliceSharedPayloads } from '../subgraphs/common/ws-frames';
import type { OperationAdmission } from './admission';
import type { BrowserRules } from './browser';
import type { IdentityContext } from './identity';
import { checkIntrospection } from './introspection';
import { sessionEnded, type LiveSessions } from './live-sessions';
import type { GatewayMetrics } from './metrics';
import { identityKey, type RateLimiter } from './rate-limit';
import { sessionKeyFromConnectionParams, sessionKeyFromCookie, type SessionResolver } from './sessions';
import type { GatewaySettings } from './settings';
import { subscriptionRequestOf, type SharedSubscriptions } from './shared-subscriptions';

/**
 * WebSocket close codes of our own, chosen for how graphql-ws clients react (docs/limits.md):
 * 4401 ends for good (the session is gone: a retry cannot succeed without a new key); 1013 "Try
 * Again Later" (RFC 6455) makes the client retry with its backoff, since a connection slot frees
 * as soon as another connection of the same identity closes. (graphql-ws treats 4429 as fatal.)
 */
const WS_CLOSE = { sessionEnded: 4401, tooManyConnections: 1013 } as const;

export interface WsEndpointDeps {
  server: Server;
  /** the gateway runtime (Hive): executes each operation */
  runtime: GatewayRuntime<IdentityContext>;
  settings: GatewaySettings;
  sessions: SessionResolver;
  live: LiveSessions;
  limiter: RateLimiter;
  metrics: GatewayMetrics;
  browser: BrowserRules;
  shared: SharedSubscriptions;
  admission: OperationAdmission;
}

/**
 * The gateway's graphql-ws endpoint on `/graphql`: the browser rules at the upgrade, the session
 * key from `connection_init` (or the cookie) resolved once per connection, connections per
 * identity and operations per connection bounded (docs/limits.md), each operation through the
 * same admission as HTTP (admission.ts), subscriptions shared per operation, variables and
 * access scope (shared-subscriptions.ts), and the connection following its session (live-sessions.ts).
 */
export function startWsEndpoint(deps: WsEndpointDeps): { close(): Promise<void> } {
  const { server, runtime, settings, sessions, live, limiter, metrics, browser, shared, admission } = deps;
  interface Connection {
    identity: IdentityContext;
    /** rate-limit and connection-count key */
    key: string;
    /** its session ended: closed with 4401 once its operations have delivered their UNAUTHENTICATED */
    ended: boolean;
    unfollow(): void;
  }
  const wss = new WebSocketServer({
    server,
    path: '/graphql',
    maxPayload: settings.maxBodyBytes,
    // the same browser rules as HTTP: no session cookie from a foreign origin
    verifyClient: ({ req }, done) => {
      const refusal = browser.upgradeRefusal(req);
      if (refusal) metrics.errors.inc({ code: refusal.code });
      done(!refusal, refusal?.status, refusal?.message);
    },
  });
  const connections = new Map<WebSocket, Connection>();
  const perIdentity = new Map<string, number>();
  const wsOptions = getGraphQLWSOptions<IdentityContext, { request: IncomingMessage; socket: WebSocket }>(runtime, (ctx) => {
    const identity = connections.get(ctx.extra.socket)?.identity;
    const headers = new Headers();
    for (const [k, v] of Object.entries(ctx.extra.request.headers)) if (typeof v === 'string') headers.set(k, v);
    return { ...identity, req: ctx.extra.request, socket: ctx.extra.socket, request: new Request('http://gateway/graphql', { headers }) };
  });
  const release = (socket: WebSocket) => {
    const connection = connections.get(socket);
    if (!connection) return;
    connections.delete(socket);
    connection.unfollow();
    metrics.wsConnections.dec();
    const left = (perIdentity.get(connection.key) ?? 1) - 1;
    if (left > 0) perIdentity.set(connection.key, left);
    else perIdentity.delete(connection.key);
  };
  const wsCleanup = useServer<Record<string, unknown>, { request: IncomingMessage; socket: WebSocket }>(
    {
      ...(wsOptions as object),
      subscribe: (args) =>
        shared.subscribe(
          subscriptionRequestOf(args.contextValue),
          // a scope group's execution: its own context fields (pinned identity) or parameters (`after`)
          (override) =>
            Promise.resolve(
              wsOptions.subscribe!(
                override
                  ? {
                      ...args,
                      contextValue: { ...(args.contextValue as object), ...override.context, ...(override.params ? { params: override.params } : {}) },
                    }
                  : args,
              ),
            ),
          () => {
            const context = args.contextValue as Partial<IdentityContext> & { req?: IncomingMessage };
            limiter.check(identityKey(context.caller?.userId, context.req?.socket?.remoteAddress)); // what an execution would take
          },
        ) as never,
      jsonMessageReplacer,
      connectionInitWaitTimeout: settings.wsConnectionInitTimeoutMs,
      onConnect: async (ctx) => {
        spliceSharedPayloads(ctx.extra.socket);
        const sessionKey =
          sessionKeyFromConnectionParams(ctx.connectionParams) ?? sessionKeyFromCookie(ctx.extra.request.headers.cookie, settings.sessionCookie);
        const resolved = await sessions.tokenFor(sessionKey);
        if (!resolved) return false; // 4403 Forbidden
        const key = identityKey(resolved.caller?.userId, ctx.extra.request.socket.remoteAddress);
        const open = perIdentity.get(key) ?? 0;
        if (open >= settings.wsMaxConnectionsPerIdentity) {
          ctx.extra.socket.close(WS_CLOSE.tooManyConnections, `At most ${settings.wsMaxConnectionsPerIdentity} connections per identity`);
          return false;
        }
        perIdentity.set(key, open + 1);
        const connection: Connection = {
          identity: { caller: resolved.caller, identityToken: resolved.token, sessionKey },
          key,
          ended: false,
          unfollow: () => undefined,
        };
        const closeEnded = () => ctx.extra.socket.close(WS_CLOSE.sessionEnded, 'Session closed or expired');
        connection.unfollow = live.follow(sessionKey, {
          renewed: ({ caller, token }) => void (connection.identity = { ...connection.identity, caller, identityToken: token }), // for new operations
          ended: () => {
            connection.ended = true;
            if (Object.keys(ctx.subscriptions).length === 0) closeEnded();
          },
        });
        connections.set(ctx.extra.socket, connection);
        metrics.wsConnections.inc();
        // freed when the socket closes, not in onClose: graphql-ws runs onClose only after every
        // operation has ended, which a quiet subscription may never do (docs/limits.md)
        ctx.extra.socket.once('close', () => release(ctx.extra.socket));
        if (ctx.extra.socket.readyState >= ctx.extra.socket.CLOSING) release(ctx.extra.socket); // left while we resolved the session
        return true;
      },
      onClose: (ctx) => release(ctx.extra.socket),
      // an HTTP status in an error's extensions (UNAUTHENTICATED's 401, …) is for HTTP responses only
      onNext: (_ctx, _id, _payload, _args, result) =>
        result.errors?.some((e) => e.extensions?.http)
          ? { ...result, errors: result.errors.map((e) => ({ ...e.toJSON(), extensions: { ...e.extensions, http: undefined } })) }
          : result, // the result itself: a shared result is serialised once (ws-frames.ts)
      onComplete: (ctx) => {
        // the last operation of an ended session has sent its UNAUTHENTICATED result
        if (connections.get(ctx.extra.socket)?.ended && Object.keys(ctx.subscriptions).length <= 1)
          ctx.extra.socket.close(WS_CLOSE.sessionEnded, 'Session closed or expired');
      },
      onSubscribe: async (ctx, id, payload) => {
        if (connections.get(ctx.extra.socket)?.ended) return [sessionEnded()];
        // graphql-ws holds this operation in ctx.subscriptions already
        if (Object.keys(ctx.subscriptions).length > settings.wsMaxOperationsPerConnection) {
          metrics.errors.inc({ code: 'SUBSCRIPTION_LIMIT_EXCEEDED' });
          return [
            new GraphQLError(`At most ${settings.wsMaxOperationsPerConnection} operations per connection at a time.`, {
              extensions: { code: 'SUBSCRIPTION_LIMIT_EXCEEDED' },
            }),
          ];
        }
        metrics.requests.inc({ operation: metrics.operationLabel(payload.operationName), transport: 'ws' });
        try {
          // the same admission as HTTP's (admission.ts), then who may introspect
          payload = admission.admit(payload as never);
          checkIntrospection(settings.introspection, payload.query, connections.get(ctx.extra.socket)?.identity.caller);
          const args = await (wsOptions.onSubscribe as (...a: unknown[]) => Promise<{ contextValue: Record<string, unknown> }>)(ctx, id, payload);
          // a shared subscription's results may be written straight to this socket (ws-frames.ts)
          args.contextValue.directFrames = directFrames(ctx.extra.socket, id);
          return args as never;
        } catch (err) {
          // a coded error (e.g. RATE_LIMITED while building the context) goes to this operation only
          if (err instanceof GraphQLError) {
            metrics.errors.inc({ code: String(err.extensions?.code ?? 'UNKNOWN') });
            const { http: _status, ...extensions } = err.extensions ?? {}; // an HTTP status means nothing here
            return [new GraphQLError(err.message, { extensions })] as never;
          }
          throw err;
        }
      },
    },
    wss,
  );

  return {
    async close() {
      await wsCleanup.dispose();
      wss.close();
    },
  };
}
