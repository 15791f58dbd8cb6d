import type pg from 'pg';
import { signIdentity, type Caller, type Identity } from '../subgraphs/common/identity';
import { permString } from '../subgraphs/common/access';
import { BoundedMap } from '../subgraphs/common/bounded-map';

/** OMERO's `system` group: its members are administrators. */
const SYSTEM_GROUP_ID = 0;

interface SessionEntry {
  caller: Identity | null;
  token: string | null;
  until: number;
}

/**
 * Resolves OMERO session keys to identities from OMERO's own tables (design section 3): the
 * session row whose uuid is the key, open while `closed` is null and, when `timetolive` (ms) is
 * not 0, while `started + timetolive` lies ahead. Results are cached for `cacheMs`, so a closed
 * session stops working within that time; lookups of one key at the same time share one read.
 */
export class SessionResolver {
  private readonly cache: BoundedMap<string, SessionEntry>;
  /** lookups running now: the connections a client opens at once for one key share one */
  private readonly running = new Map<string, Promise<SessionEntry>>();
  private anonymous: { token: string; until: number } | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly options: {
      secret: string;
      cacheMs: number;
      tokenTtlSeconds: number;
      maxEntries?: number;
      /** keys that never authenticate: the demo world's published ones in production */
      refusedKeys?: ReadonlySet<string>;
    },
  ) {
    this.cache = new BoundedMap(options.maxEntries ?? 10_000);
  }

  /** The identity for a session key, or null when the key names no open session. */
  async resolve(sessionKey: string): Promise<Identity | null> {
    return (await this.lookup(sessionKey)).caller;
  }

  /** The signed identity header for a session key (null: unknown or closed session). */
  async tokenFor(sessionKey: string | null): Promise<{ caller: Caller; token: string } | null> {
    const now = Date.now();
    if (sessionKey === null) {
      if (!this.anonymous || this.anonymous.until <= now) {
        this.anonymous = { token: signIdentity(null, this.options.secret, this.options.tokenTtlSeconds, now), until: now + this.options.tokenTtlSeconds * 500 };
      }
      return { caller: null, token: this.anonymous.token };
    }
    const entry = await this.lookup(sessionKey);
    return entry.caller && entry.token ? { caller: entry.caller, token: entry.token } : null;
  }

  /** Drops a cached entry (after logout), so the next lookup reads the database. */
  forget(sessionKey: string): void {
    this.cache.delete(sessionKey);
    this.running.delete(sessionKey); // a read begun before the logout is not cached
  }

  private lookup(sessionKey: string): Promise<SessionEntry> {
    const cached = this.cache.get(sessionKey);
    if (cached && cached.until > Date.now()) return Promise.resolve(cached);
    const running = this.running.get(sessionKey);
    if (running) return running;
    const read: Promise<SessionEntry> = this.query(sessionKey).then((caller) => {
      const now = Date.now();
      const entry = {
        caller,
        token: caller ? signIdentity(caller, this.options.secret, this.options.tokenTtlSeconds, now) : null,
        until: now + this.options.cacheMs,
      };
      if (this.running.get(sessionKey) === read) this.cache.set(sessionKey, entry); // not after a forget() meanwhile
      return entry;
    });
    this.running.set(sessionKey, read);
    read
      .finally(() => {
        if (this.running.get(sessionKey) === read) this.running.delete(sessionKey);
      })
      .catch(() => undefined); // the caller of lookup sees the error
    return read;
  }

  private async query(sessionKey: string): Promise<Identity | null> {
    // session.uuid is varchar(255) of printable ASCII; anything else (e.g. a NUL byte) names no session
    if (sessionKey.length > 255 || !/^[\x21-\x7e]+$/.test(sessionKey)) return null;
    if (this.options.refusedKeys?.has(sessionKey)) return null;
    const session = await this.pool.query<{ id: number; omename: string }>(
      `SELECT e.id, e.omename FROM session s JOIN experimenter e ON e.id = s.owner
        WHERE s.uuid = $1 AND s.closed IS NULL
          AND (s.timetolive = 0 OR s.started + s.timetolive * interval '1 millisecond' > localtimestamp)`,
      [sessionKey],
    );
    const user = session.rows[0];
    if (!user) return null;
    const groups = await this.pool.query<{ id: number; name: string; permissions: number; owner: boolean }>(
      `SELECT g.id, g.name, g.permissions, m.owner FROM groupexperimentermap m JOIN experimentergroup g ON g.id = m.parent
        WHERE m.child = $1 ORDER BY m.child_index`,
      [user.id],
    );
    return {
      userId: Number(user.id),
      userName: user.omename,
      isAdmin: groups.rows.some((g) => Number(g.id) === SYSTEM_GROUP_ID),
      groups: groups.rows.map((g) => ({ id: Number(g.id), name: g.name, perm: permString(Number(g.permissions)), leader: g.owner })),
      sessionKey,
    };
  }
}

/** `Authorization: Bearer <key>` → key; also accepts the bare key. */
export function sessionKeyFromAuthorization(value: string | null | undefined): string | null {
  if (!value) return null;
  const match = /^\s*Bearer\s+(\S+)\s*$/i.exec(value);
  return match ? match[1] : value.trim() || null;
}

/**
 * The session key from a Cookie header (cookie name: SESSION_COOKIE_NAME); null when absent. A
 * present but malformed value is returned as it is: it names no session, so the caller gets
 * UNAUTHENTICATED rather than silently becoming anonymous.
 */
export function sessionKeyFromCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const i = part.indexOf('=');
    if (i < 0 || part.slice(0, i).trim() !== name) continue;
    let value = part.slice(i + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    try {
      value = decodeURIComponent(value);
    } catch {
      // kept as sent
    }
    return value || null;
  }
  return null;
}

/**
 * The `Authorization` entry of a plain headers object, in any letter case: what GraphiQL's Headers
 * tab sends as an operation's `extensions.headers` (and some clients as `connection_init` payload).
 */
export function sessionKeyFromHeaderRecord(headers: unknown): string | null {
  if (!headers || typeof headers !== 'object') return null;
  for (const [name, value] of Object.entries(headers)) {
    if (name.toLowerCase() === 'authorization' && typeof value === 'string') return sessionKeyFromAuthorization(value);
  }
  return null;
}

/** graphql-ws connection_init payloads: {authorization: 'Bearer …'}, {headers: {Authorization: 'Bearer …'}} or {sessionKey: '…'}. */
export function sessionKeyFromConnectionParams(params: Record<string, unknown> | undefined): string | null {
  if (!params) return null;
  return sessionKeyFromHeaderRecord(params) ?? sessionKeyFromHeaderRecord(params.headers) ?? (typeof params.sessionKey === 'string' ? params.sessionKey : null);
}
