import { GraphQLError } from 'graphql';

/**
 * Every code a client can see in `extensions.code`, written once for the gateway and the
 * subgraphs, with the HTTP status of an answer refused before execution (a field error inside an
 * executed operation is answered 200 with the code). The TypeScript SDK's `ErrorCode` lists the
 * same codes (test/subgraphs/common/errors.test.ts); docs/clients.md and docs/limits.md say when
 * each is given. Messages never reveal whether a hidden object exists.
 */
export const ERROR_CODES = {
  // who the caller is and what they may do
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  LOGIN_FAILED: 401,
  LOGIN_UNAVAILABLE: 503,
  // the request itself
  BAD_REQUEST: 400,
  BAD_USER_INPUT: 400,
  /** a mutation over GET */
  METHOD_NOT_ALLOWED: 405,
  GRAPHQL_PARSE_FAILED: 400,
  GRAPHQL_VALIDATION_FAILED: 400,
  NOT_FOUND: 404,
  /** optimistic concurrency: the thing changed since the caller read its version */
  CONFLICT: 409,
  // what a browser page may do (gateway/browser.ts)
  ORIGIN_NOT_ALLOWED: 403,
  CSRF_REFUSED: 403,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // limits (docs/limits.md)
  DEPTH_LIMIT_EXCEEDED: 400,
  ALIAS_LIMIT_EXCEEDED: 400,
  TOKEN_LIMIT_EXCEEDED: 400,
  COST_LIMIT_EXCEEDED: 400,
  VARIABLES_TOO_DEEP: 400,
  VARIABLES_TOO_LARGE: 413,
  REQUEST_TOO_LARGE: 413,
  LENGTH_REQUIRED: 411,
  URI_TOO_LONG: 414,
  RATE_LIMITED: 429,
  SUBSCRIPTION_LIMIT_EXCEEDED: 429,
  /** a live stream whose client reads slower than events arrive: resume from the last cursor */
  SLOW_CONSUMER: 429,
  INTROSPECTION_DISABLED: 403,
  PERSISTED_QUERY_REQUIRED: 403,
  /** the APQ protocol's answer, 200 so that clients resend the document (404 for an unknown trusted document) */
  PERSISTED_QUERY_NOT_FOUND: 200,
  PERSISTED_QUERY_NOT_SUPPORTED: 400,
  PERSISTED_QUERY_INVALID: 400,
  PERSISTED_QUERY_HASH_MISMATCH: 400,
  // the services behind
  SERVICE_UNAVAILABLE: 503,
  /** the gateway replica is stopping (the runtime's own code): retry, another replica answers */
  SHUTTING_DOWN: 503,
  DOWNSTREAM_SERVICE_ERROR: 502,
  /** the Slurm login node cannot be reached or refused the login */
  SLURM_UNAVAILABLE: 503,
  /** the login node presented a host key that is not the configured one */
  SLURM_HOST_KEY_REJECTED: 502,
  /** a Slurm command, or the wait for a connection to run it, took longer than configured */
  SLURM_TIMEOUT: 504,
  /** more Slurm commands waiting than SLURM_MAX_QUEUED_COMMANDS */
  SLURM_BUSY: 503,
  /** sacct/squeue/scancel/tail exited with an error, or printed more than allowed */
  SLURM_COMMAND_FAILED: 502,
  /** the Slurm client was closed (the service is stopping) */
  SLURM_CLOSED: 503,
  CATALOGUE_UNAVAILABLE: 503,
  WORKFLOW_LAUNCH_UNAVAILABLE: 503,
  WORKFLOW_LAUNCH_FAILED: 502,
  INTERNAL_SERVER_ERROR: 500,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_CODES;

export function codedError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

/**
 * The same error, also setting the HTTP status when it is raised before execution (context
 * building, admission): the code's own, unless a protocol asks for another (`status`).
 */
export function httpError(code: ErrorCode, message: string, extra: Record<string, unknown> = {}, status: number = ERROR_CODES[code]): GraphQLError {
  return new GraphQLError(message, { extensions: { code, ...extra, http: { status } } });
}

/** The body of an answer refused outside GraphQL execution (plain HTTP routes). */
export function errorBody(code: ErrorCode, message: string): string {
  return JSON.stringify({ errors: [{ message, extensions: { code } }] });
}

/** The HTTP status of a code, for answers built from an executed result (downloads); 500 for a code not ours. */
export function statusOf(code: unknown): number {
  return typeof code === 'string' && code in ERROR_CODES ? ERROR_CODES[code as ErrorCode] : 500;
}

export function badInput(message: string, field?: string): GraphQLError {
  return codedError('BAD_USER_INPUT', message, field ? { field } : {});
}
