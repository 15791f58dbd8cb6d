/**
 * workflowStatistics rows remembered per full period (statistics.ts, byPeriod): a dashboard asks
 * for the same year of daily buckets again and again while only today's runs change. A period's
 * rows are reused while its stamp — the sum of its days' versions in omero_graph_workflow_run_day,
 * raised in the transaction that writes any run of that day (run-summary.ts) — is unchanged and
 * no run of it waits above the summary's watermark, so a reused answer is the one a new statement
 * would give in the same snapshot. Keys name everything else the rows depend on: the summary's
 * build, the caller's access scope, the grouping, the period and the filter.
 *
 * Bounded by rows (STATISTICS_CACHE_ROWS, docs/limits.md; an empty period counts as one): the
 * least recently used statements go first.
 */
export const STATISTICS_CACHE_ROWS = 50_000;

interface PeriodRows<R> {
  stamp: string;
  rows: R[];
}

const weight = (rows: unknown[]) => Math.max(1, rows.length);

export class StatisticsCache<R> {
  /** statement key → period start (ms) → rows; least recently used statement first */
  private readonly entries = new Map<string, Map<number, PeriodRows<R>>>();
  private held = 0;

  constructor(readonly maxRows = STATISTICS_CACHE_ROWS) {}

  /** Rows held, empty periods counted as one. */
  get size(): number {
    return this.held;
  }

  /** The rows of the period starting at `period` under `key`, when remembered with this `stamp`. */
  get(key: string, period: number, stamp: string): R[] | undefined {
    const entry = this.touch(key);
    const found = entry?.get(period);
    return found?.stamp === stamp ? found.rows : undefined;
  }

  set(key: string, period: number, stamp: string, rows: R[]): void {
    if (weight(rows) > this.maxRows) return;
    let entry = this.touch(key);
    if (!entry) this.entries.set(key, (entry = new Map()));
    const old = entry.get(period);
    if (old) this.held -= weight(old.rows);
    entry.set(period, { stamp, rows });
    this.held += weight(rows);
    for (const [other, periods] of this.entries) {
      if (this.held <= this.maxRows) return;
      if (other === key) continue;
      for (const p of periods.values()) this.held -= weight(p.rows);
      this.entries.delete(other);
    }
    // this statement alone is over the bound: its oldest periods go
    for (const [start, p] of entry) {
      if (this.held <= this.maxRows) return;
      entry.delete(start);
      this.held -= weight(p.rows);
    }
  }

  /** The entry of `key`, now the most recently used. */
  private touch(key: string): Map<number, PeriodRows<R>> | undefined {
    const entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry);
    }
    return entry;
  }
}
