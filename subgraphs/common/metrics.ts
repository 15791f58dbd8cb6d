import { Gauge, type Registry } from 'prom-client';
import { runningTailers } from './eventlog';

/**
 * Event lag behind the database, from the live-status tailers running in this process
 * (docs/observability.md): the imports and workflows subgraphs, and the gateway when the whole
 * stack runs in one process. Read when Prometheus scrapes, never in between.
 */
export function registerEventLag(registry: Registry): void {
  // both gauges are collected at once on a scrape: one read of the tailers serves both
  type Lag = { name: string; table: string; rows: number; seconds: number };
  let pending: { at: number; lags: Promise<Lag[]> } | null = null;
  const read = (): Promise<Lag[]> => {
    if (!pending || Date.now() - pending.at > 250) {
      pending = {
        at: Date.now(),
        lags: Promise.all([...runningTailers].map((t) => t.lag().catch(() => null))).then((all) => all.filter((l): l is Lag => l !== null)),
      };
    }
    return pending!.lags;
  };
  new Gauge({
    name: 'omero_graph_event_lag_rows',
    help: 'committed log rows not yet delivered to live subscribers',
    labelNames: ['table'],
    registers: [registry],
    async collect() {
      const lags = await read();
      this.reset();
      for (const lag of lags) this.set({ table: lag.table }, lag.rows);
    },
  });
  new Gauge({
    name: 'omero_graph_event_lag_seconds',
    help: 'how long live delivery has stood still while committed rows wait (0 when caught up)',
    labelNames: ['table'],
    registers: [registry],
    async collect() {
      const lags = await read();
      this.reset();
      for (const lag of lags) this.set({ table: lag.table }, lag.seconds);
    },
  });
  // rows held behind a transaction that may still commit a lower id (docs/live-status.md)
  new Gauge({
    name: 'omero_graph_live_held_rows',
    help: 'committed log rows held back behind an id that a still-open transaction may commit',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      this.reset();
      for (const tailer of runningTailers) this.set({ table: tailer.holds().table }, tailer.holds().rows);
    },
  });
  new Gauge({
    name: 'omero_graph_live_oldest_hold_seconds',
    help: 'how long the oldest held row (or a resume waiting for transactions open at start) has waited (0 when none)',
    labelNames: ['table'],
    registers: [registry],
    collect() {
      this.reset();
      for (const tailer of runningTailers) this.set({ table: tailer.holds().table }, tailer.holds().oldestSeconds);
    },
  });
}
