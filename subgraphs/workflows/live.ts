import { BoundedMap } from '../common/bounded-map';
import { codedError } from '../common/errors';

/**
 * A bounded queue read as an async iterator: the merge point of the two live sources of
 * workflowRunUpdated (stored events, Slurm state changes). A consumer more than `max` items
 * behind is ended with SLOW_CONSUMER (it resumes with its last cursor, like every stream).
 */
export class Channel<T> implements AsyncIterableIterator<T> {
  private readonly queue: T[] = [];
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: Error) => void } | null = null;
  private error: Error | null = null;
  private done = false;
  private readonly onClose: Array<() => void> = [];
  private roomWaiters: Array<() => void> = [];

  constructor(private readonly max: number) {}

  push(item: T): void {
    if (this.done) return;
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = null;
      w.resolve({ value: item, done: false });
    } else if (this.queue.length >= this.max) {
      this.fail(codedError('SLOW_CONSUMER', 'Subscriber fell too far behind; resubscribe with your last cursor.'));
    } else {
      this.queue.push(item);
    }
  }

  fail(error: Error): void {
    if (this.done) return;
    this.error = error;
    this.close();
    if (this.waiting) this.waiting.reject(error);
    this.waiting = null;
  }

  /**
   * Resolves when the queue has room again (or the stream ended): producers that can wait (the
   * stored events, which the tailer holds for us) wait here instead of overflowing.
   */
  room(): Promise<void> {
    if (this.done || this.queue.length < this.max) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private wakeProducers(): void {
    if (this.queue.length >= this.max && !this.done) return;
    for (const resolve of this.roomWaiters.splice(0)) resolve();
  }

  /** registers cleanup run once when the stream ends, for whatever reason */
  whenClosed(fn: () => void): void {
    if (this.done) fn();
    else this.onClose.push(fn);
  }

  get closed(): boolean {
    return this.done;
  }

  private close(): void {
    if (this.done) return;
    this.done = true;
    for (const fn of this.onClose.splice(0)) fn();
    this.wakeProducers();
  }

  next(): Promise<IteratorResult<T>> {
    if (this.queue.length) {
      const value = this.queue.shift()!;
      this.wakeProducers();
      return Promise.resolve({ value, done: false });
    }
    if (this.error) return Promise.reject(this.error);
    if (this.done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  return(): Promise<IteratorResult<T>> {
    this.close();
    if (this.waiting) this.waiting.resolve({ value: undefined, done: true });
    this.waiting = null;
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err: unknown): Promise<IteratorResult<T>> {
    this.close();
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}

/**
 * The events of the runs one workflowRunUpdated stream has seen: loaded whole once per run, then
 * kept current from the stream itself, so a burst costs no further reads. Holds at most `max`
 * runs, dropping the least recently used (docs/limits.md).
 */
export class RunEventCache<E extends { id: number }> {
  private readonly runs: BoundedMap<string, Map<number, E>>;

  constructor(max: number) {
    this.runs = new BoundedMap(max);
  }

  has(runId: string): boolean {
    return this.runs.has(runId);
  }

  load(runId: string, events: readonly E[]): void {
    this.runs.set(runId, new Map(events.map((e) => [e.id, e])));
  }

  add(runId: string, event: E): void {
    this.runs.get(runId)?.set(event.id, event);
  }

  events(runId: string): E[] {
    return [...(this.runs.peek(runId)?.values() ?? [])];
  }
}
