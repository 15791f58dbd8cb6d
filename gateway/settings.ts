import { join } from 'node:path';
import { projectRoot } from '../database/paths';
import { intFromEnv } from '../subgraphs/common/config';
import { originsFromList } from './browser';
import { isProduction } from '../subgraphs/common/production';
import { liveSharedFromEnv } from '../subgraphs/common/shared-subscriptions';

/**
 * Every gateway setting in one place (docs/configuration.md, gateway section). Tests pass
 * overrides; production reads the environment.
 */
export type PersistedOperationsMode = 'apq' | 'trusted' | 'off';

export interface GatewaySettings {
  sessionCacheMs: number;
  identityTtlSeconds: number;
  maxBodyBytes: number;
  maxVariablesBytes: number;
  /** token bucket per identity (anonymous: per IP); 0 turns the rate limit off */
  rateLimitPerSecond: number;
  rateLimitBurst: number;
  /** sign-in attempts per client address (token bucket), against password guessing */
  loginRateLimitPerSecond: number;
  loginRateLimitBurst: number;
  wsMaxConnectionsPerIdentity: number;
  wsMaxOperationsPerConnection: number;
  wsConnectionInitTimeoutMs: number;
  /** how often the sessions of open WebSocket connections are checked again */
  wsSessionCheckMs: number;
  /** a subgraph request taking longer fails, costing only that subgraph's fields */
  subgraphTimeoutMs: number;
  persistedOperations: PersistedOperationsMode;
  /** trusted mode: hash → document manifest (npm run manifest) */
  trustedDocumentsFile: string;
  /** trusted mode: allow arbitrary operations anyway (development, e.g. GraphiQL) */
  allowArbitraryOperations: boolean;
  apqMaxEntries: number;
  /** OTLP/HTTP JSON traces endpoint, e.g. http://collector:4318/v1/traces; empty: tracing off */
  tracesExporterUrl: string;
  /** name of the cookie that may carry the OMERO session key */
  sessionCookie: string;
  /** origins whose pages may call the gateway with the user's cookie (CORS); empty: same origin only */
  corsOrigins: string[];
  /** OMERO.web base URL for login/logout; empty: the mutations answer LOGIN_UNAVAILABLE */
  omeroWebUrl: string;
  /** OMERO server id sent to OMERO.web's login (from /api/v0/servers/ when unset) */
  omeroServerId: number;
  /** GraphiQL at GET /graphql (browsers); off by default when NODE_ENV=production */
  graphiql: boolean;
  /** who may introspect: everyone, callers with a session, nobody (gateway/introspection.ts) */
  introspection: IntrospectionMode;
  /** OMERO.web as users' browsers reach it: the monitor's object links and the one origin that may frame it */
  omeroWebPublicUrl: string;
  /** the monitor page's built assets (npm run build writes dist/monitor) */
  monitorAssetsDir: string;
  /** graphql-ws subscriptions with the same operation, variables and session share one execution (gateway/shared-subscriptions.ts) */
  liveShared: boolean;
  /** results a shared subscriber may fall behind before SLOW_CONSUMER */
  liveMaxQueue: number;
}

export type IntrospectionMode = 'on' | 'authenticated' | 'off';

function introspectionFromEnv(env: NodeJS.ProcessEnv): IntrospectionMode {
  const raw = env.INTROSPECTION;
  if (raw === undefined || raw === '') return isProduction(env) ? 'authenticated' : 'on';
  const value = raw.toLowerCase();
  if (value === 'on' || value === 'authenticated' || value === 'off') return value;
  throw new Error(`INTROSPECTION must be on, authenticated or off, got "${raw}".`);
}

function graphiqlFromEnv(env: NodeJS.ProcessEnv): boolean {
  const raw = env.GRAPHIQL;
  if (raw === undefined || raw === '') return !isProduction(env);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  throw new Error(`GRAPHIQL must be true or false, got "${raw}".`);
}

/** OMERO_WEB_PUBLIC_URL: an http(s) URL (its origin goes into the monitor's frame-ancestors). */
function publicUrlFromEnv(raw: string | undefined): string {
  if (!raw) return '';
  const url = URL.canParse(raw) ? new URL(raw) : null;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:'))
    throw new Error(`OMERO_WEB_PUBLIC_URL must be an http(s) URL such as https://omero.example.org, got "${raw}".`);
  return raw.replace(/\/+$/, '');
}

function modeFromEnv(raw: string | undefined): PersistedOperationsMode {
  const value = (raw ?? 'apq').toLowerCase();
  if (value === 'apq' || value === 'trusted' || value === 'off') return value;
  throw new Error(`PERSISTED_OPERATIONS must be apq, trusted or off, got "${raw}".`);
}

export function gatewaySettingsFromEnv(env: NodeJS.ProcessEnv = process.env): GatewaySettings {
  return {
    sessionCacheMs: intFromEnv(env, 'SESSION_CACHE_MS', 5_000),
    identityTtlSeconds: intFromEnv(env, 'IDENTITY_TTL_SECONDS', 300),
    maxBodyBytes: intFromEnv(env, 'MAX_BODY_BYTES', 1024 * 1024),
    maxVariablesBytes: intFromEnv(env, 'MAX_VARIABLES_BYTES', 256 * 1024),
    rateLimitPerSecond: intFromEnv(env, 'RATE_LIMIT_PER_SECOND', 50),
    rateLimitBurst: intFromEnv(env, 'RATE_LIMIT_BURST', 500),
    loginRateLimitPerSecond: intFromEnv(env, 'LOGIN_RATE_LIMIT_PER_SECOND', 1),
    loginRateLimitBurst: intFromEnv(env, 'LOGIN_RATE_LIMIT_BURST', 10),
    wsMaxConnectionsPerIdentity: intFromEnv(env, 'WS_MAX_CONNECTIONS_PER_IDENTITY', 20),
    wsMaxOperationsPerConnection: intFromEnv(env, 'WS_MAX_OPERATIONS_PER_CONNECTION', 50),
    wsConnectionInitTimeoutMs: intFromEnv(env, 'WS_CONNECTION_INIT_TIMEOUT_MS', 5_000),
    wsSessionCheckMs: intFromEnv(env, 'WS_SESSION_CHECK_MS', 5_000),
    subgraphTimeoutMs: intFromEnv(env, 'SUBGRAPH_TIMEOUT_MS', 10_000),
    persistedOperations: modeFromEnv(env.PERSISTED_OPERATIONS),
    trustedDocumentsFile: env.TRUSTED_DOCUMENTS_FILE || join(projectRoot(), 'clients', 'trusted-documents.json'),
    allowArbitraryOperations: env.ALLOW_ARBITRARY_OPERATIONS === 'true',
    apqMaxEntries: intFromEnv(env, 'APQ_MAX_ENTRIES', 1000),
    tracesExporterUrl: env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '',
    sessionCookie: env.SESSION_COOKIE_NAME || 'omero_graph_session',
    corsOrigins: originsFromList(env.CORS_ORIGINS),
    omeroWebUrl: (env.OMERO_WEB_URL ?? '').replace(/\/+$/, ''),
    omeroServerId: intFromEnv(env, 'OMERO_WEB_SERVER_ID', 0),
    graphiql: graphiqlFromEnv(env),
    introspection: introspectionFromEnv(env),
    omeroWebPublicUrl: publicUrlFromEnv(env.OMERO_WEB_PUBLIC_URL || env.OMERO_WEB_URL),
    monitorAssetsDir: env.MONITOR_ASSETS_DIR || join(projectRoot(), 'dist', 'monitor'),
    liveShared: liveSharedFromEnv(env),
    liveMaxQueue: intFromEnv(env, 'LIVE_MAX_QUEUE', 1000),
  };
}
