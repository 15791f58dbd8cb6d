/**
 * Reading what sacct, squeue and tail print (the commands are in commands.ts).
 *
 * Array jobs (BIOMERO's conversions are `--array=1-N`) print one row per task (`123_4`, or
 * `123_[5-9]` for tasks still pending together); they are folded into one state for the array's
 * job id: running while any task runs, pending while any waits, else COMPLETED when all
 * completed, else the first task's other final state (FAILED, CANCELLED, TIMEOUT, …).
 */
import type { SlurmJobState, SlurmLogTail } from './types';

/** States after which a job never changes again (sacct/squeue long names). */
export const FINAL_STATES = new Set([
  'BOOT_FAIL',
  'CANCELLED',
  'COMPLETED',
  'DEADLINE',
  'FAILED',
  'NODE_FAIL',
  'OUT_OF_MEMORY',
  'PREEMPTED',
  'REVOKED',
  'TIMEOUT',
]);

export function isFinalState(state: string): boolean {
  return FINAL_STATES.has(state);
}

/** `CANCELLED by 1001` → `CANCELLED`, `TIMEOUT+` → `TIMEOUT`, `running` → `RUNNING`. */
export function normalizeState(raw: string): string {
  return raw.trim().split(/\s+/)[0].replace(/\+$/, '').toUpperCase();
}

/** `2026-11-21T16:20:03` printed with TZ=UTC → that instant; `Unknown`, `None`, `N/A`, empty → null. */
export function parseSlurmTime(raw: string | undefined): Date | null {
  const value = raw?.trim();
  if (!value || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(value)) return null;
  const date = new Date(`${value}Z`);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** The job id a row belongs to: `123`, `123_4`, `123_[5-9]`, `123+0` (het job) → 123. */
function baseJobId(raw: string): number | null {
  const match = /^(\d+)(?:[_+].*)?$/.exec(raw.trim());
  return match ? Number(match[1]) : null;
}

/** `sacct --parsable2 --noheader --format=JobID,State,ExitCode,Submit,Start,End` output. */
export function parseSacct(stdout: string, wanted: readonly number[]): Map<number, SlurmJobState> {
  const rows = new Map<number, SlurmJobState[]>();
  const want = new Set(wanted);
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const [jobId, state, exitCode, submit, start, end] = line.split('|');
    const id = baseJobId(jobId ?? '');
    if (id === null || !want.has(id) || state === undefined) continue;
    push(rows, id, {
      jobId: id,
      state: normalizeState(state),
      exitCode: exitCode?.trim() || null,
      submittedAt: parseSlurmTime(submit),
      startedAt: parseSlurmTime(start),
      endedAt: parseSlurmTime(end),
      source: 'sacct',
    });
  }
  return fold(rows);
}

/** `squeue --noheader --format='%i|%T|%V|%S'` output. Pending jobs' `%S` is a forecast, not a start: dropped. */
export function parseSqueue(stdout: string, wanted: readonly number[]): Map<number, SlurmJobState> {
  const rows = new Map<number, SlurmJobState[]>();
  const want = new Set(wanted);
  for (const line of stdout.split('\n')) {
    if (!line.trim()) continue;
    const [jobId, state, submit, start] = line.split('|');
    const id = baseJobId(jobId ?? '');
    if (id === null || !want.has(id) || state === undefined) continue;
    const normalized = normalizeState(state);
    push(rows, id, {
      jobId: id,
      state: normalized,
      exitCode: null,
      submittedAt: parseSlurmTime(submit),
      startedAt: normalized === 'PENDING' ? null : parseSlurmTime(start),
      endedAt: null,
      source: 'squeue',
    });
  }
  return fold(rows);
}

/**
 * squeue exits 1 with "Invalid job id specified" when the only requested id is unknown or long
 * gone, and with "Invalid job id: N" for an id above the cluster's MaxJobId.
 */
export function isUnknownJobError(stderr: string): boolean {
  return /Invalid job id/i.test(stderr);
}

function push(rows: Map<number, SlurmJobState[]>, id: number, row: SlurmJobState): void {
  const list = rows.get(id);
  if (list) list.push(row);
  else rows.set(id, [row]);
}

function fold(rows: Map<number, SlurmJobState[]>): Map<number, SlurmJobState> {
  const out = new Map<number, SlurmJobState>();
  for (const [id, list] of rows) out.set(id, list.length === 1 ? list[0] : foldArray(list));
  return out;
}

function foldArray(tasks: SlurmJobState[]): SlurmJobState {
  const active = tasks.filter((t) => !isFinalState(t.state));
  const state = active.find((t) => t.state === 'RUNNING')?.state ?? active[0]?.state ?? tasks.find((t) => t.state !== 'COMPLETED')?.state ?? 'COMPLETED';
  const times = (pick: (t: SlurmJobState) => Date | null) =>
    tasks
      .map(pick)
      .filter((d): d is Date => d !== null)
      .map((d) => d.getTime());
  const submitted = times((t) => t.submittedAt);
  const started = times((t) => t.startedAt);
  const ended = times((t) => t.endedAt);
  return {
    jobId: tasks[0].jobId,
    state,
    exitCode: tasks[0].exitCode === null ? null : (tasks.find((t) => t.exitCode !== '0:0')?.exitCode ?? '0:0'),
    submittedAt: submitted.length ? new Date(Math.min(...submitted)) : null,
    startedAt: started.length ? new Date(Math.min(...started)) : null,
    endedAt: active.length === 0 && ended.length ? new Date(Math.max(...ended)) : null,
    source: tasks[0].source,
  };
}

/** Sections of the output of `logTailCommand`, one per job whose log could be read. */
export function parseLogTails(stdout: string, marker: string): Map<number, SlurmLogTail> {
  const out = new Map<number, SlurmLogTail>();
  // each section is introduced by "\n<marker> <id>\n"; the text before the first one is noise (e.g. a login banner)
  const parts = stdout.split(new RegExp(`\\n${marker} (\\d+)\\n`));
  for (let i = 1; i + 1 < parts.length; i += 2) {
    const jobId = Number(parts[i]);
    const tail = parts[i + 1].replace(/\n$/, '');
    out.set(jobId, { jobId, tail, progress: lastPercentage(tail) });
  }
  return out;
}

/**
 * The last percentage printed in a log, as BIOMERO reads progress (last `\d+%` of the tail);
 * decimals are kept (`68.5%`), values above 100 are not percentages of anything and skipped.
 */
export function lastPercentage(text: string): number | null {
  const matches = [...text.matchAll(/(\d+(?:\.\d+)?)%/g)];
  for (let i = matches.length - 1; i >= 0; i--) {
    const value = Number(matches[i][1]);
    if (value >= 0 && value <= 100) return value;
  }
  return null;
}
