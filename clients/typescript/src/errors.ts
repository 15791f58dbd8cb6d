/**
 * Every failure of the client is a GraphError carrying the GraphQL `extensions.code` of the first
 * error (docs/clients.md, "Errors and HTTP statuses"): branch on `code`, never on the message.
 */

/** The codes the gateway answers with; any other string may come from a newer gateway. */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'LOGIN_FAILED'
  | 'LOGIN_UNAVAILABLE'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'BAD_USER_INPUT'
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'RATE_LIMITED'
  | 'SERVICE_UNAVAILABLE'
  | 'DOWNSTREAM_SERVICE_ERROR'
  | 'INTERNAL_SERVER_ERROR'
  | 'SLOW_CONSUMER'
  | 'SUBSCRIPTION_LIMIT_EXCEEDED'
  | 'COST_LIMIT_EXCEEDED'
  | 'DEPTH_LIMIT_EXCEEDED'
  | 'PERSISTED_QUERY_REQUIRED'
  | 'CSRF_REFUSED'
  /** the gateway could not be reached or answered something that is not GraphQL */
  | 'CONNECTION_FAILED'
  | (string & {});

export interface GraphQLErrorShape {
  message: string;
  path?: readonly (string | number)[];
  extensions?: { code?: string; [key: string]: unknown };
}

export class GraphError extends Error {
  override readonly name = 'GraphError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** all the errors of the answer (empty for CONNECTION_FAILED) */
    readonly errors: readonly GraphQLErrorShape[] = [],
    /** the partial data that came beside the errors, if any */
    readonly data: unknown = null,
    /** the HTTP status, when there was an HTTP answer */
    readonly status: number | null = null,
  ) {
    super(message);
  }

  static fromErrors(errors: readonly GraphQLErrorShape[], data: unknown = null, status: number | null = null): GraphError {
    const first = errors[0];
    return new GraphError(first?.extensions?.code ?? 'INTERNAL_SERVER_ERROR', first?.message ?? 'The answer carried an empty error list.', errors, data, status);
  }

  static connectionFailed(message: string, status: number | null = null): GraphError {
    return new GraphError('CONNECTION_FAILED', message, [], null, status);
  }
}

/** True when `error` is a GraphError, with that code when one is given. */
export function isGraphError(error: unknown, code?: ErrorCode): error is GraphError {
  return error instanceof GraphError && (code === undefined || error.code === code);
}
