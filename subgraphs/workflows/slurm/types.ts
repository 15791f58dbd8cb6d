/**
 * The contract between the workflows subgraph and the Slurm cluster it watches over SSH.
 * `cluster.ts` implements it with an ssh2 connection pool (sacct, squeue, scancel, log tails);
 * the resolvers only ever see this interface, so the subgraph runs without a cluster
 * (`SLURM_HOST` unset → no live Slurm fields, no cancel).
 *
 * Job ids cross this boundary as integers only: implementations validate them again before
 * they are written into a remote command, and no other caller-supplied string ever is.
 */

/**
 * One job as Slurm reports it. Times are UTC; `null` when Slurm has none (e.g. `Unknown`).
 * An array job (BIOMERO's conversions) is one state for the array's id, folded from its tasks
 * (docs/slurm.md). From `squeue`, a PENDING job's startedAt is null (squeue only forecasts it).
 */
export interface SlurmJobState {
  jobId: number;
  /** Slurm state without the truncation `+` and reason suffix, e.g. PENDING, RUNNING, COMPLETED, CANCELLED. */
  state: string;
  /** `sacct` ExitCode, e.g. `0:0`; null from `squeue`. */
  exitCode: string | null;
  submittedAt: Date | null;
  startedAt: Date | null;
  endedAt: Date | null;
  /** Which command answered: queue state (`squeue`) or accounting (`sacct`). */
  source: 'squeue' | 'sacct';
}

/** The tail of a job's log file and the last percentage printed in it (BIOMERO's progress). */
export interface SlurmLogTail {
  jobId: number;
  tail: string;
  /** last `NN%` found in the log, 0-100 (may be fractional, e.g. 68.5); null when none */
  progress: number | null;
}

export interface SlurmCluster {
  /** Accounting state of every given job, one `sacct` command for all of them. Unknown ids are absent. */
  jobStates(jobIds: readonly number[]): Promise<Map<number, SlurmJobState>>;
  /** Queue state of the given jobs still queued or running, one `squeue` command. Finished jobs are absent. */
  queueStates(jobIds: readonly number[]): Promise<Map<number, SlurmJobState>>;
  /** Last `lines` lines of each job's log (BIOMERO's `omero-<jobid>.log` in the configured folder), one command. */
  logTails(jobIds: readonly number[], lines: number): Promise<Map<number, SlurmLogTail>>;
  /** `scancel` the given jobs, one command. */
  cancel(jobIds: readonly number[]): Promise<void>;
  close(): Promise<void>;
}

/** A change seen by the watcher: the job's new queue/accounting state. */
export interface SlurmStateChange {
  previous: SlurmJobState | null;
  current: SlurmJobState;
}

/**
 * Polls the cluster for a set of watched jobs: one batched `squeue` per interval for all of them
 * (and `sacct` once for jobs that left the queue, to learn how they ended).
 */
export interface SlurmWatcher {
  /**
   * Watch jobs until the returned function is called; `onChange` fires on every state change
   * (the first state seen included; at once with the current state when the job was already seen).
   * Ids are validated like the cluster's (BAD_USER_INPUT). Final states end the polling of a job.
   */
  watch(jobIds: readonly number[], onChange: (change: SlurmStateChange) => void): () => void;
  stop(): Promise<void>;
}
