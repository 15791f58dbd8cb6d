/**
 * Exact settlement of an append-only log whose ids come from a sequence: which rows are final
 * (no lower id can still commit) and may be released in id order. Pure: the PostgreSQL facts it
 * needs are passed in by the tailer (subgraphs/common/eventlog.ts); the rule is explained in
 * docs/live-status.md.
 *
 * The fact it rests on: every writer of the table holds a lock on it (RowExclusiveLock, seen in
 * pg_locks) from before it takes an id from the sequence until it commits or aborts. So once the
 * rows above the frontier have been read, the only transactions that can still commit an id
 * below the highest one seen are those holding that lock at a moment *after* the read — the
 * "holders". When every one of them has ended, a fresh read shows every id below that line that
 * will ever exist. A writer that takes the lock later takes its ids later, above every id seen.
 */

/** Transactions (by virtual transaction id) holding the write lock on the table at one moment. */
export type Holders = ReadonlySet<string>;

/** Ids up to `upTo` are settled once every transaction in `holders` has ended. */
export interface Barrier {
  upTo: number;
  holders: Holders;
}

export function barrierPassed(barrier: Barrier, running: Holders): boolean {
  for (const holder of barrier.holders) if (running.has(holder)) return false;
  return true;
}

/**
 * Where a subscriber's replay from the table ends: `wait` while a transaction open when the
 * tailer started may still commit an id above the cursor (`startBarrier`), else the range
 * (from, to] to read before live rows take over. No cursor: live from the frontier on.
 */
export function replayRange(after: number | null, frontier: number, startBarrier: Barrier | null): { from: number; to: number } | 'wait' {
  if (after === null) return { from: frontier, to: frontier };
  if (startBarrier && after < startBarrier.upTo) return 'wait';
  return { from: after, to: Math.max(after, frontier) };
}

export class Settlement<R extends { id: number }> {
  /** every id at or below it is final: delivered, or known never to commit */
  frontier: number;
  /** ids at or below it are final even where no row exists (rolled back) */
  private settledUpTo: number;
  /** the gaps below the highest id seen wait for these transactions */
  private barrier: Barrier | null = null;
  /** at start, ids up to the table's max wait for the transactions then open (a restart mid-transaction) */
  startBarrier: Barrier | null;
  /** rows read but not yet final, with when each was first seen (ms) */
  private readonly heldSince = new Map<number, number>();
  private heldCount = 0;
  /** the highest id of the last read: the line a new barrier covers */
  private highestSeen = 0;
  private readonly startedAt: number;

  constructor(start: Barrier, now: number) {
    this.frontier = start.upTo;
    this.settledUpTo = start.upTo;
    this.startBarrier = start.holders.size > 0 ? start : null;
    this.startedAt = now;
  }

  /** whether the caller must read the holders before reading rows (a barrier is waiting) */
  get waiting(): boolean {
    return this.barrier !== null || this.startBarrier !== null;
  }

  /** Holders read before the next read of rows: the barriers whose holders have all ended pass. */
  holdersNow(running: Holders): void {
    if (this.barrier && barrierPassed(this.barrier, running)) {
      this.settledUpTo = Math.max(this.settledUpTo, this.barrier.upTo);
      this.barrier = null;
    }
    if (this.startBarrier && barrierPassed(this.startBarrier, running)) this.startBarrier = null;
  }

  /**
   * Rows above the frontier from one read (in id order, any limit), taken after the last
   * holdersNow: returns those now final, in id order, and keeps the rest held.
   */
  take(rows: readonly R[], now: number): R[] {
    const ready: R[] = [];
    let held = 0;
    let highest = this.frontier;
    for (const row of rows) {
      if (row.id <= this.frontier) continue;
      highest = Math.max(highest, row.id);
      // the ids between the frontier and this row are either all final, or this row waits
      if (held === 0 && (row.id === this.frontier + 1 || row.id - 1 <= this.settledUpTo)) {
        ready.push(row);
        this.frontier = row.id;
        this.heldSince.delete(row.id);
      } else {
        held++;
        if (!this.heldSince.has(row.id)) this.heldSince.set(row.id, now);
      }
    }
    for (const id of this.heldSince.keys()) if (id <= this.frontier) this.heldSince.delete(id);
    this.heldCount = held;
    this.highestSeen = highest;
    return ready;
  }

  /** rows are held behind a gap and no barrier decides it yet: read the holders (after the rows) and pass them to `wait` */
  get needsBarrier(): boolean {
    return this.heldCount > 0 && this.barrier === null;
  }

  /** The holders read after the last `take`: the gaps below its highest id wait for them to end. */
  wait(holders: Holders): void {
    if (this.barrier === null && this.heldCount > 0) this.barrier = { upTo: this.highestSeen, holders };
  }

  /** ids of the rows held now (committed, waiting behind a gap) */
  heldIds(): number[] {
    return [...this.heldSince.keys()];
  }

  /** rows held behind a gap, and the age of the oldest hold (s), counting the start barrier as a hold */
  holds(now: number): { rows: number; oldestSeconds: number } {
    let oldest = now;
    for (const since of this.heldSince.values()) oldest = Math.min(oldest, since);
    if (this.startBarrier) oldest = Math.min(oldest, this.startedAt);
    return { rows: this.heldCount, oldestSeconds: (now - oldest) / 1000 };
  }
}
