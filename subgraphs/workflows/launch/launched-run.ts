/**
 * Which WorkflowRun a launch became. OMERO.biomero answers with the OMERO script job only; the
 * run is created later by the script (SLURM_Run_Workflow.py: WorkflowInitiated by the caller,
 * then a transfer task whose params name the same IDs and Data_Type). So a launch remembers the
 * store's last event id before it was sent — every event of the new run comes after it, because
 * the script only starts after our request — and the run is the first one initiated after that
 * position by the caller whose tasks name exactly the launched inputs.
 */
import { createHash } from 'node:crypto';
import type { Pool } from '../../common/db';
import { badInput } from '../../common/errors';
import { TOPICS } from '../source/events';
import type { WorkflowRun } from '../fold';

const KIND = 'WorkflowLaunch';
/** runs initiated by the caller after the position that are examined (a launch is found among the first) */
const CANDIDATES = 20;

export interface Launch {
  /** the store's last event id before the launch was sent */
  position: number;
  dataType: string;
  /** digest of the sorted input ids */
  inputs: string;
}

function digest(ids: readonly number[]): string {
  return createHash('sha256')
    .update([...ids].sort((a, b) => a - b).join(','))
    .digest('hex')
    .slice(0, 24);
}

export function encodeLaunch(position: number, dataType: string, ids: readonly number[]): string {
  return Buffer.from(`${KIND}:${position}:${dataType}:${digest(ids)}`).toString('base64url');
}

export function decodeLaunch(id: string): Launch {
  const m = /^WorkflowLaunch:(\d{1,18}):([A-Za-z]{1,20}):([0-9a-f]{24})$/.exec(Buffer.from(id, 'base64url').toString('utf8'));
  if (!m) throw badInput('Invalid launch id.', 'launchId');
  return { position: Number(m[1]), dataType: m[2], inputs: m[3] };
}

/** The store's last event id: read before a launch is sent. */
export async function storePosition(pool: Pool): Promise<number> {
  const { rows } = await pool.query<{ id: string | null }>('SELECT max(id) AS id FROM workflowtracker_events');
  return Number(rows[0]?.id ?? 0);
}

/** Runs the user initiated after the launch's position, oldest first. */
export async function runsInitiatedAfter(pool: Pool, launch: Launch, userId: number): Promise<string[]> {
  const { rows } = await pool.query<{ run_id: string }>(
    `SELECT e.originator_id::text AS run_id FROM workflowtracker_events e
      WHERE e.id > $1 AND e.topic = $2 AND (convert_from(e.state, 'UTF8')::jsonb->>'user')::bigint = $3
      ORDER BY e.id LIMIT ${CANDIDATES}`,
    [launch.position, TOPICS.initiated, userId],
  );
  return rows.map((r) => r.run_id);
}

/** Whether one of the run's tasks names exactly the launched inputs. */
export function runMatches(run: WorkflowRun, launch: Launch): boolean {
  return run.tasks.some((task) => {
    const p = task.params as { IDs?: unknown; Data_Type?: unknown } | null;
    if (!p || !Array.isArray(p.IDs) || (p.Data_Type ?? 'Image') !== launch.dataType) return false;
    const ids = p.IDs.map(Number);
    return ids.every(Number.isSafeInteger) && digest(ids) === launch.inputs;
  });
}
