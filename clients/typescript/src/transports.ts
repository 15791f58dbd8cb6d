import { createClient as createSseClient, NetworkError } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { GraphError, type GraphQLErrorShape } from './errors.js';
import type { Open, Sink } from './subscription.js';

/**
 * The two subscription transports of docs/clients.md, each opening one attempt for the resume loop
 * (subscription.ts). Neither retries by itself (retryAttempts: 0).
 */
export interface Transport {
  open: Open;
  /** closes open connections (the next attempt opens a new one, e.g. with a new session key) */
  reset(): void;
}

/** graphql-ws close codes of the gateway (docs/clients.md, "Subscriptions over WebSocket"). */
function closeError(code: number, reason: string): GraphError {
  if (code === 4401 || code === 4403) return new GraphError('UNAUTHENTICATED', reason || 'The OMERO session key is unknown, closed or expired.');
  // 1013 Try Again Later: too many connections for this identity; the resume loop retries with backoff
  if (code === 1013) return new GraphError('RATE_LIMITED', reason || 'Too many WebSocket connections for this identity.');
  return GraphError.connectionFailed(`WebSocket closed (${code}${reason ? `: ${reason}` : ''})`);
}

function wsError(error: unknown): GraphError {
  if (Array.isArray(error)) return GraphError.fromErrors(error as GraphQLErrorShape[]);
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'number') {
    return closeError(error.code, 'reason' in error && typeof error.reason === 'string' ? error.reason : '');
  }
  return GraphError.connectionFailed(error instanceof Error ? error.message : 'The WebSocket connection failed.');
}

/** One lazy WebSocket per client, shared by its subscriptions, as graphql-ws clients do. */
export function webSocketTransport(url: string, authorization: () => Record<string, string>, webSocketImpl?: unknown): Transport {
  let client: WsClient | null = null;
  const connection = () =>
    (client ??= createWsClient({
      url: url.replace(/^http/, 'ws'),
      webSocketImpl,
      lazy: true,
      retryAttempts: 0,
      connectionParams: () => authorization(),
    }));
  return {
    open: (payload, sink: Sink) =>
      connection().subscribe(payload, {
        next: (result) => sink.next(result as { data?: unknown; errors?: readonly GraphQLErrorShape[] }),
        error: (error) => sink.error(wsError(error)),
        complete: () => sink.complete(),
      }),
    reset() {
      void client?.dispose();
      client = null;
    },
  };
}

function sseError(error: unknown): GraphError {
  if (error instanceof GraphError) return error;
  if (Array.isArray(error)) return GraphError.fromErrors(error as GraphQLErrorShape[]);
  if (error instanceof NetworkError && error.response) {
    const status = error.response.status;
    if (status === 401) return new GraphError('UNAUTHENTICATED', 'The OMERO session key is unknown, closed or expired.', [], null, status);
    if (status === 429) return new GraphError('RATE_LIMITED', 'Rate limited.', [], null, status);
    if (status === 403) return new GraphError('FORBIDDEN', `Refused (HTTP ${status}).`, [], null, status);
    return GraphError.connectionFailed(`HTTP ${status} ${error.response.statusText}`, status);
  }
  return GraphError.connectionFailed(error instanceof Error ? error.message : 'The SSE connection failed.');
}

/** GraphQL over SSE, "distinct connections" mode: one HTTP request per subscription attempt. */
export function sseTransport(url: string, authorization: () => Record<string, string>, fetchFn: typeof fetch): Transport {
  const client = createSseClient({ url, singleConnection: false, retryAttempts: 0, headers: () => authorization(), fetchFn });
  return {
    open: (payload, sink: Sink) =>
      client.subscribe(payload, {
        next: (result) => sink.next(result as { data?: unknown; errors?: readonly GraphQLErrorShape[] }),
        error: (error) => sink.error(sseError(error)),
        complete: () => sink.complete(),
      }),
    reset() {
      // every attempt is its own request: nothing stays open
    },
  };
}
