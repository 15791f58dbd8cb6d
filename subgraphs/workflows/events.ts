/**
 * BIOMERO's event store encoding (reference/biomero-models.md 1.3): topics
 * `biomero.eventsourcing:<Aggregate>.<Event>`, state JSON with UUIDs as
 * {"_type_":"uuid_hex","_data_":"<32 hex>"} and datetimes as {"_type_":"datetime_iso",...}.
 */
export const TOPIC_PREFIX = 'biomero.eventsourcing:';

export interface StoredEvent {
  id: number;
  originator_id: string;
  originator_version: number;
  topic: string;
  state: Record<string, unknown>;
}

/** `biomero.eventsourcing:Task.StatusUpdated` → `Task.StatusUpdated` */
export function eventType(topic: string): string {
  return topic.startsWith(TOPIC_PREFIX) ? topic.slice(TOPIC_PREFIX.length) : topic;
}

/** A 32-hex uuid_hex value (or a plain string) as a dashed UUID. */
export function decodeUuid(value: unknown): string | null {
  const raw = value && typeof value === 'object' && '_data_' in value ? (value as { _data_: unknown })._data_ : value;
  if (typeof raw !== 'string') return null;
  const hex = raw.replace(/-/g, '').toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(hex)) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function decodeDate(value: unknown): Date | null {
  const raw = value && typeof value === 'object' && '_data_' in value ? (value as { _data_: unknown })._data_ : value;
  if (typeof raw !== 'string') return null;
  const date = new Date(raw);
  return Number.isNaN(date.getTime()) ? null : date;
}

/** Values eventsourcing wrapped ({_type_, _data_}) unwrapped recursively, for params and input data. */
export function plainJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plainJson);
  if (value && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    if ('_type_' in obj && '_data_' in obj) {
      return obj._type_ === 'uuid_hex' ? decodeUuid(obj) : obj._data_;
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, plainJson(v)]));
  }
  return value;
}
