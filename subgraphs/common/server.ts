import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer, HeaderMap, type BaseContext } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
} from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema, type GraphQLResolverMap } from '@apollo/subgraph';
import { GraphQLError, type ExecutionResult, type GraphQLFormattedError } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import { CallerAccess } from './access';
import { DEV_IDENTITY_SECRET, type ServiceName } from './config';
import { ConnectionIdentity } from './connection-identity';
import { errorBody, httpError, type ErrorCode } from './errors';
import { IDENTITY_CONNECTION_PARAM, IDENTITY_HEADER, IdentityRejected, signedWith, verifyIdentity, type Caller } from './identity';
import { logger, requestScope } from './logger';
import { registerEventLag } from './metrics';
import { isDevelopmentSecret } from './production';
import { loadSubgraphSdl } from './sdl';
import { compiledExecution } from './compiled-execution';
import { liveSharedFromEnv, SharedExecutions } from './shared-subscriptions';
import { jsonMessageReplacer, spliceSharedPayloads } from './ws-frames';
import { exporterFromEnv, newId, traceFrom } from './tracing';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { isDatabaseUnavailable } from './db';

/** What every resolver receives. `sources` are built per request, so their DataLoaders never leak between callers. */
/** How long a subgraph waits for a WebSocket's connection_init (docs/limits.md). */
export const SUBGRAPH_WS_INIT_TIMEOUT_MS = 15_000;

export interface SubgraphContext<S> extends BaseContext {
  caller: Caller;
  sources: S;
}

export interface SubgraphDefinition<S> {
  name: ServiceName;
  /**
   * Typed by the subgraph's generated `Resolvers` (schema/resolver-types.ts), not by @apollo/subgraph's
   * GraphQLResolverMap, whose field-resolver signature federation's __resolveReference does not fit.
   */
  resolvers: Record<string, object>;
  /** Per request (per operation on a WebSocket): sources scoped to the caller, `access` read at each use. */
  createSources(caller: Caller, access: CallerAccess): S;
  /**
   * Root Query fields whose answers are wide (thousands of objects): a query of only these runs as
   * code compiled for its document (compiled-execution.ts), not field by field on graphql-js.
   */
  compiledFields?: readonly string[];
  /** background work that must run before serving, e.g. the live-status tailer */
  start?(): Promise<void>;
  /** readiness: e.g. the database answers */
  ready?(): Promise<void>;
  close?(): Promise<void>;
}

export interface RunningService {
  name: string;
  port: number;
  url: string;
  stop(): Promise<void>;
}

/** Largest request body a subgraph accepts; the gateway enforces the client-facing limits. */
const MAX_BODY_BYTES = 4 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(httpError('BAD_USER_INPUT', 'Request body too large.'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Internal errors never reach clients with their message, stack or SQL: only the log has them. */
export function maskError(name: string) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const original = unwrapResolverError(error);
    const code = formatted.extensions?.code;
    if (original instanceof GraphQLError && code && code !== 'INTERNAL_SERVER_ERROR') {
      const { stacktrace: _dropped, ...extensions } = formatted.extensions ?? {};
      return { ...formatted, extensions };
    }
    if (isDatabaseUnavailable(original)) {
      // a database restarting or failing over: the client should retry, not report a bug
      logger.warn({ service: name, err: original, path: formatted.path }, 'database unavailable');
      return {
        message: `The ${name} service cannot reach its database right now; retry shortly.`,
        path: formatted.path,
        locations: formatted.locations,
        extensions: { code: 'SERVICE_UNAVAILABLE' satisfies ErrorCode, serviceName: name },
      };
    }
    logger.error({ service: name, err: original, path: formatted.path }, 'resolver failed');
    return {
      message: 'Internal server error',
      path: formatted.path,
      locations: formatted.locations,
      extensions: { code: 'INTERNAL_SERVER_ERROR' satisfies ErrorCode },
    };
  };
}

export async function startSubgraph<S>(
  definition: SubgraphDefinition<S>,
  options: {
    port: number;
    host?: string;
    secret: string;
    /** npm start over the demo world: the only place the published development secret is accepted */
    demo?: boolean;
  },
): Promise<RunningService> {
  const { name } = definition;
  if (isDevelopmentSecret(options.secret) && !options.demo) {
    await definition.close?.().catch(() => undefined);
    throw new Error(`${name}: the published development secret is accepted in demo mode only; set IDENTITY_SECRET.`);
  }
  // says why a direct caller holding the published secret is refused (never accepted: the check above)
  const verifyCaller = (token: string | undefined | null): Caller => {
    try {
      return verifyIdentity(token, options.secret);
    } catch (err) {
      if (err instanceof IdentityRejected && !isDevelopmentSecret(options.secret) && token && signedWith(token, DEV_IDENTITY_SECRET)) {
        throw new IdentityRejected('identity signed with the published development secret, accepted in demo mode only');
      }
      throw err;
    }
  };
  try {
    await definition.start?.();
  } catch (err) {
    await definition.close?.().catch(() => undefined); // e.g. stop the tailer that began retrying
    throw err;
  }
  const schema = buildSubgraphSchema([{ typeDefs: loadSubgraphSdl(name), resolvers: definition.resolvers as GraphQLResolverMap<unknown> }]);
  const apollo = new ApolloServer<SubgraphContext<S>>({
    ...(definition.compiledFields?.length ? { gateway: compiledExecution(schema, definition.compiledFields) } : { schema }),
    includeStacktraceInErrorResponses: false,
    formatError: maskError(name),
    // Subgraphs are reached by the gateway only: no landing page, no Apollo usage traces, and no
    // cache-control hints (the gateway does not read them; the plugin wraps every field resolver:
    // a quarter of a 5,475-bucket workflowStatistics answer's time, bench:statistics)
    plugins: [ApolloServerPluginInlineTraceDisabled(), ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled()],
    // our entry points stop on SIGTERM themselves; Apollo's own handler (on unless NODE_ENV=test)
    // would re-raise the signal and cut their clean shutdown short
    stopOnTerminationSignals: false,
  });
  await apollo.start();

  const contextFor = (caller: Caller): SubgraphContext<S> => ({ caller, sources: definition.createSources(caller, new CallerAccess(() => caller)) });

  // Prometheus metrics of this process at /metrics: request latency and, where a live-status
  // tailer runs, the event lag behind the database (docs/observability.md).
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: `omero_graph_${name}_` });
  registerEventLag(registry);
  const latency = new Histogram({
    name: 'omero_graph_subgraph_request_duration_seconds',
    help: 'HTTP requests served by this subgraph',
    labelNames: ['subgraph'],
    buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const exporter = exporterFromEnv(`omero-graph-${name}`);
  // live events executed once per (document, variables, scope) and fanned out (shared-subscriptions.ts)
  const liveResults = new Counter({
    name: 'omero_graph_live_results_total',
    help: 'live subscription results: executions of an event, and deliveries to subscribers (shared: fewer executions than deliveries)',
    labelNames: ['subgraph', 'kind'],
    registers: [registry],
  });
  const shared = new SharedExecutions({ enabled: liveSharedFromEnv(), contextFor, counted: (kind) => liveResults.inc({ subgraph: name, kind }) });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://subgraph');
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (url.pathname === '/metrics') {
      res.writeHead(200, { 'content-type': registry.contentType }).end(await registry.metrics());
      return;
    }
    if (url.pathname === '/readyz') {
      try {
        await definition.ready?.();
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
      } catch (err) {
        logger.warn({ service: name, err }, 'not ready');
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"status":"unavailable"}');
      }
      return;
    }
    if (url.pathname !== '/graphql') {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"Not found"}');
      return;
    }
    const headers = new HeaderMap();
    for (const [key, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(key, Array.isArray(value) ? value.join(', ') : value);
    }
    let body: unknown;
    try {
      const text = req.method === 'POST' ? await readBody(req) : '';
      body = text ? JSON.parse(text) : undefined;
    } catch (err) {
      const message = err instanceof GraphQLError ? err.message : 'Request body is not valid JSON.';
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(errorBody('BAD_USER_INPUT', message));
      return;
    }
    const response = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
      context: async () => {
        try {
          return contextFor(verifyCaller(headers.get(IDENTITY_HEADER)));
        } catch (err) {
          if (err instanceof IdentityRejected) {
            throw httpError('UNAUTHENTICATED', `Requests must come through the gateway (${err.message}).`);
          }
          throw err;
        }
      },
    });
    for (const [key, value] of response.headers) res.setHeader(key, value);
    res.statusCode = response.status ?? 200;
    if (response.body.kind === 'complete') {
      res.end(response.body.string);
    } else {
      for await (const chunk of response.body.asyncIterator) res.write(chunk);
      res.end();
    }
  };

  const server: Server = createServer((req, res) => {
    // The gateway's request id and trace context travel on: our log lines and span carry them.
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && /^[\w.:-]{1,64}$/.test(given) ? given : undefined;
    const trace = traceFrom(req.headers.traceparent as string | undefined);
    const spanId = newId(8);
    const start = Date.now();
    res.once('close', () => {
      latency.observe({ subgraph: name }, (Date.now() - start) / 1000);
      if (exporter && trace.sampled && req.url?.startsWith('/graphql')) {
        exporter.add({
          traceId: trace.traceId,
          spanId,
          parentSpanId: trace.parentSpanId,
          name: `${name} ${req.method} /graphql`,
          kind: 2,
          start,
          end: Date.now(),
          attributes: { 'graphql.subgraph': name, ...(requestId ? { 'request.id': requestId } : {}), 'http.status_code': res.statusCode },
          error: res.statusCode >= 500,
        });
      }
    });
    void requestScope.run({ requestId, traceId: trace.traceId }, () =>
      handle(req, res).catch((err) => {
        logger.error({ service: name, err }, 'request failed');
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"errors":[{"message":"Internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}');
      }),
    );
  });

  // Subscriptions: graphql-ws (graphql-transport-ws) on the same path; identity in connection_init,
  // renewed by the gateway in ping payloads while the connection lasts (ConnectionIdentity).
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const identities = new WeakMap<object, ConnectionIdentity>();
  const wsCleanup = useServer<Record<string, unknown>>(
    {
      schema,
      subscribe: shared.subscribe,
      // the same result object for every subscriber of a shared execution: serialised once (ws-frames.ts)
      onNext: (_ctx, _id, _payload, _args, result) => result as never,
      jsonMessageReplacer,
      // the gateway is the one client here: a busy one opening a burst of connections may send
      // connection_init late, and closing them (4408) would end every subscription they carry
      connectionInitWaitTimeout: SUBGRAPH_WS_INIT_TIMEOUT_MS,
      onConnect: (ctx) => {
        spliceSharedPayloads(ctx.extra.socket);
        try {
          identities.set(ctx.extra.socket, new ConnectionIdentity(ctx.connectionParams?.[IDENTITY_CONNECTION_PARAM] as string | undefined, options.secret));
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      onPing: (ctx, payload) => identities.get(ctx.extra.socket)?.renew(payload?.[IDENTITY_CONNECTION_PARAM]),
      onSubscribe: (ctx) => {
        const refusal = identities.get(ctx.extra.socket)?.refusal;
        if (refusal) return [refusal];
      },
      context: (ctx) => {
        const identity = identities.get(ctx.extra.socket)!;
        // `caller` is read at each use: a renewed identity (e.g. a group left) applies to open subscriptions
        return {
          get caller() {
            return identity.caller;
          },
          sources: definition.createSources(identity.caller, new CallerAccess(() => identity.caller)),
        } satisfies SubgraphContext<S>;
      },
      onOperation: (ctx, _id, _payload, _args, result) => {
        if (Symbol.asyncIterator in Object(result)) return identities.get(ctx.extra.socket)!.follow(result as AsyncIterable<ExecutionResult>);
      },
      onClose: (ctx) => identities.get(ctx.extra.socket)?.close(),
    },
    wss,
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1'}:${port}/graphql`;
  logger.info({ service: name, url }, 'subgraph listening');

  let stopping: Promise<void> | null = null;
  const stop = async () => {
    await wsCleanup.dispose();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await apollo.stop();
    await definition.close?.();
    await exporter?.flush();
  };
  return {
    name,
    port,
    url,
    stop: () => (stopping ??= stop()),
  };
}
