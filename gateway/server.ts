import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createGatewayRuntime, getGraphQLWSOptions, type GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { unifiedGraphHandler } from '@graphql-hive/router-runtime';
import httpTransport from '@graphql-mesh/transport-http';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import { GraphQLError, type DocumentNode, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer } from 'ws';
import type pg from 'pg';
import { intFromEnv } from '../subgraphs/common/config';
import { IDENTITY_HEADER, type Caller } from '../subgraphs/common/identity';
import { logger } from '../subgraphs/common/logger';
import { checkCost, checkTokens, depthAndAliasRule, estimateCost, limitsFromEnv, type OperationLimits } from './protection';
import { subgraphWsTransport } from './subgraph-ws';
import { SessionResolver, sessionKeyFromAuthorization, sessionKeyFromConnectionParams } from './sessions';
import { routingUrls, withRoutingUrls } from './supergraph';

export type QueryPlanner = 'native' | 'js';

export interface GatewayOptions {
  supergraphSdl: string;
  /** subgraph name → URL, replacing the composed routing URLs */
  subgraphUrls?: Record<string, string>;
  /** OMERO database, where sessions are resolved */
  omeroPool: pg.Pool;
  secret: string;
  port: number;
  host?: string;
  /** 'native': Hive's Rust query planner (default); 'js': the JavaScript planner */
  planner?: QueryPlanner;
  sessionCacheMs?: number;
  identityTtlSeconds?: number;
  limits?: Partial<OperationLimits>;
}

/** Request size limits (docs/limits.md). */
const MAX_BODY_BYTES = intFromEnv(process.env, 'MAX_BODY_BYTES', 1024 * 1024);
const MAX_VARIABLES_BYTES = intFromEnv(process.env, 'MAX_VARIABLES_BYTES', 256 * 1024);
const MAX_URL_BYTES = 16 * 1024;

function refuse(res: import('node:http').ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}

export interface RunningGateway {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** What the identity step adds to every gateway context. */
interface IdentityContext {
  caller: Caller;
  identityToken: string;
}

function unauthenticated(): GraphQLError {
  return new GraphQLError('The OMERO session key is unknown, closed or expired.', { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

/** Depth, alias, token, cost and variables-size limits, checked before any subgraph is called. */
function useOperationLimits(limits: OperationLimits, maxVariablesBytes: number): GatewayPlugin {
  const costOf = (args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: Record<string, unknown> | null }) =>
    estimateCost(args.schema, args.document, args.operationName, args.variableValues, limits);
  const stopIfTooCostly = ({ args, setResultAndStopExecution }: { args: Parameters<typeof costOf>[0]; setResultAndStopExecution: (r: { errors: GraphQLError[] }) => void }) => {
    try {
      checkCost(costOf(args), limits);
    } catch (err) {
      setResultAndStopExecution({ errors: [err as GraphQLError] });
    }
  };
  return {
    onParams({ params }) {
      if (typeof params.query === 'string') checkTokens(params.query, limits.maxTokens);
      if (params.variables && JSON.stringify(params.variables).length > maxVariablesBytes) {
        throw new GraphQLError(`Variables are larger than ${maxVariablesBytes} bytes.`, { extensions: { code: 'VARIABLES_TOO_LARGE', http: { status: 413 } } });
      }
    },
    onValidate({ addValidationRule }) {
      addValidationRule(depthAndAliasRule(limits));
    },
    onExecute: ({ args, setResultAndStopExecution }) => stopIfTooCostly({ args, setResultAndStopExecution }),
    onSubscribe: ({ args, setResultAndStopExecution }) => stopIfTooCostly({ args, setResultAndStopExecution: (r) => setResultAndStopExecution(r as never) }),
  } as GatewayPlugin;
}

/**
 * Every error a client sees carries a code. Errors without one and without a path are request
 * errors (e.g. a variable of the wrong type): BAD_USER_INPUT.
 */
function withCodes(result: { errors?: readonly GraphQLError[] }): void {
  if (!result.errors) return;
  (result as { errors: GraphQLError[] }).errors = result.errors.map((e) =>
    e.extensions?.code ? e : new GraphQLError(e.message, { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path, originalError: e.originalError, extensions: { ...e.extensions, code: e.path ? 'INTERNAL_SERVER_ERROR' : 'BAD_USER_INPUT' } }),
  );
}

function useErrorCodes(): GatewayPlugin {
  return {
    onExecutionResult({ result }) {
      if (Array.isArray(result)) result.forEach(withCodes);
      else if (result && typeof result === 'object' && !(Symbol.asyncIterator in result)) withCodes(result as { errors?: readonly GraphQLError[] });
    },
  } as GatewayPlugin;
}

/** Resolves `Authorization: Bearer <OMERO session uuid>` into a signed identity for the subgraphs. */
function useOmeroIdentity(sessions: SessionResolver): GatewayPlugin {
  return {
    async onContextBuilding({ context, extendContext }) {
      const ctx = context as Partial<IdentityContext> & { request?: Request };
      if (ctx.identityToken) return; // WebSocket connections resolved it at connection_init
      const key = sessionKeyFromAuthorization(ctx.request?.headers.get('authorization'));
      const resolved = await sessions.tokenFor(key);
      if (!resolved) throw unauthenticated();
      extendContext({ caller: resolved.caller, identityToken: resolved.token } as never);
    },
  };
}

export async function startGateway(options: GatewayOptions): Promise<RunningGateway> {
  const sessions = new SessionResolver(options.omeroPool, {
    secret: options.secret,
    cacheMs: options.sessionCacheMs ?? intFromEnv(process.env, 'SESSION_CACHE_MS', 5_000),
    tokenTtlSeconds: options.identityTtlSeconds ?? intFromEnv(process.env, 'IDENTITY_TTL_SECONDS', 300),
  });
  const supergraph = withRoutingUrls(options.supergraphSdl, options.subgraphUrls ?? {});
  const subgraphs = routingUrls(supergraph);

  const runtime = createGatewayRuntime<IdentityContext>({
    supergraph: () => supergraph,
    transports: { http: httpTransport, ws: subgraphWsTransport } as never,
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
    ...(options.planner === 'js' ? {} : { unifiedGraphHandler }),
    graphqlEndpoint: '/graphql',
    graphiql: { title: 'omero-graph', subscriptionsProtocol: 'WS' },
    renderGraphiQL,
    landingPage: false,
    maskedErrors: true,
    logging: process.env.JEST_WORKER_ID ? false : 'warn',
    plugins: () => [useErrorCodes(), useOperationLimits({ ...limitsFromEnv(), ...options.limits }, MAX_VARIABLES_BYTES), useOmeroIdentity(sessions)],
  });

  // Load the supergraph now: the WebSocket path asks for the schema without an HTTP request first.
  await runtime.getSchema();

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

  // Node refuses longer request heads (431) by itself; below that our own URL limit answers with a code.
  const server: Server = createServer({ maxHeaderSize: 64 * 1024 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      return;
    }
    if (path === '/readyz') {
      readiness().then(
        ({ ok, checks }) => res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ready' : 'unavailable', checks })),
        () => res.writeHead(503).end(),
      );
      return;
    }
    // Size limits before anything is read or parsed.
    if ((req.url ?? '').length > MAX_URL_BYTES) return refuse(res, 414, 'URI_TOO_LONG', `The URL is longer than ${MAX_URL_BYTES} bytes.`);
    if (req.method === 'POST') {
      const length = Number(req.headers['content-length']);
      if (req.headers['content-length'] === undefined) return refuse(res, 411, 'LENGTH_REQUIRED', 'POST requests must send Content-Length.');
      if (!Number.isFinite(length) || length > MAX_BODY_BYTES) return refuse(res, 413, 'REQUEST_TOO_LARGE', `The request body is larger than ${MAX_BODY_BYTES} bytes.`);
    }
    void runtime(req, res);
  });

  // Client subscriptions over graphql-ws; the session key travels in connection_init.
  const wss = new WebSocketServer({ server, path: '/graphql' });
  const connections = new WeakMap<object, IdentityContext>();
  const wsOptions = getGraphQLWSOptions<IdentityContext, { request: IncomingMessage; socket: object }>(runtime, (ctx) => {
    const identity = connections.get(ctx.extra.socket);
    const headers = new Headers();
    for (const [k, v] of Object.entries(ctx.extra.request.headers)) if (typeof v === 'string') headers.set(k, v);
    return { ...identity, req: ctx.extra.request, socket: ctx.extra.socket, request: new Request('http://gateway/graphql', { headers }) };
  });
  const wsCleanup = useServer(
    {
      ...wsOptions,
      onConnect: async (ctx) => {
        const resolved = await sessions.tokenFor(sessionKeyFromConnectionParams(ctx.connectionParams));
        if (!resolved) return false; // 4403 Forbidden
        connections.set(ctx.extra.socket, { caller: resolved.caller, identityToken: resolved.token });
        return true;
      },
    },
    wss,
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${options.host && options.host !== '0.0.0.0' ? options.host : 'localhost'}:${port}/graphql`;
  logger.info({ url }, 'gateway listening');
  return {
    url,
    port,
    async stop() {
      await wsCleanup.dispose();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await runtime.dispose();
    },
  };
}
