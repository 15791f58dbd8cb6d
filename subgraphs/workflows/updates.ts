import type { LogTailer } from '../common/eventlog';
import { logger } from '../common/logger';
import { decodeDate, eventType, type StoredEvent } from './events';
import { foldRunAsOf, isFinished, statusEnum, unfinishedJobs, workflowTaskOf, type SlurmJob, type WorkflowRun } from './fold';
import { Channel, RunEventCache } from './live';
import { redactEvent } from './redact';
import type { SlurmJobState, SlurmWatcher } from './slurm/types';
import { filterRunIds, type LiveEvent, type WorkflowEventSource, type WorkflowRunFilter } from './source/events';

/**
 * workflowRunUpdated: the stored events of matching runs from the tailer (replay after the
 * cursor, then live), each with the run as that event left it, merged with the Slurm state
 * changes of those runs' unfinished jobs from the watcher (docs/workflows.md, Live status).
 */

/** Unfinished runs whose jobs one stream watches on the cluster when it starts (docs/limits.md). */
export const MAX_WATCHED_RUNS = 200;
/** Stored events folded together: one fold per run per batch (docs/limits.md). */
export const PUMP_BATCH = 500;
/** Runs whose events one stream keeps in memory (docs/limits.md). */
export const MAX_CACHED_RUNS = 100;
const NOTHING_READY_VALUE = Symbol('nothing ready');
const NOTHING_READY = Promise.resolve(NOTHING_READY_VALUE);

/** A stored event as the API shows it, whichever path it came by (live stream or run history). */
export type ApiEvent = StoredEvent & { run_id: string | null };

export function liveFields(state: SlurmJobState) {
  return {
    state: state.state,
    exitCode: state.exitCode,
    submittedAt: state.submittedAt,
    startedAt: state.startedAt,
    endedAt: state.endedAt,
    source: state.source,
  };
}

export interface RunUpdate {
  source: 'STORE' | 'SLURM';
  event: ApiEvent | null;
  job: SlurmJob | null;
  slurmState: ReturnType<typeof liveFields> | null;
  run: WorkflowRun;
}

export function matchesStatic(
  filter: WorkflowRunFilter,
  run: { id: string | null; userId: number | null; groupId: number | null; createdAt: Date | null },
): boolean {
  // ids as UUIDs: workflowRunUpdates normalises them with filterRunIds before the stream starts
  if (filter.ids != null && !filter.ids.includes(run.id ?? '')) return false;
  if (filter.userId != null && String(run.userId) !== String(filter.userId)) return false;
  if (filter.groupId != null && String(run.groupId) !== String(filter.groupId)) return false;
  if (filter.createdAfter && (!run.createdAt || run.createdAt < filter.createdAfter)) return false;
  if (filter.createdBefore && (!run.createdAt || run.createdAt >= filter.createdBefore)) return false;
  return true;
}

/** The filter's parts that depend on the folded run: status, workflow and its version. */
export function matchesStatus(filter: WorkflowRunFilter, run: WorkflowRun): boolean {
  if (filter.workflow != null || filter.version != null) {
    const task = workflowTaskOf(run);
    if (filter.workflow != null && task?.name.toLowerCase() !== filter.workflow.toLowerCase()) return false;
    if (filter.version != null && task?.version !== filter.version) return false;
  }
  return !filter.statuses?.length || filter.statuses.includes(statusEnum(run.status));
}

export interface UpdateOptions {
  tailer: LogTailer<LiveEvent>;
  watcher: SlurmWatcher | null;
  maxQueue: number;
}

/**
 * `events` is the subscriber's own source: it reads their access at each event (the caller's
 * identity may be renewed with a changed scope while the stream is open).
 */
export function workflowRunUpdates(
  options: UpdateOptions,
  events: WorkflowEventSource,
  given: WorkflowRunFilter,
  after: number | null,
): AsyncIterableIterator<RunUpdate> {
  const filter: WorkflowRunFilter = { ...given, ids: filterRunIds(given) };
  const out = new Channel<RunUpdate>(options.maxQueue);
  const stored = options.tailer.subscribe(after, (e) => {
    if (!events.mayReadEvent(e)) return false;
    return matchesStatic(filter, { id: e.run_id, userId: e.run_user, groupId: e.run_group, createdAt: e.run_created ? decodeDate(e.run_created) : null });
  });
  out.whenClosed(() => void stored.return?.());
  const watched = new Map<number, () => void>();
  out.whenClosed(() => {
    for (const stop of watched.values()) stop();
    watched.clear();
  });
  const watch = (job: SlurmJob) => {
    if (!options.watcher || watched.has(job.jobId) || out.closed) return;
    watched.set(
      job.jobId,
      options.watcher.watch([job.jobId], (change) => {
        void (async () => {
          const run = await events.run(job.runId, true);
          if (!run || out.closed) return;
          const current = run.tasks.flatMap((t) => t.jobs).find((j) => j.jobId === job.jobId) ?? job;
          if (matchesStatus(filter, run)) out.push({ source: 'SLURM', event: null, job: current, slurmState: liveFields(change.current), run });
          if (change.current.source === 'sacct' || isFinished(run)) {
            watched.get(job.jobId)?.();
            watched.delete(job.jobId);
          }
        })().catch((err) => logger.warn({ err, jobId: job.jobId }, 'workflowRunUpdated: Slurm change not delivered'));
      }),
    );
  };
  // Slurm changes: the unfinished jobs of matching runs now, and of every JobIdAdded seen later.
  if (options.watcher) {
    void (async () => {
      const ids = await events.unfinishedRunIds(MAX_WATCHED_RUNS);
      for (const run of await events.freshRuns(ids)) {
        if (run && matchesStatic(filter, run)) for (const job of unfinishedJobs(run)) watch(job);
      }
    })().catch((err) => logger.warn({ err }, 'workflowRunUpdated: could not start watching Slurm jobs'));
  }
  // Stored events: take what the tailer has ready (up to PUMP_BATCH), fold each run in it once
  // from the stream's own copy of its events, and send the events in id order, each with the
  // run as that event left it.
  const cache = new RunEventCache<StoredEvent>(MAX_CACHED_RUNS);
  void (async () => {
    const iterator = stored[Symbol.asyncIterator]();
    let pending = iterator.next();
    while (!out.closed) {
      const first = await pending;
      if (first.done) break;
      const batch: LiveEvent[] = [first.value];
      for (;;) {
        pending = iterator.next();
        const next = batch.length < PUMP_BATCH ? await Promise.race([pending, NOTHING_READY]) : NOTHING_READY_VALUE;
        if (next === NOTHING_READY_VALUE || (next as IteratorResult<LiveEvent>).done) break;
        batch.push((next as IteratorResult<LiveEvent>).value);
      }
      const runIds = [...new Set(batch.map((e) => e.run_id!))];
      const missing = runIds.filter((id) => !cache.has(id));
      if (missing.length) {
        // a subscription lives long: never serve a stale fold
        const folded = await events.freshRuns(missing);
        missing.forEach((id, i) => {
          const run = folded[i];
          if (run) cache.load(id, run.events);
        });
      }
      for (const e of batch) cache.add(e.run_id!, e);
      const asOf = new Map<string, Map<number, WorkflowRun>>();
      for (const id of runIds) {
        const events = batch.filter((e) => e.run_id === id);
        // the events held from earlier reads may quote a secret only a newer event revealed
        // (the forms were applied when each was read: with no secret known there is nothing to do)
        const secrets = [...new Set(events.flatMap((e) => e.secrets))];
        const held = secrets.length ? cache.events(id).map((e) => redactEvent(e, secrets)) : cache.events(id);
        asOf.set(
          id,
          foldRunAsOf(
            id,
            held,
            events.map((e) => e.id),
          ).snapshots,
        );
      }
      for (const e of batch) {
        const run = events.visible(asOf.get(e.run_id!)?.get(e.id) ?? null);
        if (!run || !matchesStatus(filter, run)) continue;
        await out.room();
        out.push({ source: 'STORE', event: { ...e, run_id: e.run_id }, job: null, slurmState: null, run });
        if (eventType(e.topic) === 'Task.JobIdAdded' && !isFinished(run)) for (const job of unfinishedJobs(run)) watch(job);
      }
    }
  })().catch((err) => out.fail(err instanceof Error ? err : new Error(String(err))));
  return out;
}
