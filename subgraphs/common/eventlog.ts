import type pg from 'pg';
import { intFromEnv } from './config';
import { codedError } from './errors';
import { logger } from './logger';
import { replayRange, Settlement } from './settlement';

/**
 * Tails an append-only table with a monotonic id (imports.id, workflowtracker_events.id) and fans
 * new rows out to subscribers, in id order, with no gap and no duplicate. The protocol is written
 * down in docs/live-status.md; the rules, briefly:
 *
 * - One tailer per table per process: one LISTEN connection and one read per wake-up, whatever the
 *   number of subscribers. A pg_notify trigger wakes it at once; without the trigger it polls.
 * - Ids can commit out of order. Rows above a missing id are held until it is certain that no
 *   transaction can still commit a lower id: the transactions holding the table's write lock
 *   after the read have all ended (subgraphs/common/settlement.ts). No timeout, no window; a long
 *   transaction on another table never matters.
 * - At start the frontier is the table's max id; transactions open at that moment may still
 *   commit ids below it, so a subscriber resuming below it waits for them before its replay.
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
  /** the log table (a trusted constant, never user input); its `id` comes from a sequence */
  table: string;
  /** rows with lower < id <= upper (upper null: no bound), ordered by id, at most limit */
  fetch(client: pg.Pool | pg.PoolClient, lower: number, upper: number | null, limit: number): Promise<R[]>;
  /** polling interval when no notification arrives (the trigger may be absent); also how often held gaps are re-checked */
  pollIntervalMs?: number;
  /** rows read per round */
  batchSize?: number;
  maxQueue?: number;
  name: string;
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

/**
 * The transactions that can still commit an id of the table: those holding its write lock, or a
 * lock on the sequence behind its id (nextval locks the sequence until the transaction ends, so a
 * writer that took its id with a separate nextval before its INSERT is waited for as well).
 * pg_locks lists fast-path locks and prepared transactions too, and any role may read it. The
 * process id is added to the virtual transaction id so that ids reused after a server restart
 * are unlikely to be taken for an old holder (which would only make us wait longer).
 */
export const HOLDERS_SQL = `SELECT l.virtualtransaction || ':' || coalesce(l.pid, 0) AS holder
  FROM pg_locks l
 WHERE l.locktype = 'relation' AND l.mode = 'RowExclusiveLock'
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.relation = ANY($1::oid[])`;

/** the cache of the sequence behind the table's id: ids are handed out in order only with cache 1 */
export const SEQUENCE_SQL = `SELECT $1::regclass::oid AS relation, q.seq::regclass::oid AS sequence, s.seqcache::int AS cache
  FROM (SELECT pg_get_serial_sequence($1, 'id') AS seq) q
  LEFT JOIN pg_sequence s ON s.seqrelid = q.seq::regclass`;

export class LogTailer<R extends LogRow> {
  private core: Settlement<R> | null = null;
  /** the table and the sequence behind its id (pg_locks relations) */
  private relations: number[] = [];
  /** when the frontier last moved (ms), for the event-lag metric */
  private advancedAt = Date.now();
  private behindSeenAt: number | null = null;
  private readonly subscribers = new Set<Subscriber<R>>();
  /** subscribers waiting for the start barrier to pass */
  private startWaiters: Array<() => void> = [];
  private listenClient: pg.PoolClient | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  private wakeAgain = false;
  private stopped = false;
  private readyPromise: Promise<void> | null = null;
  private readonly opts: Required<Omit<LogTailerOptions<R>, 'fetch' | 'pool' | 'channel' | 'name' | 'table'>> & LogTailerOptions<R>;

  constructor(options: LogTailerOptions<R>) {
    this.opts = { pollIntervalMs: 500, batchSize: 1000, maxQueue: 1000, ...options };
  }

  /** Starts listening and settles the starting frontier. Idempotent. */
  start(): Promise<void> {
    runningTailers.add(this as unknown as LogTailer<LogRow>);
    this.readyPromise ??= this.init();
    return this.readyPromise;
  }

  private async init(): Promise<void> {
    const { rows: seq } = await this.opts.pool.query<{ relation: number; sequence: number | null; cache: number | null }>(SEQUENCE_SQL, [this.opts.table]);
    this.relations = [Number(seq[0].relation), ...(seq[0].sequence === null ? [] : [Number(seq[0].sequence)])];
    if (seq[0].cache === null) {
      logger.warn({ tailer: this.opts.name, table: this.opts.table }, 'the id has no sequence; live settlement assumes ids handed out in order');
    } else if (seq[0].cache > 1) {
      // a cached sequence hands each session its own block of ids: a lower id can commit at any time
      throw new Error(`${this.opts.table}.id comes from a sequence with CACHE ${seq[0].cache}; live status needs CACHE 1 (docs/live-status.md)`);
    }
    await this.connectListener();
    const { rows } = await this.opts.pool.query<{ id: string | null }>(`SELECT max(id)::bigint AS id FROM ${this.opts.table}`);
    const newest = Number(rows[0]?.id ?? 0);
    // read after the max: a transaction that took an id below it and is still open holds the lock now
    const holders = await this.readHolders();
    this.core = new Settlement<R>({ upTo: newest, holders }, Date.now());
    await this.readOnce(); // a failure here fails start()
  }

  private async readHolders(): Promise<Set<string>> {
    const { rows } = await this.opts.pool.query<{ holder: string }>(HOLDERS_SQL, [this.relations]);
    return new Set(rows.map((r) => r.holder));
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
    if (this.stopped || !this.core) return;
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

  /**
   * Holders (if a barrier waits), then rows above the frontier, then — if rows are held behind a
   * gap — the holders that decide it. The order of the three reads is the whole argument.
   */
  private async round(): Promise<void> {
    const core = this.core!;
    if (core.waiting) core.holdersNow(await this.readHolders());
    const limit = this.opts.batchSize;
    const rows = await this.opts.fetch(this.opts.pool, core.frontier, null, limit);
    if (rows.length >= limit) this.wakeAgain = true; // a backlog: read on at once
    const ready = core.take(rows, Date.now());
    if (core.needsBarrier) {
      const holders = await this.readHolders();
      core.wait(holders);
      if (holders.size === 0) this.wakeAgain = true; // the writers have ended already: settle at once
    }
    if (!core.startBarrier) for (const resolve of this.startWaiters.splice(0)) resolve();
    if (ready.length > 0) this.advancedAt = Date.now();
    for (const row of ready) this.broadcast(row);
  }

  private broadcast(row: R): void {
    for (const sub of this.subscribers) {
      if (row.id > sub.after && !sub.skip?.has(row.id) && sub.filter(row)) sub.push(row);
    }
  }

  /** rows held behind a gap and the age of the oldest hold, for /metrics */
  holds(): { name: string; table: string; rows: number; oldestSeconds: number } {
    const h = this.core?.holds(Date.now()) ?? { rows: 0, oldestSeconds: 0 };
    return { name: this.opts.name, table: this.opts.table, ...h };
  }

  /** The id below which everything is settled: a new live subscriber starts here. */
  get position(): number {
    return this.core?.frontier ?? 0;
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

    /** set while waiting for the start barrier: a subscriber that leaves stops waiting at once */
    let stopWaiting: (() => void) | null = null;
    const cleanup = () => {
      done = true;
      this.subscribers.delete(sub);
      if (stopWaiting) {
        const resolve = stopWaiting;
        this.startWaiters = this.startWaiters.filter((w) => w !== resolve);
        resolve();
      }
    };

    const replay = async () => {
      await this.start();
      const core = this.core!;
      let range = replayRange(after, core.frontier, core.startBarrier);
      while (range === 'wait' && !done && !this.stopped) {
        await new Promise<void>((resolve) => {
          stopWaiting = resolve;
          this.startWaiters.push(resolve);
        });
        stopWaiting = null;
        range = replayRange(after, core.frontier, core.startBarrier);
      }
      if (done) return;
      if (range === 'wait') throw codedError('INTERNAL_SERVER_ERROR', 'Service shutting down; resubscribe with your last cursor.');
      const target = range.to;
      // live from above what the replay reads: rows a round took before `target` was read may
      // still be on their way to the broadcast (it follows the round's holders read), and those
      // are in the replay already
      sub.after = target;
      if (after === null) sub.skip = new Set(core.heldIds());
      this.subscribers.add(sub);
      let lower = range.from;
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
    const behind = Math.max(0, Number(rows[0]?.id ?? 0) - this.position);
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
    for (const resolve of this.startWaiters.splice(0)) resolve();
    if (this.listenClient) {
      const client = this.listenClient;
      this.listenClient = null;
      await client.query(`UNLISTEN ${this.opts.channel}`).catch(() => undefined);
      client.removeAllListeners('notification');
      client.release();
    }
  }
}
