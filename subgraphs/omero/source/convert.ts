/** Small conversions both sources share, so that equal OMERO values give equal records. */
import type { Color, Quantity } from './types';

/** OMERO packs colours as one signed 32-bit RGBA integer (R<<24 | G<<16 | B<<8 | A). */
export function colorFromInt(value: number | null | undefined): Color | null {
  if (value === null || value === undefined) return null;
  const v = value >>> 0;
  return { red: (v >>> 24) & 255, green: (v >>> 16) & 255, blue: (v >>> 8) & 255, alpha: v & 255 };
}

export function colorFromParts(red: unknown, green: unknown, blue: unknown, alpha: unknown): Color | null {
  if (red === null || red === undefined) return null;
  return { red: Number(red), green: Number(green), blue: Number(blue), alpha: alpha === null || alpha === undefined ? 255 : Number(alpha) };
}

export function quantity(value: unknown, unit: unknown): Quantity | null {
  if (value === null || value === undefined || unit === null || unit === undefined) return null;
  return { value: Number(value), unit: String(unit) };
}

export function numOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

export function groupBy<K, V>(rows: V[], key: (row: V) => K): Map<K, V[]> {
  const map = new Map<K, V[]>();
  for (const row of rows) {
    const k = key(row);
    const list = map.get(k);
    if (list) list.push(row);
    else map.set(k, [row]);
  }
  return map;
}

/** Keeps the first of each id (two users may link the same pair). */
export function uniqueById<T extends { id: number }>(rows: T[]): T[] {
  const seen = new Set<number>();
  return rows.filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)));
}
