import type { ImportStage, WorkflowStatus } from '@omero-graph/client';
import { h } from './dom';

/**
 * How a status looks, after BIOMERO's Status tab: green done, red failed, blue running, amber
 * waiting, grey cancelled; each also has an icon and its name, so colour is never the only sign.
 */
export type Tone = 'done' | 'failed' | 'running' | 'pending' | 'cancelled' | 'unknown';

const ICONS: Record<Tone, string> = { done: '✔', failed: '✖', running: '▶', pending: '◔', cancelled: '⊘', unknown: '?' };

export function runTone(status: WorkflowStatus): Tone {
  switch (status) {
    case 'DONE':
    case 'JOB_COMPLETED':
    case 'IMPORTED':
      return 'done';
    case 'FAILED':
    case 'JOB_FAILED':
    case 'JOB_TIMEOUT':
      return 'failed';
    case 'JOB_CANCELLED':
      return 'cancelled';
    case 'INITIALIZING':
    case 'JOB_PENDING':
      return 'pending';
    case 'UNKNOWN':
      return 'unknown';
    default:
      return 'running';
  }
}

export function stageTone(stage: ImportStage): Tone {
  switch (stage) {
    case 'COMPLETED':
      return 'done';
    case 'FAILED':
      return 'failed';
    case 'PENDING':
      return 'pending';
    case 'UNKNOWN':
      return 'unknown';
    default:
      return 'running';
  }
}

/** A status badge: icon + text, coloured by tone; `raw` is BIOMERO's exact value (tooltip). */
export function badge(tone: Tone, text: string, raw?: string): HTMLSpanElement {
  return h('span', { class: 'status', 'data-tone': tone, title: raw ?? text }, h('span', { 'aria-hidden': 'true' }, ICONS[tone]), text);
}

/** A finished run cannot be cancelled any more. */
export function isFinished(status: WorkflowStatus): boolean {
  return ['DONE', 'FAILED', 'JOB_CANCELLED', 'JOB_FAILED', 'JOB_TIMEOUT', 'JOB_COMPLETED'].includes(status);
}

/**
 * Every value of the schema's enums, in the schema's order, for the filters: a Record over the
 * SDK's generated types, so a value added to or removed from the SDL fails the page's typecheck.
 */
const RUN_STATUS_ORDER: Record<WorkflowStatus, number> = {
  INITIALIZING: 0,
  TRANSFERRING: 1,
  CONVERTING: 2,
  RUNNING: 3,
  JOB_PENDING: 4,
  JOB_RUNNING: 5,
  JOB_COMPLETED: 6,
  JOB_FAILED: 7,
  JOB_CANCELLED: 8,
  JOB_TIMEOUT: 9,
  RETRIEVING: 10,
  IMPORTING: 11,
  IMPORTED: 12,
  POSTPROCESSING: 13,
  DONE: 14,
  FAILED: 15,
  UNKNOWN: 16,
};
export const RUN_STATUSES = Object.keys(RUN_STATUS_ORDER) as WorkflowStatus[];

const IMPORT_STAGE_ORDER: Record<ImportStage, number> = {
  PENDING: 0,
  STARTED: 1,
  PREPROCESSING: 2,
  COMPLETED: 3,
  FAILED: 4,
  UNKNOWN: 5,
};
export const IMPORT_STAGES = Object.keys(IMPORT_STAGE_ORDER) as ImportStage[];
