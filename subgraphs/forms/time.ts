/**
 * OMERO.forms writes timestamps as naive ISO strings in the OMERO.web server's local time
 * (Python datetime.now().isoformat()). We keep the raw string and expose an instant computed
 * with a configured time zone (FORMS_TIMEZONE, an IANA name, default UTC).
 */
const NAIVE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws a readable error for a name the runtime's time zone database does not know. */
export function checkTimeZone(timeZone: string): string {
  try {
    formatter(timeZone);
  } catch {
    throw new Error(`FORMS_TIMEZONE "${timeZone}" is not an IANA time zone name (e.g. Europe/Amsterdam).`);
  }
  return timeZone;
}

/** Wall-clock fields of `instant` in `timeZone`. */
function wallClock(instant: number, timeZone: string): number[] {
  const parts = Object.fromEntries(
    formatter(timeZone)
      .formatToParts(new Date(instant))
      .map((p) => [p.type, p.value]),
  );
  return [Number(parts.year), Number(parts.month), Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second)];
}

function offsetAt(instant: number, timeZone: string): number {
  const [y, mo, d, h, mi, s] = wallClock(instant, timeZone);
  const asUtc = Date.UTC(y, mo - 1, d, h, mi, s);
  return asUtc - (instant - (((instant % 1000) + 1000) % 1000));
}

/** The instant a naive local time string denotes in `timeZone`; null when the string is not one. */
export function naiveToInstant(naive: string | null, timeZone: string): Date | null {
  const m = naive ? NAIVE.exec(naive) : null;
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac] = m;
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  const wall = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), ms);
  if (Number.isNaN(wall)) return null;
  // Two passes settle the offset around DST changes (a skipped local hour resolves forwards).
  let instant = wall - offsetAt(wall, timeZone);
  const second = offsetAt(instant, timeZone);
  instant = wall - second;
  return new Date(instant);
}

/** The naive local string OMERO.forms would have written at `instant` (microsecond precision). */
export function instantToNaive(instant: Date, timeZone: string): string {
  const [y, mo, d, h, mi, s] = wallClock(instant.getTime(), timeZone);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  const ms = ((instant.getTime() % 1000) + 1000) % 1000;
  return `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}.${pad(ms, 3)}000`;
}
