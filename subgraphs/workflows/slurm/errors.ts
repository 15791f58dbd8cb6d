import { GraphQLError } from 'graphql';
import type { ErrorCode } from '../../common/errors';

/**
 * Errors of the Slurm client, as GraphQL errors with `extensions.code`, so resolvers can let
 * them through unchanged. Messages name no host, user or path; the cause is kept for the logs.
 */
/** The codes of common/errors.ts the Slurm client answers with. */
export type SlurmErrorCode = Extract<ErrorCode, 'BAD_USER_INPUT' | `SLURM_${string}`>;

export class SlurmError extends GraphQLError {
  readonly code: SlurmErrorCode;
  constructor(code: SlurmErrorCode, message: string, cause?: unknown) {
    super(message, { extensions: { code }, originalError: cause instanceof Error ? cause : undefined });
    this.name = 'SlurmError';
    this.code = code;
  }
}
