import { GraphQLError } from 'graphql';

/**
 * Errors of the Slurm client, as GraphQL errors with `extensions.code`, so resolvers can let
 * them through unchanged. Messages name no host, user or path; the cause is kept for the logs.
 */
export type SlurmErrorCode =
  /** a job id that is not a positive integer (refused before any command is built) */
  | 'BAD_USER_INPUT'
  /** the login node cannot be reached or refused the login (retried with backoff) */
  | 'SLURM_UNAVAILABLE'
  /** the login node presented a host key that is not the configured one (never retried quietly) */
  | 'SLURM_HOST_KEY_REJECTED'
  /** a command or the wait for a pooled connection took longer than configured */
  | 'SLURM_TIMEOUT'
  /** more commands waiting for a connection than SLURM_MAX_QUEUED_COMMANDS */
  | 'SLURM_BUSY'
  /** sacct/squeue/scancel/tail exited with an error, or printed more than allowed */
  | 'SLURM_COMMAND_FAILED'
  /** the client was closed */
  | 'SLURM_CLOSED';

export class SlurmError extends GraphQLError {
  readonly code: SlurmErrorCode;
  constructor(code: SlurmErrorCode, message: string, cause?: unknown) {
    super(message, { extensions: { code }, originalError: cause instanceof Error ? cause : undefined });
    this.name = 'SlurmError';
    this.code = code;
  }
}
