import DataLoader from 'dataloader';
import type pg from 'pg';
import type { CallerAccess } from '../../common/access';
import { importStatistics, type ImportStatisticsKey, type StatisticsPeriod } from './statistics';
import { filteredOrders, type ImportOrderFilter } from './filter';
import { pageSql, type Page } from '../../common/pagination';
import { isFinished, stageOf, type ImportStage } from '../stages';

/** One row of `imports`: one stage transition of one order. */
export interface StageRow {
  id: number;
  uuid: string;
  stage: string;
  timestamp: Date | null;
  group_name: string;
  user_name: string;
  destination_id: string;
  destination_type: string;
  files: string;
  file_names: string | null;
  description: string | null;
  preprocessing_id: number | null;
}

export interface PreprocessingRow {
  id: number;
  container: string;
  input_file: string;
  output_folder: string;
  alt_output_folder: string | null;
  extra_params: unknown;
}

/** An import order: the fold of its append-only stage rows. */
export interface ImportOrder {
  uuid: string;
  stage: ImportStage;
  stageRaw: string;
  rows: StageRow[];
  latest: StageRow;
  preprocessingId: number | null;
  createdAt: Date | null;
  updatedAt: Date | null;
  finishedAt: Date | null;
}

/**
 * The stage-row columns we read. `description` arrived with importer migration 78d3d6d84aec
 * (2025-08); older databases lack it and read as NULL. `import_options` is never read.
 */
function stageColumns(hasDescription: boolean): string {
  return `id, uuid, stage, "timestamp", group_name, user_name, destination_id, destination_type,
  files, file_names, ${hasDescription ? 'description' : 'NULL::text AS description'}, preprocessing_id`;
}

/** Which optional columns this database's imports table has (checked once per pool). */
const descriptionColumn = new WeakMap<pg.Pool | pg.PoolClient, Promise<boolean>>();
function hasDescription(client: pg.Pool | pg.PoolClient): Promise<boolean> {
  let known = descriptionColumn.get(client);
  if (!known) {
    known = client
      .query(`SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'imports' AND column_name = 'description'`)
      .then((r) => (r.rowCount ?? 0) > 0);
    known.catch(() => descriptionColumn.delete(client));
    descriptionColumn.set(client, known);
  }
  return known;
}

export function foldOrder(rows: StageRow[]): ImportOrder {
  const sorted = [...rows].sort((a, b) => a.id - b.id);
  const latest = sorted[sorted.length - 1];
  const stage = stageOf(latest.stage);
  return {
    uuid: latest.uuid,
    stage,
    stageRaw: latest.stage,
    rows: sorted,
    latest,
    preprocessingId: [...sorted].reverse().find((r) => r.preprocessing_id != null)?.preprocessing_id ?? null,
    createdAt: sorted[0].timestamp,
    updatedAt: latest.timestamp,
    finishedAt: isFinished(stage) ? latest.timestamp : null,
  };
}

/** JSON arrays as BIOMERO writes them; `[]`, null and broken text all read as no files. */
export function parseJsonList(text: string | null): string[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.map(String) : [];
  } catch {
    return [];
  }
}

/**
 * Import orders as the caller may see them: built per request with the caller's access, so each
 * read is scoped (orders by the group and user of their latest row, OMERO's rule; access.ts).
 */
export class ImportOrderSource {
  constructor(
    private readonly pool: pg.Pool,
    private readonly access: CallerAccess,
  ) {}

  /** Every order by uuid, folded; the access rule is applied by `order` at each read. */
  private readonly folded = new DataLoader<string, ImportOrder | null>(async (uuids) => {
    const columns = stageColumns(await hasDescription(this.pool));
    const { rows } = await this.pool.query<StageRow>(`SELECT ${columns} FROM imports WHERE uuid = ANY($1::text[]) ORDER BY id`, [uuids]);
    const byUuid = new Map<string, StageRow[]>();
    for (const row of rows) byUuid.set(row.uuid, [...(byUuid.get(row.uuid) ?? []), row]);
    return uuids.map((u) => {
      const list = byUuid.get(u);
      return list ? foldOrder(list) : null;
    });
  });

  private readonly preprocessingRows = new DataLoader<number, PreprocessingRow | null>(async (ids) => {
    const { rows } = await this.pool.query<PreprocessingRow>(
      'SELECT id, container, input_file, output_folder, alt_output_folder, extra_params FROM imports_preprocessing WHERE id = ANY($1::int[])',
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  });

  /** Whether the caller may read this stage row (live events: read at each row, the caller may be renewed). */
  mayRead(row: StageRow): boolean {
    return this.access.canSee({ groupName: row.group_name, userName: row.user_name });
  }

  /** One order, or null when missing or hidden (the same answer). `fresh` re-reads it (after a write, a live event). */
  async order(uuid: string, fresh = false): Promise<ImportOrder | null> {
    if (fresh) this.folded.clear(uuid);
    const order = await this.folded.load(uuid);
    return order && this.mayRead(order.latest) ? order : null;
  }

  /** The preprocessing step of an order the caller has already read. */
  preprocessing(order: ImportOrder): Promise<PreprocessingRow | null> {
    return order.preprocessingId == null ? Promise.resolve(null) : this.preprocessingRows.load(order.preprocessingId);
  }

  /** Visible orders matching the filter, newest first, keyed by the id of their first row (stable while stages append). */
  async page(filter: ImportOrderFilter | null | undefined, page: Page): Promise<{ key: number; node: ImportOrder }[]> {
    const { cte, params } = filteredOrders(this.access.scope(), filter);
    const keyset = pageSql(page, 'first_id', 'DESC', params.length + 1);
    const { rows } = await this.pool.query<{ uuid: string; first_id: number }>(
      `WITH ${cte} SELECT uuid, first_id FROM orders WHERE ${keyset.where} ORDER BY first_id ${keyset.direction} LIMIT $${params.length + 3}`,
      [...params, ...keyset.params, page.limit + 1],
    );
    const orders = await Promise.all(rows.map((r) => this.folded.load(r.uuid)));
    return rows.map((r, i) => ({ key: Number(r.first_id), node: orders[i]! }));
  }

  async count(filter: ImportOrderFilter | null | undefined): Promise<number> {
    const { cte, params } = filteredOrders(this.access.scope(), filter);
    const { rows } = await this.pool.query<{ n: number }>(`WITH ${cte} SELECT count(*)::int AS n FROM orders`, params);
    return rows[0].n;
  }

  /** importStatistics over the orders the caller may see. */
  statistics(period: StatisticsPeriod, range: { from: Date; to: Date }, filter: ImportOrderFilter | null | undefined, keys: ImportStatisticsKey[]) {
    return importStatistics(this.pool, this.access.scope(), period, range, filter, keys);
  }

  /** Visible orders naming a file path, newest first (none for an anonymous caller). */
  async ordersOfFile(path: string): Promise<ImportOrder[]> {
    if (!this.access.caller) return [];
    const orders = await Promise.all((await this.uuidsByFile.load(path)).map((u) => this.order(u)));
    return orders.filter((o): o is ImportOrder => o !== null);
  }

  private readonly uuidsByFile = new DataLoader<string, string[]>(async (paths) => {
    const { rows } = await this.pool.query<{ path: string; uuid: string }>(
      `SELECT p.path, i.uuid FROM unnest($1::text[]) AS p(path)
         JOIN imports i ON strpos(i.files, to_json(p.path)::text) > 0
        GROUP BY p.path, i.uuid ORDER BY p.path, max(i.id) DESC`,
      [paths],
    );
    return paths.map((path) => rows.filter((r) => r.path === path).map((r) => r.uuid));
  });
}

/** Reads stage rows for the live tailer: lower < id <= upper, in id order. */
export async function fetchStageRows(client: pg.Pool | pg.PoolClient, lower: number, upper: number | null, limit: number): Promise<StageRow[]> {
  const { rows } = await client.query<StageRow>(
    `SELECT ${stageColumns(await hasDescription(client))} FROM imports WHERE id > $1 AND ($2::bigint IS NULL OR id <= $2) ORDER BY id LIMIT $3`,
    [lower, upper, limit],
  );
  return rows;
}
