/**
 * Every failure of the client is a GraphError carrying the GraphQL `extensions.code` of the first
 * error (docs/clients.md, "Errors and HTTP statuses"): branch on `code`, never on the message.
 */

/**
 * The codes the gateway answers with (docs/clients.md, "Every code"); any other string may come
 * from a newer gateway.
 */
export type ErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN'
  | 'LOGIN_FAILED'
  | 'LOGIN_UNAVAILABLE'
  | 'BAD_REQUEST'
  | 'BAD_USER_INPUT'
  | 'METHOD_NOT_ALLOWED'
  | 'GRAPHQL_PARSE_FAILED'
  | 'GRAPHQL_VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'ORIGIN_NOT_ALLOWED'
  | 'CSRF_REFUSED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'DEPTH_LIMIT_EXCEEDED'
  | 'ALIAS_LIMIT_EXCEEDED'
  | 'TOKEN_LIMIT_EXCEEDED'
  | 'COST_LIMIT_EXCEEDED'
  | 'VARIABLES_TOO_DEEP'
  | 'VARIABLES_TOO_LARGE'
  | 'REQUEST_TOO_LARGE'
  | 'LENGTH_REQUIRED'
  | 'URI_TOO_LONG'
  | 'RATE_LIMITED'
  | 'SUBSCRIPTION_LIMIT_EXCEEDED'
  | 'SLOW_CONSUMER'
  | 'INTROSPECTION_DISABLED'
  | 'PERSISTED_QUERY_REQUIRED'
  | 'PERSISTED_QUERY_NOT_FOUND'
  | 'PERSISTED_QUERY_NOT_SUPPORTED'
  | 'PERSISTED_QUERY_INVALID'
  | 'PERSISTED_QUERY_HASH_MISMATCH'
  | 'SERVICE_UNAVAILABLE'
  | 'SHUTTING_DOWN'
  | 'DOWNSTREAM_SERVICE_ERROR'
  | 'SLURM_UNAVAILABLE'
  | 'SLURM_HOST_KEY_REJECTED'
  | 'SLURM_TIMEOUT'
  | 'SLURM_BUSY'
  | 'SLURM_COMMAND_FAILED'
  | 'SLURM_CLOSED'
  | 'CATALOGUE_UNAVAILABLE'
  | 'WORKFLOW_LAUNCH_UNAVAILABLE'
  | 'WORKFLOW_LAUNCH_FAILED'
  | 'INTERNAL_SERVER_ERROR'
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
    return new GraphError(
      first?.extensions?.code ?? 'INTERNAL_SERVER_ERROR',
      first?.message ?? 'The answer carried an empty error list.',
      errors,
      data,
      status,
    );
  }

  static connectionFailed(message: string, status: number | null = null): GraphError {
    return new GraphError('CONNECTION_FAILED', message, [], null, status);
  }
}

/** True when `error` is a GraphError, with that code when one is given. */
export function isGraphError(error: unknown, code?: ErrorCode): error is GraphError {
  return error instanceof GraphError && (code === undefined || error.code === code);
}
