import DataLoader from 'dataloader';
import type { SlurmCluster, SlurmJobState, SlurmLogTail } from '../slurm/types';

/**
 * The cluster's view of jobs for one request: every `live` field of the request shares one
 * `squeue` (and one `sacct` for jobs no longer queued), every `log` field (per line count) one
 * log-tail command.
 */
export class SlurmJobSource {
  constructor(private readonly cluster: SlurmCluster) {}

  /** Queue state (squeue) for jobs still queued or running, accounting (sacct) for the others. */
  readonly states = new DataLoader<number, SlurmJobState | null>(async (ids) => {
    const queued = await this.cluster.queueStates(ids);
    const rest = ids.filter((id) => !queued.has(id));
    const ended = rest.length ? await this.cluster.jobStates(rest) : new Map<number, SlurmJobState>();
    return ids.map((id) => queued.get(id) ?? ended.get(id) ?? null);
  });

  /** keyed by `${jobId}:${lines}` so different line counts in one request stay correct */
  readonly logs = new DataLoader<string, SlurmLogTail | null>(async (keys) => {
    const byLines = new Map<number, number[]>();
    for (const key of keys) {
      const [id, lines] = key.split(':').map(Number);
      byLines.set(lines, [...(byLines.get(lines) ?? []), id]);
    }
    const found = new Map<string, SlurmLogTail>();
    for (const [lines, ids] of byLines) {
      const tails = await this.cluster.logTails(ids, lines);
      for (const [id, tail] of tails) found.set(`${id}:${lines}`, tail);
    }
    return keys.map((k) => found.get(k) ?? null);
  });
}
