/**
 * The only remote commands the Slurm client runs. Each is built from fixed strings and job ids
 * that `checkJobIds` has validated as integers; the one configured string (the log folder) is
 * single-quoted. Nothing a caller sends is ever written into a command.
 *
 * Times: Slurm prints local time of the login node; `TZ=UTC SLURM_TIME_FORMAT=standard` makes
 * sacct/squeue print `YYYY-MM-DDTHH:MM:SS` in UTC whatever the node's zone.
 */
import { SlurmError } from './errors';

/** Slurm job ids are unsigned 32-bit; 0 is never a job. */
export const MAX_JOB_ID = 4_294_967_294;
/** Longest log tail, per job: what `SlurmJob.log(lines)` accepts and what a command may ask for (docs/limits.md). */
export const MAX_LOG_LINES = 200;

const TIME_ENV = 'TZ=UTC SLURM_TIME_FORMAT=standard';

/** sacct columns, in this order (parse.ts reads them by position). */
export const SACCT_FIELDS = ['JobID', 'State', 'ExitCode', 'Submit', 'Start', 'End'] as const;
/** squeue fields: job id (array tasks as `123_4`), state, submit time, start time. */
export const SQUEUE_FORMAT = '%i|%T|%V|%S';

/**
 * Validated, de-duplicated job ids. Anything but a positive integer (a string, `-1` from a failed
 * sbatch, `12; rm`, 1.5, NaN) is refused with BAD_USER_INPUT before a command exists.
 */
export function checkJobIds(jobIds: readonly unknown[]): number[] {
  if (!Array.isArray(jobIds)) throw new SlurmError('BAD_USER_INPUT', 'Slurm job ids must be a list of integers.');
  const ids = new Set<number>();
  for (const id of jobIds) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > MAX_JOB_ID) {
      throw new SlurmError('BAD_USER_INPUT', `Slurm job ids are integers from 1 to ${MAX_JOB_ID}; got ${describe(id)}.`);
    }
    ids.add(id);
  }
  return [...ids];
}

function describe(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 20))}`;
  return `a value of type ${value === null ? 'null' : typeof value}`;
}

/** Repeat the check right where ids are written into a command (defence in depth). */
function idList(jobIds: readonly number[], separator: string): string {
  if (jobIds.length === 0) throw new Error('no job ids');
  return checkJobIds(jobIds)
    .map((id) => id.toString(10))
    .join(separator);
}

/** Accounting state of the jobs (allocations only, `-X`), all users' jobs as far as Slurm lets the login user see them. */
export function sacctCommand(jobIds: readonly number[]): string {
  return `${TIME_ENV} sacct --allusers --allocations --noheader --parsable2 --format=${SACCT_FIELDS.join(',')} --jobs=${idList(jobIds, ',')}`;
}

/** Queue state of the jobs still known to slurmctld in a non-final state (squeue's default states). */
export function squeueCommand(jobIds: readonly number[]): string {
  return `${TIME_ENV} squeue --noheader --format='${SQUEUE_FORMAT}' --jobs=${idList(jobIds, ',')}`;
}

export function scancelCommand(jobIds: readonly number[]): string {
  return `scancel ${idList(jobIds, ' ')}`;
}

/**
 * The last `lines` lines of `<logDir>/omero-<id>.log` for each job, each preceded by a line
 * `<marker> <id>`. The marker is random per command, so no log content can fake a section;
 * a job whose log is missing or unreadable has no section (and fails nothing: `; true`).
 */
export function logTailCommand(logDir: string, jobIds: readonly number[], lines: number, marker: string): string {
  if (!Number.isInteger(lines) || lines < 1 || lines > MAX_LOG_LINES) {
    throw new SlurmError('BAD_USER_INPUT', `Log tails are 1 to ${MAX_LOG_LINES} lines long; got ${describe(lines)}.`);
  }
  if (!/^[A-Za-z0-9-]+$/.test(marker)) throw new Error('marker must be alphanumeric');
  return (
    `for j in ${idList(jobIds, ' ')}; do f=${shellQuote(logDir)}/omero-$j.log; ` +
    `if [ -r "$f" ]; then printf '\\n%s %s\\n' ${marker} "$j"; tail -n ${lines} -- "$f"; fi; done; true`
  );
}

/** POSIX single-quoting: the value is taken literally by the remote shell. */
export function shellQuote(value: string): string {
  if (/[\0\n\r]/.test(value)) throw new Error('refusing to quote a value containing NUL or a line break');
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Split a list into chunks of at most `size` (one remote command per chunk). */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
