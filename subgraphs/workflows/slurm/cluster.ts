/**
 * The Slurm cluster over SSH: `SlurmCluster` (types.ts) on an ssh2 connection pool (pool.ts).
 *
 * Wiring (workflows subgraph):
 *
 *   const config = slurmConfigFromEnv(process.env);          // ./config — null when SLURM_HOST is unset
 *   const cluster = config ? createSlurmCluster(config) : null;
 *   const watcher = cluster ? createSlurmWatcher(cluster, config!.pollIntervalMs) : null;   // ./watcher
 *   …
 *   await cluster.jobStates([123, 124]);    // one sacct: Map jobId → state (unknown ids absent)
 *   await cluster.queueStates([123]);       // one squeue: queued/running jobs only
 *   await cluster.logTails([123], 10);      // one command: last lines of omero-123.log + progress
 *   await cluster.cancel([123]);            // one scancel (check owner/leader/admin first!)
 *   const unwatch = watcher.watch([123], ({ previous, current }) => publish(current));
 *   …on shutdown: await watcher.stop(); await cluster.close();
 *
 * Errors are `SlurmError`s (./errors): GraphQL errors whose `extensions.code` is BAD_USER_INPUT
 * for a job id that is not a positive integer (thrown before any command is built; filter out
 * BIOMERO's `-1` "sbatch failed" ids before calling), SLURM_UNAVAILABLE, SLURM_HOST_KEY_REJECTED,
 * SLURM_TIMEOUT, SLURM_BUSY, SLURM_COMMAND_FAILED or SLURM_CLOSED.
 * Use one cluster per process (it holds the connection pool) and call it through a per-request
 * DataLoader: every method takes many job ids and runs one command for all of them (lists longer
 * than SLURM_MAX_JOBS_PER_COMMAND are split into several).
 */
import { randomBytes } from 'node:crypto';
import { checkLogDir, type SlurmConfig } from './config';
import { SlurmError } from './errors';
import { checkJobIds, chunks, logTailCommand, sacctCommand, scancelCommand, squeueCommand } from './commands';
import { isUnknownJobError, parseLogTails, parseSacct, parseSqueue } from './parse';
import { type CommandResult, type PoolStats, SshPool } from './pool';
import type { SlurmCluster, SlurmJobState, SlurmLogTail } from './types';

export { slurmConfigFromEnv, type SlurmConfig } from './config';
export { SlurmError, type SlurmErrorCode } from './errors';
export { createSlurmWatcher } from './watcher';

export function createSlurmCluster(config: SlurmConfig): SshSlurmCluster {
  return new SshSlurmCluster(config);
}

export class SshSlurmCluster implements SlurmCluster {
  private readonly pool: SshPool;

  constructor(private readonly config: SlurmConfig) {
    checkLogDir(config.logDir);
    this.pool = new SshPool(config);
  }

  /** Commands run, connections opened, … (tests count commands; /metrics may export them). */
  stats(): PoolStats {
    return this.pool.stats();
  }

  async jobStates(jobIds: readonly number[]): Promise<Map<number, SlurmJobState>> {
    return this.perChunk(checkJobIds(jobIds), async (ids) => parseSacct(this.ok('sacct', await this.pool.exec(sacctCommand(ids))), ids));
  }

  async queueStates(jobIds: readonly number[]): Promise<Map<number, SlurmJobState>> {
    return this.perChunk(checkJobIds(jobIds), async (ids) => {
      const result = await this.pool.exec(squeueCommand(ids));
      // squeue fails outright when a lone requested id is unknown to slurmctld (finished long ago)
      if (result.code !== 0 && isUnknownJobError(result.stderr)) return new Map();
      return parseSqueue(this.ok('squeue', result), ids);
    });
  }

  async logTails(jobIds: readonly number[], lines: number): Promise<Map<number, SlurmLogTail>> {
    const ids = checkJobIds(jobIds);
    return this.perChunk(ids, async (chunk) => {
      const marker = `omero-graph-${randomBytes(12).toString('hex')}`;
      const result = await this.pool.exec(logTailCommand(this.config.logDir, chunk, lines, marker));
      return parseLogTails(this.ok('tail', result), marker);
    });
  }

  async cancel(jobIds: readonly number[]): Promise<void> {
    // scancel exits 0 for jobs already finished; it fails for ids the login user may not cancel
    await this.perChunk(checkJobIds(jobIds), async (ids) => {
      this.ok('scancel', await this.pool.exec(scancelCommand(ids)));
      return new Map<number, never>();
    });
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  private async perChunk<T>(ids: number[], run: (ids: number[]) => Promise<Map<number, T>>): Promise<Map<number, T>> {
    if (ids.length === 0) return new Map();
    const parts = await Promise.all(chunks(ids, this.config.maxJobsPerCommand).map(run));
    return parts.length === 1 ? parts[0] : new Map(parts.flatMap((m) => [...m]));
  }

  private ok(name: string, result: CommandResult): string {
    if (result.code === 0) return result.stdout;
    const reason = result.stderr.trim().split('\n')[0]?.slice(0, 300) || `exit status ${result.code}`;
    throw new SlurmError('SLURM_COMMAND_FAILED', `${name} failed on the Slurm login node: ${reason}`);
  }
}
