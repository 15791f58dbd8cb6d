/** BIOMERO.importer's exact stage strings (reference/biomero-models.md 2.2). */
export const STAGES = {
  'Import Pending': 'PENDING',
  'Import Started': 'STARTED',
  'Import Preprocessing': 'PREPROCESSING',
  'Import Completed': 'COMPLETED',
  'Import Failed': 'FAILED',
} as const;

export type ImportStage = (typeof STAGES)[keyof typeof STAGES] | 'UNKNOWN';

/** Unknown future stages (e.g. 'Import Postprocessing') read as UNKNOWN with the raw string kept. */
export function stageOf(raw: string): ImportStage {
  return (STAGES as Record<string, ImportStage>)[raw] ?? 'UNKNOWN';
}

export function isFinished(stage: ImportStage): boolean {
  return stage === 'COMPLETED' || stage === 'FAILED';
}
