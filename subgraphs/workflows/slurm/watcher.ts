/**
 * Live Slurm state for watched jobs (`SlurmWatcher`, types.ts).
 *
 * Every `intervalMs`, one `squeue` for all watched jobs that have not finished; jobs absent from
 * the queue are then asked about in one `sacct` (how they ended, or that Slurm has never seen
 * them). A job whose state is final is no longer polled. Listeners are told changes only: the
 * first state seen, then every change of state, exit code, start or end time. A listener added
 * for a job already seen gets its current state at once (previous = null).
 *
 * Polls never overlap (the next is scheduled when one ends); a failing poll is logged and the
 * next one retries (the pool backs off its reconnects). Nothing is polled while no job is watched.
 */
import { logger } from '../../common/logger';
import { checkJobIds } from './commands';
import { isFinalState } from './parse';
import type { SlurmCluster, SlurmJobState, SlurmStateChange, SlurmWatcher } from './types';

type Listener = (change: SlurmStateChange) => void;

interface Watched {
  state: SlurmJobState | null;
  listeners: Set<Listener>;
}

export function createSlurmWatcher(cluster: SlurmCluster, intervalMs: number): PollingSlurmWatcher {
  return new PollingSlurmWatcher(cluster, intervalMs);
}

export class PollingSlurmWatcher implements SlurmWatcher {
  private readonly jobs = new Map<number, Watched>();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private stopped = false;
  /** polls done (tests and metrics) */
  polls = 0;

  constructor(
    private readonly cluster: SlurmCluster,
    private readonly intervalMs: number,
  ) {
    if (!Number.isInteger(intervalMs) || intervalMs < 1) throw new Error('the Slurm poll interval must be a positive integer (ms)');
  }

  watch(jobIds: readonly number[], onChange: Listener): () => void {
    if (this.stopped) throw new Error('the Slurm watcher is stopped');
    // the same rule as the cluster's (BAD_USER_INPUT), before anything is remembered
    const ids = checkJobIds(jobIds);
    for (const id of ids) {
      let watched = this.jobs.get(id);
      if (!watched) this.jobs.set(id, (watched = { state: null, listeners: new Set() }));
      watched.listeners.add(onChange);
      const known = watched.state;
      if (known) queueMicrotask(() => watched.listeners.has(onChange) && safeCall(onChange, { previous: null, current: known }));
    }
    this.schedule();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      for (const id of ids) {
        const watched = this.jobs.get(id);
        watched?.listeners.delete(onChange);
        if (watched && watched.listeners.size === 0) this.jobs.delete(id);
      }
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.jobs.clear();
    await this.polling;
  }

  /** Poll now (tests; also usable to refresh at once after a cancel). */
  async pollNow(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = this.poll().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  private schedule(): void {
    if (this.stopped || this.timer || this.jobs.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.pollNow().finally(() => this.schedule()); // poll() logs its own failures and never rejects
    }, this.intervalMs);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    const pending = [...this.jobs].filter(([, w]) => !(w.state && isFinalState(w.state.state))).map(([id]) => id);
    if (pending.length === 0) return;
    this.polls++;
    try {
      const queued = await this.cluster.queueStates(pending);
      for (const [id, state] of queued) this.update(id, state);
      const departed = pending.filter((id) => !queued.has(id) && this.jobs.has(id));
      if (departed.length > 0) {
        const accounted = await this.cluster.jobStates(departed);
        // out of the queue means finished; accounting may lag a moment behind (then: next poll)
        for (const [id, state] of accounted) if (isFinalState(state.state)) this.update(id, state);
      }
    } catch (error) {
      logger.warn({ err: error, jobs: pending.length }, 'Slurm poll failed; retrying at the next interval');
    }
  }

  private update(id: number, current: SlurmJobState): void {
    const watched = this.jobs.get(id);
    if (!watched) return; // unwatched while the command ran
    const previous = watched.state;
    if (previous && sameState(previous, current)) return;
    watched.state = current;
    for (const listener of [...watched.listeners]) safeCall(listener, { previous, current });
  }
}

function sameState(a: SlurmJobState, b: SlurmJobState): boolean {
  return a.state === b.state && a.exitCode === b.exitCode && a.startedAt?.getTime() === b.startedAt?.getTime() && a.endedAt?.getTime() === b.endedAt?.getTime();
}

function safeCall(listener: Listener, change: SlurmStateChange): void {
  try {
    listener(change);
  } catch (error) {
    logger.error({ err: error, jobId: change.current.jobId }, 'Slurm state listener threw');
  }
}
