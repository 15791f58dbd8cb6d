import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayRuntime, type GatewayRuntime } from '@graphql-hive/gateway-runtime';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';
import httpTransport from '@graphql-mesh/transport-http';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { GraphQLSchema } from 'graphql';
import type pg from 'pg';
import { IDENTITY_HEADER } from '../subgraphs/common/identity';
import { logger, requestScope } from '../subgraphs/common/logger';
import { exporterFromEnv, traceFrom } from '../subgraphs/common/tracing';
import { OperationAdmission, useAdmission } from './admission';
import { BrowserRules } from './browser';
import { useIntrospectionPolicy } from './introspection';
import { SignIn, useSignIn, type SignInService } from './login';
import { lineageDownload } from './lineage-download';
import { isMonitorPath, serveMonitor } from './monitor';
import { GatewayMetrics, useMetrics } from './metrics';
import { PersistedOperations, readManifest } from './persisted';
import { limitsFromEnv, useOperationLimits, type OperationLimits } from './protection';
import { maskError, useErrorCodes } from './error-codes';
import { identify, sessionKeyOf, useOmeroIdentity, type IdentityContext } from './identity';
import { RateLimiter } from './rate-limit';
import { SessionResolver } from './sessions';
import { gatewaySettingsFromEnv, type GatewaySettings } from './settings';
import { subgraphWsTransport } from './subgraph-ws';
import { LiveSessions, useLiveSessions } from './live-sessions';
import { gatewaySharedSubscriptions } from './shared-subscriptions';
import { routingUrls, withRoutingUrls } from './supergraph';
import { Traces, useTracing } from './tracing';
import { startWsEndpoint } from './ws-endpoint';

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

export interface RunningGateway {
  url: string;
  port: number;
  metrics: GatewayMetrics;
  stop(): Promise<void>;
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
  // one admission path for HTTP, SSE and graphql-ws operations (admission.ts)
  const admission = new OperationAdmission({
    persisted: protections ? persisted : null,
    maxVariablesBytes: protections ? settings.maxVariablesBytes : null,
    maxTokens: protections ? limits.maxTokens : null,
  });
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
      // before anything recurses over the variables (the limits' cost estimate, the sign-in plugin)
      useAdmission(admission),
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
  await warmUp(runtime);
  // graphql-ws subscribers of one operation, variables and access scope share one execution (docs/live-status.md)
  const shared = gatewaySharedSubscriptions(settings, metrics.registry, (await runtime.getSchema()) as GraphQLSchema, {
    live,
    supergraphSdl: options.supergraphSdl,
  });
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

  // client subscriptions over graphql-ws on the same port (ws-endpoint.ts)
  const ws = startWsEndpoint({ server, runtime, settings, sessions, live, limiter, metrics, browser, shared, admission });

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
      await ws.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.dispose();
      await traces.exporter?.flush();
    },
  };
}

/**
 * One anonymous operation through the runtime before the gateway serves: the query planner builds
 * its subgraph executors on the first subgraph fetch (≈ 400 ms of CPU in bench:live's opening of
 * 1,000 subscriptions, docs/performance.md), which would otherwise fall on the first users. The
 * omero subgraph answers it UNAUTHENTICATED and nothing else happens; a subgraph that is down
 * changes nothing (the executors are built before the fetch), and where only trusted documents
 * run, admission refuses it and the first operation builds them as before.
 */
async function warmUp(runtime: GatewayRuntime<IdentityContext>): Promise<void> {
  const request = new Request('http://gateway/graphql', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: '{ me { id } }' }),
    signal: AbortSignal.timeout(5_000),
  });
  await Promise.resolve(runtime.fetch(request))
    .then((res) => res.text())
    .catch(() => undefined);
}
