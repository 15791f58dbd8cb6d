import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayRuntime, getGraphQLWSOptions, type GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';
import httpTransport from '@graphql-mesh/transport-http';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type pg from 'pg';
import { IDENTITY_HEADER, type Caller } from '../subgraphs/common/identity';
import { logger, requestScope } from '../subgraphs/common/logger';
import { exporterFromEnv, traceFrom } from '../subgraphs/common/tracing';
import { checkOperationInput, useBadInputChecks } from './bad-input';
import { BrowserRules } from './browser';
import { checkIntrospection, useIntrospectionPolicy } from './introspection';
import { SignIn, useSignIn, type SignInService } from './login';
import { lineageDownload } from './lineage-download';
import { isMonitorPath, serveMonitor } from './monitor';
import { GatewayMetrics, useMetrics } from './metrics';
import { PersistedOperations, readManifest, usePersistedOperations } from './persisted';
import { checkCost, checkTokens, depthAndAliasRule, estimateCost, limitsFromEnv, type OperationLimits } from './protection';
import { identityKey, RateLimiter } from './rate-limit';
import { SessionResolver, sessionKeyFromAuthorization, sessionKeyFromConnectionParams, sessionKeyFromCookie, sessionKeyFromHeaderRecord } from './sessions';
import { gatewaySettingsFromEnv, type GatewaySettings } from './settings';
import { subgraphWsTransport } from './subgraph-ws';
import { LiveSessions, sessionEnded, useLiveSessions } from './live-sessions';
import { gatewaySharedSubscriptions, subscriptionRequestOf } from './shared-subscriptions';
import { jsonMessageReplacer, spliceSharedPayloads } from '../subgraphs/common/ws-frames';
import { routingUrls, withRoutingUrls } from './supergraph';
import { Traces, useTracing } from './tracing';

export type QueryPlanner = 'native' | 'js';

export interface GatewayOptions {
  supergraphSdl: string;
  /** subgraph name → URL, replacing the composed routing URLs */
  subgraphUrls?: Record<string, string>;
  /** OMERO database, where sessions are resolved */
  omeroPool: pg.Pool;
  secret: string;
  /** session keys that never authenticate (production: the demo world's published ones) */
  refusedSessionKeys?: ReadonlySet<string>;
  port: number;
  host?: string;
  /** 'native': Hive's Rust query planner (default); 'js': the JavaScript planner */
  planner?: QueryPlanner;
  sessionCacheMs?: number;
  identityTtlSeconds?: number;
  limits?: Partial<OperationLimits>;
  /** overrides of the environment's settings (gateway/settings.ts) */
  settings?: Partial<GatewaySettings>;
  /**
   * false: no operation limits, persisted-operation handling or rate limit (the benchmark's
   * "protections off"); identity, masking and metrics stay. Default true.
   */
  protections?: boolean;
  /** answers login/logout instead of OMERO.web (npm start's demo mode only: gateway/demo-sign-in.ts) */
  signIn?: (sessions: SessionResolver) => SignInService;
}

const MAX_URL_BYTES = 16 * 1024;
/**
 * WebSocket close codes of our own, chosen for how graphql-ws clients react (docs/limits.md):
 * 4401 ends for good (the session is gone: a retry cannot succeed without a new key); 1013 "Try
 * Again Later" (RFC 6455) makes the client retry with its backoff, since a connection slot frees
 * as soon as another connection of the same identity closes. (graphql-ws treats 4429 as fatal.)
 */
export const WS_CLOSE = { sessionEnded: 4401, tooManyConnections: 1013 } as const;

export interface RunningGateway {
  url: string;
  port: number;
  metrics: GatewayMetrics;
  stop(): Promise<void>;
}

/** What the identity step adds to every gateway context. */
interface IdentityContext {
  caller: Caller;
  identityToken: string;
  /** the OMERO session key the request authenticated with (logout closes it) */
  sessionKey: string | null;
}

function unauthenticated(message = 'The OMERO session key is unknown, closed or expired.'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

/** Depth, alias, token and cost limits, checked before any subgraph is called (variables: bad-input.ts). */
function useOperationLimits(limits: OperationLimits): GatewayPlugin {
  const costOf = (args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: Record<string, unknown> | null }) =>
    estimateCost(args.schema, args.document, args.operationName, args.variableValues, limits);
  const stopIfTooCostly = ({
    args,
    setResultAndStopExecution,
  }: {
    args: Parameters<typeof costOf>[0];
    setResultAndStopExecution: (r: { errors: GraphQLError[] }) => void;
  }) => {
    try {
      checkCost(costOf(args), limits);
    } catch (err) {
      setResultAndStopExecution({ errors: [err as GraphQLError] });
    }
  };
  return {
    onParams({ params }) {
      if (typeof params.query === 'string') checkTokens(params.query, limits.maxTokens);
    },
    onValidate({ addValidationRule }) {
      addValidationRule(depthAndAliasRule(limits));
    },
    onExecute: ({ args, setResultAndStopExecution }) => stopIfTooCostly({ args, setResultAndStopExecution }),
    onSubscribe: ({ args, setResultAndStopExecution }) => stopIfTooCostly({ args, setResultAndStopExecution: (r) => setResultAndStopExecution(r as never) }),
  } as GatewayPlugin;
}

/** A subgraph that cannot be reached or answers too late: say which one, nothing more. */
function unavailableService(e: GraphQLError): GraphQLError | null {
  const service = (e.extensions?.serviceName ?? e.extensions?.subgraph) as string | undefined;
  const code = e.extensions?.code;
  // only the gateway's own transport errors, never a subgraph's answer that happens to say "network"
  const transportCode = code === undefined || code === 'SUBREQUEST_HTTP_ERROR' || code === 'DOWNSTREAM_SERVICE_ERROR';
  const transportFailure =
    transportCode && /ECONNREFUSED|ECONNRESET|fetch failed|socket hang up|other side closed|timed? ?out|aborted|network/i.test(e.message);
  if (!service || !(code === 'GATEWAY_TIMEOUT' || transportFailure)) return null;
  const timeout = code === 'GATEWAY_TIMEOUT' || /timed? ?out|aborted/i.test(e.message);
  return new GraphQLError(timeout ? `The ${service} service did not answer in time.` : `The ${service} service is unavailable.`, {
    nodes: e.nodes,
    source: e.source,
    positions: e.positions,
    path: e.path,
    extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: service },
  });
}

/**
 * Every error a client sees carries a code. Errors without one and without a path are request
 * errors (e.g. a variable of the wrong type): BAD_USER_INPUT. Internal errors carry the request id,
 * which the log lines of that request carry too.
 */
function withCodes(result: { errors?: readonly GraphQLError[] }, requestId: string | undefined): void {
  if (!result.errors) return;
  (result as { errors: GraphQLError[] }).errors = result.errors.map((e) => {
    const unavailable = unavailableService(e);
    if (unavailable) return unavailable;
    const code = e.extensions?.code ?? (e.path ? 'INTERNAL_SERVER_ERROR' : 'BAD_USER_INPUT');
    if (code === 'INTERNAL_SERVER_ERROR') {
      return new GraphQLError('Internal server error', {
        nodes: e.nodes,
        source: e.source,
        positions: e.positions,
        path: e.path,
        extensions: { code, requestId },
      });
    }
    // no session (or one a subgraph found closed): the same HTTP status as an unknown session key
    if (code === 'UNAUTHENTICATED' && !e.extensions?.http)
      return new GraphQLError(e.message, {
        nodes: e.nodes,
        source: e.source,
        positions: e.positions,
        path: e.path,
        originalError: e.originalError,
        extensions: { ...e.extensions, http: { status: 401 } },
      });
    if (e.extensions?.code) return e;
    return new GraphQLError(e.message, {
      nodes: e.nodes,
      source: e.source,
      positions: e.positions,
      path: e.path,
      originalError: e.originalError,
      extensions: { ...e.extensions, code },
    });
  });
}

function useErrorCodes(): GatewayPlugin {
  return {
    onExecutionResult({ result, request }: { result: unknown; request?: Request }) {
      const requestId = request?.headers.get('x-request-id') ?? requestScope.getStore()?.requestId;
      if (Array.isArray(result)) result.forEach((r) => withCodes(r, requestId));
      else if (result && typeof result === 'object' && !(Symbol.asyncIterator in result)) withCodes(result as { errors?: readonly GraphQLError[] }, requestId);
    },
  } as GatewayPlugin;
}

/**
 * A subgraph's error in a subscription event arrives as the plain object the subgraph sent over
 * graphql-ws, not as a GraphQLError: a coded one (BAD_USER_INPUT for a bad cursor, UNAUTHENTICATED,
 * SLOW_CONSUMER, …) keeps its message and code, like the same error of a query.
 */
function subgraphStreamError(error: unknown): GraphQLError | null {
  if (error instanceof GraphQLError || !error || typeof error !== 'object') return null;
  const { message, path, extensions } = error as { message?: unknown; path?: unknown; extensions?: Record<string, unknown> };
  const code = extensions?.code;
  if (typeof message !== 'string' || typeof code !== 'string' || code === 'INTERNAL_SERVER_ERROR') return null;
  return new GraphQLError(message, { path: Array.isArray(path) ? path : undefined, extensions });
}

/** Masking: anything that is not a coded GraphQL error reaches the client as INTERNAL_SERVER_ERROR with the request id; the log has the rest. */
function maskError(error: unknown): Error {
  const coded = subgraphStreamError(error);
  if (coded) return coded;
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (error instanceof GraphQLError && (!original || original instanceof GraphQLError || error.extensions?.code)) return error;
  const requestId = requestScope.getStore()?.requestId;
  logger.error({ err: original ?? error, path: (error as GraphQLError).path }, 'internal error');
  const located = error instanceof GraphQLError ? error : null;
  return new GraphQLError('Internal server error', { nodes: located?.nodes, path: located?.path, extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } });
}

/** The OMERO session key of an HTTP request: `Authorization: Bearer`, else the session cookie. */
function sessionKeyOf(headers: Headers, settings: GatewaySettings): string | null {
  return sessionKeyFromAuthorization(headers.get('authorization')) ?? sessionKeyFromCookie(headers.get('cookie'), settings.sessionCookie);
}

/**
 * Resolves the OMERO session key (`Authorization: Bearer`, else the session cookie) into a signed
 * identity for the subgraphs, then takes one token from the caller's rate-limit bucket.
 */
function useOmeroIdentity(sessions: SessionResolver, settings: GatewaySettings, limiter: RateLimiter): GatewayPlugin {
  return {
    async onContextBuilding({ context, extendContext }) {
      extendContext((await identify(sessions, settings, limiter, context)) as never);
    },
    // every subscription needs a caller; refused here, the anonymous stream would fail inside the subgraph transport
    onSubscribe({ args, setResultAndStopExecution }) {
      if (!(args.contextValue as Partial<IdentityContext>).caller)
        setResultAndStopExecution({ errors: [unauthenticated('Subscriptions need an OMERO session key (Authorization: Bearer <session uuid>).')] } as never);
    },
  } as GatewayPlugin;
}

/**
 * The caller's identity from the request's session key (an unknown or closed key is
 * UNAUTHENTICATED), after taking one token from their rate-limit bucket: every operation,
 * introspection included, goes through here.
 */
async function identify(sessions: SessionResolver, settings: GatewaySettings, limiter: RateLimiter, context: unknown): Promise<IdentityContext> {
  const ctx = context as Partial<IdentityContext> & { request?: Request; req?: IncomingMessage; params?: { extensions?: Record<string, unknown> } };
  // GraphiQL sends its Headers tab as the operation's extensions.headers (graphql-ws and SSE alike);
  // read here, the key goes no further (not to the subgraphs)
  const operationKey = sessionKeyFromHeaderRecord(ctx.params?.extensions?.headers);
  if (ctx.params?.extensions?.headers !== undefined) delete ctx.params.extensions.headers;
  const identity =
    ctx.identityToken && (operationKey === null || operationKey === ctx.sessionKey) // WebSocket connections resolved it at connection_init
      ? { caller: ctx.caller ?? null, identityToken: ctx.identityToken, sessionKey: ctx.sessionKey ?? null }
      : await (async () => {
          const authorization = ctx.request ? sessionKeyFromAuthorization(ctx.request.headers.get('authorization')) : null;
          const key = authorization ?? operationKey ?? (ctx.request ? sessionKeyOf(ctx.request.headers, settings) : null);
          const resolved = await sessions.tokenFor(key);
          if (!resolved) throw unauthenticated();
          return { caller: resolved.caller, identityToken: resolved.token, sessionKey: key };
        })();
  limiter.check(identityKey(identity.caller?.userId, ctx.req?.socket?.remoteAddress));
  return identity;
}

/** x-request-id from the client when it is a sane token, else a new one. */
function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && /^[\w.:-]{1,64}$/.test(given) ? given : randomUUID();
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const settings: GatewaySettings = {
    ...gatewaySettingsFromEnv(),
    ...(options.sessionCacheMs !== undefined ? { sessionCacheMs: options.sessionCacheMs } : {}),
    ...(options.identityTtlSeconds !== undefined ? { identityTtlSeconds: options.identityTtlSeconds } : {}),
    ...options.settings,
  };
  const sessions = new SessionResolver(options.omeroPool, {
    secret: options.secret,
    cacheMs: settings.sessionCacheMs,
    tokenTtlSeconds: settings.identityTtlSeconds,
    refusedKeys: options.refusedSessionKeys,
  });
  // subscriptions, client connections and subgraph connections follow their session (docs/identity.md)
  if (settings.identityTtlSeconds * 1000 <= settings.sessionCacheMs + settings.wsSessionCheckMs) {
    // a renewed token reaches an open subscription only that late: it must still be valid then
    throw new Error('IDENTITY_TTL_SECONDS must be longer than SESSION_CACHE_MS + WS_SESSION_CHECK_MS.');
  }
  const live = new LiveSessions(sessions);
  const signIn = options.signIn ? options.signIn(sessions) : new SignIn(settings.omeroWebUrl, sessions, { serverId: settings.omeroServerId });
  const protections = options.protections !== false;
  const limiter = new RateLimiter(protections ? settings.rateLimitPerSecond : 0, settings.rateLimitBurst);
  const loginLimiter = new RateLimiter(settings.loginRateLimitPerSecond, settings.loginRateLimitBurst);
  const metrics = new GatewayMetrics();
  const browser = new BrowserRules(settings.corsOrigins, settings.sessionCookie);
  const traces = new Traces(exporterFromEnv('omero-graph-gateway', settings.tracesExporterUrl));
  const manifest = settings.persistedOperations === 'trusted' ? readManifest(settings.trustedDocumentsFile) : undefined;
  const persisted = new PersistedOperations({
    mode: settings.persistedOperations,
    maxEntries: settings.apqMaxEntries,
    manifest,
    allowArbitrary: settings.allowArbitraryOperations,
  });
  const limits: OperationLimits = { ...limitsFromEnv(), ...options.limits };
  const supergraph = withRoutingUrls(options.supergraphSdl, options.subgraphUrls ?? {});
  const subgraphs = routingUrls(supergraph);

  /** the composed API schema, once the runtime exists (sign-in answers introspection with it) */
  let apiSchema: () => Promise<GraphQLSchema> = () => Promise.reject(new Error('gateway not started'));
  const runtime = createGatewayRuntime<IdentityContext>({
    supergraph: () => supergraph,
    transports: { http: httpTransport, ws: subgraphWsTransport(live) } as never,
    transportEntries: {
      // Apollo Server subgraphs serve subscriptions over graphql-ws, not SSE.
      '*.http': {
        options: {
          subscriptions: {
            kind: 'ws',
            location: '/graphql',
          },
        },
      },
    },
    propagateHeaders: {
      fromClientToSubgraphs: ({ context }) => ({ [IDENTITY_HEADER]: (context as Partial<IdentityContext>).identityToken }),
    },
    // A subgraph request that takes too long fails alone; subscriptions are long-lived by nature.
    upstreamTimeout: ({ executionRequest }) =>
      executionRequest?.operationType === 'subscription' || !settings.subgraphTimeoutMs ? undefined : settings.subgraphTimeoutMs,
    ...(options.planner === 'js' ? {} : { unifiedGraphHandler }),
    graphqlEndpoint: '/graphql',
    graphiql: settings.graphiql ? { title: 'omero-graph', subscriptionsProtocol: 'WS' } : false,
    renderGraphiQL,
    landingPage: false,
    // CORS is ours (gateway/browser.ts): the runtime's own would reflect any origin with credentials
    cors: false,
    maskedErrors: { maskError },
    logging: process.env.JEST_WORKER_ID ? false : 'warn',
    plugins: () => [
      useMetrics(metrics),
      useTracing(traces),
      useErrorCodes(),
      ...(protections ? [usePersistedOperations(persisted)] : []),
      // before anything recurses over the variables (the limits' cost estimate, the sign-in plugin)
      useBadInputChecks(protections ? settings.maxVariablesBytes : null),
      ...(protections ? [useOperationLimits(limits)] : []),
      // who may introspect (INTROSPECTION), before the sign-in plugin answers introspection
      useIntrospectionPolicy(settings.introspection, async (request) => (await sessions.tokenFor(sessionKeyOf(request.headers, settings)))?.caller ?? null),
      useSignIn(signIn, {
        sessionKeyOf: (request) => sessionKeyOf(request.headers, settings),
        throttle: (_request, context) => loginLimiter.check(`ip:${(context as { req?: IncomingMessage }).req?.socket?.remoteAddress ?? 'unknown'}`),
        // introspection is answered before the identity plugin: it takes a token here like any request
        identify: (request, context) => identify(sessions, settings, limiter, { ...(context as object), request }).then(() => undefined),
        // introspection runs where arbitrary operations may (not under trusted documents only)
        apiSchema: settings.persistedOperations !== 'trusted' || settings.allowArbitraryOperations ? () => apiSchema() : undefined,
      }),
      useOmeroIdentity(sessions, settings, limiter),
      useLiveSessions(live),
    ],
  });

  // Load the supergraph now: the WebSocket path asks for the schema without an HTTP request first.
  await runtime.getSchema();
  // graphql-ws subscribers of one operation, variables and session share one execution (docs/live-status.md)
  const shared = gatewaySharedSubscriptions(settings, metrics.registry, (await runtime.getSchema()) as GraphQLSchema);
  apiSchema = () => runtime.getSchema() as Promise<GraphQLSchema>;

  const readiness = async (): Promise<{ ok: boolean; checks: Record<string, string> }> => {
    const checks: Record<string, string> = {};
    await Promise.all([
      options.omeroPool.query('SELECT 1').then(
        () => void (checks.sessions = 'ok'),
        () => void (checks.sessions = 'unavailable'),
      ),
      ...Object.entries(subgraphs).map(async ([name, url]) => {
        try {
          const res = await fetch(url.replace(/\/graphql$/, '/readyz'), { signal: AbortSignal.timeout(2000) });
          checks[name] = res.ok ? 'ok' : 'unavailable';
        } catch {
          checks[name] = 'unavailable';
        }
      }),
    ]);
    return { ok: Object.values(checks).every((v) => v === 'ok'), checks };
  };

  const refuse = (res: ServerResponse, status: number, code: string, message: string) => {
    metrics.errors.inc({ code });
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      readiness().then(
        ({ ok, checks }) =>
          res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ready' : 'unavailable', checks })),
        () => res.writeHead(503).end(),
      );
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (err) => {
          logger.error({ err }, 'metrics failed');
          res.writeHead(500).end();
        },
      );
      return;
    }
    // the live monitor page: static, public, under its own Content-Security-Policy (gateway/monitor.ts)
    if (isMonitorPath(path)) return void serveMonitor(req, res, settings).catch((err) => logger.error({ err }, 'monitor page failed'));
    // What a browser page may do (gateway/browser.ts): CORS, preflights, JSON bodies, CSRF
    const browserVerdict = browser.apply(req, res);
    if (browserVerdict === 'answered') return;
    if (browserVerdict) return refuse(res, browserVerdict.status, browserVerdict.code, browserVerdict.message);
    // Size limits before anything is read or parsed.
    if ((req.url ?? '').length > MAX_URL_BYTES) return refuse(res, 414, 'URI_TOO_LONG', `The URL is longer than ${MAX_URL_BYTES} bytes.`);
    if (path.startsWith('/lineage/')) {
      // downloads run the LineageExport operation through this runtime, with the caller's headers
      lineageDownload(req, res, (request) => Promise.resolve(runtime.fetch(request, { req } as never))).catch((err) => {
        logger.error({ err }, 'lineage download failed');
        if (!res.headersSent) refuse(res, 500, 'INTERNAL_SERVER_ERROR', 'The download failed.');
      });
      return;
    }
    if (req.method === 'POST') {
      const length = Number(req.headers['content-length']);
      if (req.headers['content-length'] === undefined) return refuse(res, 411, 'LENGTH_REQUIRED', 'POST requests must send Content-Length.');
      if (!Number.isFinite(length) || length > settings.maxBodyBytes)
        return refuse(res, 413, 'REQUEST_TOO_LARGE', `The request body is larger than ${settings.maxBodyBytes} bytes.`);
    }
    void runtime(req, res);
  };

  // Node refuses longer request heads (431) by itself; below that our own URL limit answers with a code.
  const server: Server = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    const requestId = requestIdOf(req);
    req.headers['x-request-id'] = requestId; // the runtime answers with it and passes it to subgraphs
    res.setHeader('x-request-id', requestId);
    const trace = traces.begin(requestId, traceFrom(req.headers.traceparent as string | undefined));
    res.once('close', () => traces.end(requestId, { 'http.method': req.method ?? '', 'http.status_code': res.statusCode }, res.statusCode >= 500));
    requestScope.run({ requestId, traceId: trace.traceId }, () => handle(req, res));
  });

  // Client subscriptions over graphql-ws; the session key travels in connection_init (or the cookie).
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
          () => Promise.resolve(wsOptions.subscribe!(args)),
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
          // the same request checks as HTTP's onParams: persisted operations, variables, tokens
          if (protections) payload = persisted.apply(payload as never);
          checkIntrospection(settings.introspection, payload.query, connections.get(ctx.extra.socket)?.identity.caller);
          checkOperationInput(payload, protections ? settings.maxVariablesBytes : null);
          if (protections && typeof payload.query === 'string') checkTokens(payload.query, limits.maxTokens);
          return await (wsOptions.onSubscribe as (...a: unknown[]) => Promise<never>)(ctx, id, payload);
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

  // Open subscriptions (graphql-ws and SSE), client connections and subgraph connections follow
  // their session: a closed or expired one ends them with UNAUTHENTICATED (connections: 4401), a
  // re-signed identity reaches them, within SESSION_CACHE_MS + WS_SESSION_CHECK_MS.
  const sessionCheck = setInterval(() => void live.check(), Math.max(50, settings.wsSessionCheckMs));
  sessionCheck.unref();

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host && options.host !== '0.0.0.0' ? options.host : 'localhost'}:${port}/graphql`;
  logger.info({ persistedOperations: settings.persistedOperations, url }, 'gateway listening');
  return {
    url,
    port,
    metrics,
    async stop() {
      clearInterval(sessionCheck);
      await wsCleanup.dispose();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.dispose();
      await traces.exporter?.flush();
    },
  };
}
