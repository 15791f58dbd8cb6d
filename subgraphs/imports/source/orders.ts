import DataLoader from 'dataloader';
import type pg from 'pg';
import { groupScopeParams, groupScopeSql, type GroupScope } from '../../common/access';
import type { Page } from '../../common/pagination';
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

const STAGE_COLUMNS = `id, uuid, stage, "timestamp", group_name, user_name, destination_id, destination_type,
  files, file_names, description, preprocessing_id`;

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

/** Orders are visible by group and user *name*, as imports records them. */
const VISIBLE = groupScopeSql('min(group_name)', 'min(user_name)', 1, 'name');

export class ImportOrderSource {
  constructor(private readonly pool: pg.Pool) {}

  /** Orders by uuid (without access checks: resolvers apply the caller's scope). */
  readonly orders = new DataLoader<string, ImportOrder | null>(async (uuids) => {
    const { rows } = await this.pool.query<StageRow>(`SELECT ${STAGE_COLUMNS} FROM imports WHERE uuid = ANY($1::text[]) ORDER BY id`, [uuids]);
    const byUuid = new Map<string, StageRow[]>();
    for (const row of rows) byUuid.set(row.uuid, [...(byUuid.get(row.uuid) ?? []), row]);
    return uuids.map((u) => {
      const list = byUuid.get(u);
      return list ? foldOrder(list) : null;
    });
  });

  readonly preprocessing = new DataLoader<number, PreprocessingRow | null>(async (ids) => {
    const { rows } = await this.pool.query<PreprocessingRow>(
      'SELECT id, container, input_file, output_folder, alt_output_folder, extra_params FROM imports_preprocessing WHERE id = ANY($1::int[])',
      [ids],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    return ids.map((id) => byId.get(id) ?? null);
  });

  /** Visible orders, newest first, keyed by the id of their first row (stable while stages append). */
  async page(scope: GroupScope, page: Page): Promise<{ uuid: string; first_id: number }[]> {
    const { rows } = await this.pool.query<{ uuid: string; first_id: number }>(
      `SELECT uuid, min(id) AS first_id FROM imports GROUP BY uuid
        HAVING ${VISIBLE} AND ($5::int IS NULL OR min(id) < $5)
        ORDER BY first_id DESC LIMIT $6`,
      [...groupScopeParams(scope, 'name'), page.afterKey, page.limit + 1],
    );
    return rows;
  }

  async count(scope: GroupScope): Promise<number> {
    const { rows } = await this.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT uuid FROM imports GROUP BY uuid HAVING ${VISIBLE}) t`,
      groupScopeParams(scope, 'name'),
    );
    return rows[0].n;
  }
}

/** Reads stage rows for the live tailer: lower < id <= upper, in id order. */
export async function fetchStageRows(client: pg.Pool | pg.PoolClient, lower: number, upper: number | null, limit: number): Promise<StageRow[]> {
  const { rows } = await client.query<StageRow>(
    `SELECT ${STAGE_COLUMNS} FROM imports WHERE id > $1 AND ($2::bigint IS NULL OR id <= $2) ORDER BY id LIMIT $3`,
    [lower, upper, limit],
  );
  return rows;
}
