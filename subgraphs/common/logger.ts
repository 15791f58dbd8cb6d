import { AsyncLocalStorage } from 'node:async_hooks';
import pino from 'pino';

/**
 * What every log line written while serving one request carries: its request id (x-request-id,
 * set by the gateway and passed on to subgraphs) and its trace id (W3C traceparent).
 */
export interface RequestScope {
  requestId?: string;
  traceId?: string;
}
export const requestScope = new AsyncLocalStorage<RequestScope>();

/** Structured JSON logs. LOG_LEVEL=silent in tests unless asked for. */
export const logger = pino({
  name: 'omero-graph',
  level: process.env.LOG_LEVEL ?? (process.env.JEST_WORKER_ID ? 'silent' : 'info'),
  mixin: () => ({ ...requestScope.getStore() }),
});
