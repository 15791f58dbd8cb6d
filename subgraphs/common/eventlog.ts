import type pg from 'pg';
import { intFromEnv } from './config';
import { codedError } from './errors';
import { logger } from './logger';

/**
 * Tails an append-only table with a monotonic id (imports.id, workflowtracker_events.id) and fans
 * new rows out to subscribers, in id order, with no gap and no duplicate. The protocol is written
 * down in docs/live-status.md; the rules, briefly:
 *
 * - One tailer per table per process: one LISTEN connection and one read per wake-up, whatever the
 *   number of subscribers. A pg_notify trigger wakes it at once; without the trigger it polls.
 * - Ids can commit out of order. Rows above a missing id are held back until the missing id either
 *   appears or is known never to commit: every transaction that was running when the gap was seen
 *   has ended (checked twice, through pg_current_snapshot(), to cover a writer that had taken its id
 *   but not yet its transaction id). `frontier` is the highest id below which everything is settled.
 * - A subscriber resuming after id N reads (N, frontier] from the table itself, then receives the
 *   broadcast of everything above frontier. One without a cursor starts at frontier but skips the
 *   rows already committed and held at that moment: it gets exactly what commits after it arrived.
 * - A subscriber whose queue exceeds `maxQueue` is ended with SLOW_CONSUMER; it resumes with its
 *   last cursor, so nothing is lost and memory stays bounded.
 */
export interface LogRow {
  id: number;
}

export interface LogTailerOptions<R extends LogRow> {
  pool: pg.Pool;
  /** pg_notify channel of our migration's trigger */
  channel: string;
  /** the log table (a trusted constant, never user input) */
  table: string;
  /** rows with lower < id <= upper (upper null: no bound), ordered by id, at most limit */
  fetch(client: pg.Pool | pg.PoolClient, lower: number, upper: number | null, limit: number): Promise<R[]>;
  /** polling interval when no notification arrives (the trigger may be absent) */
  pollIntervalMs?: number;
  /** rows read per round */
  batchSize?: number;
  /** ids below the newest id checked for gaps when the tailer starts */
  startWindow?: number;
  /** a gap older than this is given up even if some unrelated long transaction is still open */
  gapTimeoutMs?: number;
  maxQueue?: number;
  name: string;
}

interface Gap {
  firstSeen: number;
  /** snapshot xmax when seen; once xmin passes it, every writer then running has ended */
  waitFor: bigint;
  phase: 1 | 2;
}

interface Subscriber<R> {
  after: number;
  /** rows already committed (held behind a gap) when a cursor-less subscriber arrived: not news to it */
  skip: Set<number> | null;
  filter: (row: R) => boolean;
  push(row: R): void;
  fail(error: Error): void;
}

/** Tailer settings from the environment (docs/configuration.md). */
export function tailerSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): { pollIntervalMs: number; maxQueue: number } {
  return { pollIntervalMs: intFromEnv(env, 'LIVE_POLL_MS', 500), maxQueue: intFromEnv(env, 'LIVE_MAX_QUEUE', 1000) };
}

/** Tailers started in this process, for the event-lag metric (subgraphs/common/metrics.ts). */
export const runningTailers = new Set<LogTailer<LogRow>>();

export class LogTailer<R extends LogRow> {
  private frontier = 0;
  /** when the frontier last moved (ms), for the event-lag metric */
  private advancedAt = Date.now();
  private behindSeenAt: number | null = null;
  private readonly held = new Map<number, R>();
  private readonly gaps = new Map<number, Gap>();
  private readonly subscribers = new Set<Subscriber<R>>();
  private listenClient: pg.PoolClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private wakeAgain = false;
  private stopped = false;
  private readyPromise: Promise<void> | null = null;
  private readonly opts: Required<Omit<LogTailerOptions<R>, 'fetch' | 'pool' | 'channel' | 'name' | 'table'>> & LogTailerOptions<R>;

  constructor(options: LogTailerOptions<R>) {
    this.opts = { pollIntervalMs: 500, batchSize: 1000, startWindow: 1000, gapTimeoutMs: 60_000, maxQueue: 1000, ...options };
  }

  /** Starts listening and settles the starting frontier. Idempotent. */
  start(): Promise<void> {
    runningTailers.add(this as unknown as LogTailer<LogRow>);
    this.readyPromise ??= this.init();
    return this.readyPromise;
  }

  private async init(): Promise<void> {
    await this.connectListener();
    const { rows } = await this.opts.pool.query<{ id: number | null }>(`SELECT max(id)::bigint AS id FROM ${this.opts.table}`);
    const newest = Number(rows[0]?.id ?? 0);
    // Settle the last ids before the newest one too: a writer may still hold one of them.
    this.frontier = Math.max(0, newest - this.opts.startWindow);
    await this.readOnce(); // a failure here fails start()
  }

  private async connectListener(): Promise<void> {
    try {
      const client = await this.opts.pool.connect();
      client.on('notification', () => this.wake());
      client.on('error', (err) => {
        if (this.listenClient !== client) return; // already released by stop()
        logger.warn({ tailer: this.opts.name, err }, 'listen connection lost; reconnecting');
        this.listenClient = null;
        client.release(true);
        if (!this.stopped) setTimeout(() => void this.connectListener().then(() => this.wake()), 1000).unref();
      });
      await client.query(`LISTEN ${this.opts.channel}`);
      if (this.stopped) {
        client.release();
        return;
      }
      this.listenClient = client;
    } catch (err) {
      // Polling still delivers everything, only later.
      logger.warn({ tailer: this.opts.name, err }, 'LISTEN failed; polling only');
      if (!this.stopped) setTimeout(() => void this.connectListener(), 5000).unref();
    }
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.wake(), this.opts.pollIntervalMs);
    this.timer.unref();
  }

  /** Runs one read now, or right after the one in progress. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.wakeAgain = true;
      return;
    }
    this.readOnce().catch((err) => logger.warn({ tailer: this.opts.name, err }, 'tail read failed; will retry'));
  }

  /** One read at a time: a wake-up during a read queues exactly one more, else polling resumes. */
  private async readOnce(): Promise<void> {
    this.running = true;
    try {
      await this.round();
    } finally {
      this.running = false;
      if (this.wakeAgain) {
        this.wakeAgain = false;
        this.wake();
      } else {
        this.schedule();
      }
    }
  }

  /** Reads what lies above the frontier, settles gaps, and broadcasts what became final. */
  private async round(): Promise<void> {
    const snap = await this.opts.pool.query<{ xmin: string; xmax: string }>(
      'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin, pg_snapshot_xmax(pg_current_snapshot())::text AS xmax',
    );
    const xmin = BigInt(snap.rows[0].xmin);
    const xmax = BigInt(snap.rows[0].xmax);
    // Read after taking the snapshot: a writer not yet visible to it is still running.
    const limit = this.opts.batchSize + this.held.size + this.gaps.size;
    const rows = await this.opts.fetch(this.opts.pool, this.frontier, null, limit);
    if (rows.length >= limit) this.wakeAgain = true; // a backlog: read on at once
    let top = this.frontier;
    for (const row of rows) {
      if (row.id <= this.frontier) continue;
      this.held.set(row.id, row);
      this.gaps.delete(row.id);
      if (row.id > top) top = row.id;
    }
    for (const id of this.held.keys()) if (id > top) top = id;
    const now = Date.now();
    for (let id = this.frontier + 1; id < top; id++) {
      if (this.held.has(id)) continue;
      const gap = this.gaps.get(id);
      if (!gap) {
        this.gaps.set(id, { firstSeen: now, waitFor: xmax, phase: 1 });
      } else if (xmin >= gap.waitFor) {
        if (gap.phase === 1) {
          gap.phase = 2;
          gap.waitFor = xmax;
        } else {
          this.gaps.delete(id); // never committed (rolled back)
          this.settledGap(id);
        }
      } else if (now - gap.firstSeen > this.opts.gapTimeoutMs) {
        logger.warn({ tailer: this.opts.name, id }, 'giving up on a gap held open by a long transaction');
        this.gaps.delete(id);
        this.settledGap(id);
      }
    }
    this.advance();
  }

  /** ids known never to commit, waiting for the frontier to pass them */
  private readonly deadIds = new Set<number>();

  private settledGap(id: number): void {
    this.deadIds.add(id);
  }

  private advance(): void {
    const ready: R[] = [];
    for (;;) {
      const next = this.frontier + 1;
      const row = this.held.get(next);
      if (row) {
        this.held.delete(next);
        ready.push(row);
        this.frontier = next;
      } else if (this.deadIds.delete(next)) {
        this.frontier = next;
      } else {
        break;
      }
    }
    if (ready.length > 0) this.advancedAt = Date.now();
    for (const row of ready) this.broadcast(row);
  }

  private broadcast(row: R): void {
    for (const sub of this.subscribers) {
      if (row.id > sub.after && !sub.skip?.has(row.id) && sub.filter(row)) sub.push(row);
    }
  }

  /** The id below which everything is settled: a new live subscriber starts here. */
  get position(): number {
    return this.frontier;
  }

  /**
   * Rows after `after` (null: from now on) that pass `filter`, first replayed from the table,
   * then live. Ends with SLOW_CONSUMER when the consumer falls more than maxQueue rows behind.
   */
  subscribe(after: number | null, filter: (row: R) => boolean): AsyncIterableIterator<R> {
    const queue: R[] = [];
    let waiting: ((result: IteratorResult<R>) => void) | null = null;
    let failure: ((err: Error) => void) | null = null;
    let error: Error | null = null;
    let done = false;
    let replaying = true;
    const buffered: R[] = [];
    const maxQueue = this.opts.maxQueue;

    const deliver = (row: R) => {
      if (done) return;
      if (waiting) {
        const resolve = waiting;
        waiting = null;
        failure = null;
        resolve({ value: row, done: false });
      } else if (queue.length >= maxQueue) {
        sub.fail(codedError('SLOW_CONSUMER', 'Subscriber fell too far behind; resubscribe with your last cursor.'));
      } else {
        queue.push(row);
      }
    };

    const sub: Subscriber<R> = {
      after: after ?? Number.MAX_SAFE_INTEGER,
      skip: null,
      filter,
      push: (row) => (replaying ? buffered.push(row) : deliver(row)),
      fail: (err) => {
        error = err;
        cleanup();
        if (failure) failure(err);
      },
    };

    const cleanup = () => {
      done = true;
      this.subscribers.delete(sub);
    };

    const replay = async () => {
      await this.start();
      const target = this.frontier;
      if (after === null) {
        sub.after = target;
        sub.skip = new Set(this.held.keys());
      }
      this.subscribers.add(sub);
      let lower = sub.after;
      while (lower < target && !done) {
        const rows = await this.opts.fetch(this.opts.pool, lower, target, this.opts.batchSize);
        if (rows.length === 0) break;
        for (const row of rows) if (filter(row)) deliver(row);
        lower = rows[rows.length - 1].id;
        // Respect the same memory bound during a long replay.
        while (queue.length >= maxQueue && !done) await new Promise((r) => setTimeout(r, 5));
      }
      replaying = false;
      for (const row of buffered.splice(0)) deliver(row);
    };
    const replayed = replay().catch((err) => sub.fail(err));
    void replayed;

    const iterator: AsyncIterableIterator<R> = {
      next: () => {
        if (queue.length) return Promise.resolve({ value: queue.shift()!, done: false });
        if (error) return Promise.reject(error);
        if (done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => {
          waiting = resolve;
          failure = reject;
        });
      },
      return: () => {
        cleanup();
        if (waiting) waiting({ value: undefined, done: true });
        return Promise.resolve({ value: undefined, done: true });
      },
      throw: (err: unknown) => {
        cleanup();
        return Promise.reject(err);
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
    return iterator;
  }

  /**
   * How far live delivery is behind the database: committed rows above the frontier, and how long
   * the frontier has stood still while such rows exist (0 when caught up).
   */
  async lag(): Promise<{ name: string; table: string; rows: number; seconds: number }> {
    const { rows } = await this.opts.pool.query<{ id: string | null }>(`SELECT max(id)::bigint AS id FROM ${this.opts.table}`);
    const behind = Math.max(0, Number(rows[0]?.id ?? 0) - this.frontier);
    const now = Date.now();
    this.behindSeenAt = behind > 0 ? (this.behindSeenAt ?? now) : null;
    const since = Math.max(this.behindSeenAt ?? now, this.advancedAt);
    return { name: this.opts.name, table: this.opts.table, rows: behind, seconds: behind > 0 ? (now - since) / 1000 : 0 };
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    runningTailers.delete(this as unknown as LogTailer<LogRow>);
    if (this.timer) clearTimeout(this.timer);
    for (const sub of this.subscribers) sub.fail(codedError('INTERNAL_SERVER_ERROR', 'Service shutting down; resubscribe with your last cursor.'));
    this.subscribers.clear();
    if (this.listenClient) {
      const client = this.listenClient;
      this.listenClient = null;
      await client.query(`UNLISTEN ${this.opts.channel}`).catch(() => undefined);
      client.removeAllListeners('notification');
      client.release();
    }
  }
}
