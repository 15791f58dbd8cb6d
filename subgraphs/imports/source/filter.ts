import { groupScopeParams, groupScopeSql, type GroupScope } from '../../common/access';
import { badInput } from '../../common/errors';
import { STAGES, type ImportStage } from '../stages';

export interface ImportOrderFilter {
  stages?: ImportStage[] | null;
  userName?: string | null;
  groupName?: string | null;
  destination?: { type: 'Dataset' | 'Screen'; id: string } | null;
  createdAfter?: Date | null;
  createdBefore?: Date | null;
  fileNameContains?: string | null;
}

const KNOWN_RAW = Object.keys(STAGES);

/** Raw stage strings of the asked stages, and whether unknown (future) stages are asked for too. */
export function stageParams(stages: ImportStage[] | null | undefined): { raw: string[] | null; unknown: boolean } {
  if (!stages || stages.length === 0) return { raw: null, unknown: false };
  const raw = Object.entries(STAGES)
    .filter(([, s]) => stages.includes(s))
    .map(([r]) => r);
  return { raw, unknown: stages.includes('UNKNOWN') };
}

/**
 * Visible orders (one row per uuid: first and last stage row, creation time) matching `filter`,
 * as a CTE named `orders` with its parameters. Callers append their own $n after `params`.
 */
export function filteredOrders(scope: GroupScope, filter: ImportOrderFilter | null | undefined): { cte: string; params: unknown[] } {
  const f = filter ?? {};
  if (f.fileNameContains != null && f.fileNameContains.length > 500) throw badInput('fileNameContains is limited to 500 characters.', 'fileNameContains');
  const stages = stageParams(f.stages);
  const params: unknown[] = [
    ...groupScopeParams(scope, 'name'),
    stages.raw,
    stages.unknown,
    f.userName ?? null,
    f.groupName ?? null,
    f.destination?.type ?? null,
    f.destination?.id ?? null,
    f.createdAfter ?? null,
    f.createdBefore ?? null,
    f.fileNameContains?.toLowerCase() ?? null,
    KNOWN_RAW,
  ];
  const cte = `orders AS (
      SELECT o.uuid, o.first_id, o.last_id, o.created, o.user_name, o.group_name, l.stage, l."timestamp" AS last_timestamp
        FROM (SELECT uuid, min(id) AS first_id, max(id) AS last_id, min("timestamp") AS created,
                     min(user_name) AS user_name, min(group_name) AS group_name
                FROM imports GROUP BY uuid
               HAVING ${groupScopeSql('min(group_name)', 'min(user_name)', 1, 'name')}
                  AND ($7::text IS NULL OR min(user_name) = $7)
                  AND ($8::text IS NULL OR min(group_name) = $8)) o
        JOIN imports l ON l.id = o.last_id
       WHERE ($5::text[] IS NULL OR l.stage = ANY($5::text[]) OR ($6::boolean AND l.stage <> ALL($14::text[])))
         AND ($9::text IS NULL OR (l.destination_type = $9 AND l.destination_id = $10))
         AND ($11::timestamptz IS NULL OR o.created >= $11)
         AND ($12::timestamptz IS NULL OR o.created < $12)
         AND ($13::text IS NULL OR strpos(lower(l.files), $13) > 0 OR strpos(lower(coalesce(l.file_names, '')), $13) > 0))`;
  return { cte, params };
}
