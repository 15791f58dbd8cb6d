/**
 * What changed between two submissions of the same form on the same object. Objects are compared
 * key by key (keys sorted), arrays index by index; a value whose kind differs (object vs array vs
 * scalar) is one CHANGED entry, and an added or removed subtree is one entry holding the subtree.
 * Paths are JSON Pointers (RFC 6901), "" being the whole document.
 */
export type ChangeKind = 'ADDED' | 'REMOVED' | 'CHANGED';

export interface Change {
  path: string;
  kind: ChangeKind;
  before: unknown;
  after: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function pointer(parent: string, key: string | number): string {
  return `${parent}/${String(key).replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a) && isObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

export function diff(before: unknown, after: unknown, path = ''): Change[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => {
      if (!(k in after)) return [{ path: pointer(path, k), kind: 'REMOVED' as const, before: before[k], after: null }];
      if (!(k in before)) return [{ path: pointer(path, k), kind: 'ADDED' as const, before: null, after: after[k] }];
      return diff(before[k], after[k], pointer(path, k));
    });
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: Change[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) {
      if (i >= after.length) out.push({ path: pointer(path, i), kind: 'REMOVED', before: before[i], after: null });
      else if (i >= before.length) out.push({ path: pointer(path, i), kind: 'ADDED', before: null, after: after[i] });
      else out.push(...diff(before[i], after[i], pointer(path, i)));
    }
    return out;
  }
  return jsonEqual(before, after) ? [] : [{ path, kind: 'CHANGED', before, after }];
}

/** Changes of a submission against the previous one; the first submission adds everything it holds. */
export function changesSince(previous: unknown | undefined, current: unknown): Change[] {
  if (previous === undefined) return isObject(current) ? diff({}, current) : [{ path: '', kind: 'ADDED', before: null, after: current }];
  return diff(previous, current);
}
