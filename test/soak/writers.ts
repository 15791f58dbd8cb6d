/**
 * Concurrent writers of the campaign, appending rows the way BIOMERO writes them: BIOMERO.importer
 * one `imports` row per stage change of an order (one transaction each), BIOMERO's tracker
 * (eventsourcing_sqlalchemy) a run's first events in one transaction. Every few transactions one
 * is held open while the other writers commit higher ids: out-of-order commits. Failures (a
 * PostgreSQL restart) are waited out; an aborted transaction's rows never existed.
 */
import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { IMPORT_STAGES } from '../../database/demo/imports';
import { appendEvents, newRunEvents } from '../../database/demo/workflows';

export type WriterKind = 'imports' | 'workflows';

/** how many rows the writers may still write, shared by all of them */
export interface Budget {
  remaining: number;
}

const STAGES = [IMPORT_STAGES.pending, IMPORT_STAGES.started, IMPORT_STAGES.completed];

/** one transaction's rows; returns how many */
async function writeImportStage(client: pg.PoolClient, order: { uuid: string; stage: number }): Promise<number> {
  await client.query(
    `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names)
     VALUES ('lab-private', 'alice', '1', 'Dataset', $1, $2, now(), '["/data/soak/a.tif"]', '["a.tif"]')`,
    [STAGES[order.stage], order.uuid],
  );
  return 1;
}

async function writeRunStart(client: pg.PoolClient): Promise<number> {
  const events = newRunEvents({ id: randomUUID(), taskId: randomUUID(), user: 2, group: 3 });
  await appendEvents(client, events);
  return events.length;
}

export class Writer {
  private stopped = false;
  private readonly done: Promise<void>;
  errors = 0;
  private order = { uuid: randomUUID(), stage: 0 };

  constructor(
    private readonly pool: pg.Pool,
    private readonly kind: WriterKind,
    private readonly budget: Budget,
    /** rows per second this writer aims at */
    private readonly rate: number,
    /** every holdEvery-th transaction stays open holdMs while the others commit */
    private readonly holdEvery: number,
    private readonly holdMs: number,
  ) {
    this.done = this.run();
  }

  /** one transaction; held open holdMs (± 50 %) before its commit when `hold` */
  private async transaction(hold: boolean): Promise<void> {
    let client: pg.PoolClient | null = null;
    try {
      client = await this.pool.connect();
      await client.query('BEGIN');
      const order = this.order;
      if (this.kind === 'imports') this.order = order.stage + 1 < STAGES.length ? { ...order, stage: order.stage + 1 } : { uuid: randomUUID(), stage: 0 };
      const rows = this.kind === 'imports' ? await writeImportStage(client, order) : await writeRunStart(client);
      if (hold) await new Promise((r) => setTimeout(r, this.holdMs * (0.5 + Math.random())));
      await client.query('COMMIT');
      client.release();
      this.budget.remaining -= rows;
    } catch {
      this.errors++;
      client?.release(true);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  private async run(): Promise<void> {
    // a held transaction runs beside the writer's others, which commit higher ids meanwhile
    let held: Promise<void> | null = null;
    for (let i = 1; !this.stopped && this.budget.remaining > 0; i++) {
      const started = Date.now();
      if (i % this.holdEvery === 0 && !held) {
        held = this.transaction(true).finally(() => (held = null));
        continue;
      }
      await this.transaction(false);
      const rows = this.kind === 'imports' ? 1 : 3;
      const pause = (rows * 1000) / this.rate - (Date.now() - started);
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
    }
    await held;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  /** resolves when the budget is spent (or stop was called) */
  finished(): Promise<void> {
    return this.done;
  }
}
