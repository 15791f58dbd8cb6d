import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { GraphQLError, type GraphQLErrorOptions } from 'graphql';
import { logger, requestScope } from '../subgraphs/common/logger';

/*
 * What a client sees of an error: every error carries a code (subgraphs/common/errors.ts), a
 * subgraph that is down or late is named, anything unexpected is masked as INTERNAL_SERVER_ERROR
 * with the request id (the log has the rest).
 */

/** Where an error is in the operation and the response, for a new error in its place. */
function whereIn(e: GraphQLError): Pick<GraphQLErrorOptions, 'nodes' | 'source' | 'positions' | 'path'> {
  return { nodes: e.nodes, source: e.source, positions: e.positions, path: e.path };
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
    ...whereIn(e),
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
        ...whereIn(e),
        extensions: { code, requestId },
      });
    }
    // no session (or one a subgraph found closed): the same HTTP status as an unknown session key
    if (code === 'UNAUTHENTICATED' && !e.extensions?.http)
      return new GraphQLError(e.message, {
        ...whereIn(e),
        originalError: e.originalError,
        extensions: { ...e.extensions, http: { status: 401 } },
      });
    if (e.extensions?.code) return e;
    return new GraphQLError(e.message, {
      ...whereIn(e),
      originalError: e.originalError,
      extensions: { ...e.extensions, code },
    });
  });
}

export function useErrorCodes(): GatewayPlugin {
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
export function maskError(error: unknown): Error {
  const coded = subgraphStreamError(error);
  if (coded) return coded;
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (error instanceof GraphQLError && (!original || original instanceof GraphQLError || error.extensions?.code)) return error;
  const requestId = requestScope.getStore()?.requestId;
  logger.error({ err: original ?? error, path: (error as GraphQLError).path }, 'internal error');
  const located = error instanceof GraphQLError ? error : null;
  return new GraphQLError('Internal server error', { nodes: located?.nodes, path: located?.path, extensions: { code: 'INTERNAL_SERVER_ERROR', requestId } });
}
