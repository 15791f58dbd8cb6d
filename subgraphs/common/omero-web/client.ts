/**
 * A small client of OMERO.web (reference/omero-api.md A): CSRF token, login, session cookies,
 * JSON API paging and error mapping. Generic: the omero subgraph reads /api/v0/m/..., the forms
 * subgraph may read /webclient/api/annotations/ with the same session.
 */

/** Largest page OMERO.web returns (omero.web.api.max_limit); larger limits are clipped. */
export const OMERO_WEB_MAX_LIMIT = 500;

export class OmeroWebError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly path: string,
    /** a body that is not JSON (Django's text/html answers), as sent */
    readonly text: string = '',
  ) {
    super(message);
    this.name = 'OmeroWebError';
  }
}

/** 403 {"message": "Not logged in"}: the session is gone; log in again. */
export class OmeroWebNotLoggedIn extends OmeroWebError {}

/** 404 "<Type> <id> not found" (also for objects the caller may not read). */
export class OmeroWebNotFound extends OmeroWebError {}

export interface EventContext {
  sessionId: number;
  sessionUuid: string;
  userId: number;
  userName: string;
  groupId: number;
  groupName: string;
  isAdmin: boolean;
  memberOfGroups: number[];
  leaderOfGroups: number[];
}

export interface ListMeta {
  offset: number;
  limit: number;
  maxLimit: number;
  totalCount: number;
}

export interface OmeroWebOptions {
  /** per request; default 30 s */
  timeoutMs?: number;
  /** server id from /api/v0/servers/ (default 1) */
  server?: number;
}

type Query = Record<string, string | number | boolean | readonly (string | number)[] | undefined | null>;

function queryString(query: Query | undefined): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value)) for (const v of value) params.append(key, String(v));
    else params.append(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** One logged-in OMERO.web session: its cookie jar and CSRF token. */
export class OmeroWebSession {
  private readonly cookies = new Map<string, string>();
  private csrfToken: string | null = null;
  eventContext: EventContext | null = null;
  /** HTTP requests sent (tests and the benchmark count them) */
  requests = 0;

  constructor(
    readonly baseUrl: string,
    private readonly options: OmeroWebOptions = {},
  ) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  private storeCookies(res: Response): void {
    for (const header of res.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const i = pair.indexOf('=');
      if (i <= 0) continue;
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (value === '' || value === '""' || /max-age=0/i.test(header)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  /** Sends one request; maps OMERO.web's JSON error bodies to typed errors. */
  async request<T>(method: 'GET' | 'POST', path: string, options: { query?: Query; json?: unknown } = {}): Promise<T> {
    const url = `${this.baseUrl}${path}${queryString(options.query)}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.cookies.size) headers.cookie = this.cookieHeader();
    if (method === 'POST') {
      headers['content-type'] = 'application/json';
      if (this.csrfToken) headers['x-csrftoken'] = this.csrfToken;
      headers.referer = url;
    }
    this.requests++;
    const res = await fetch(url, {
      method,
      headers,
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
    this.storeCookies(res);
    const text = await res.text();
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {
      body = null; // e.g. Django's HTML 404 for an unknown URL
    }
    if (res.ok) return body as T;
    // OMERO.web's API answers {"message"}; plugin views such as OMERO.biomero's {"error"}
    const message = (body as { message?: unknown } | null)?.message ?? (body as { error?: unknown } | null)?.error;
    const text2 = typeof message === 'string' ? message : `HTTP ${res.status}`;
    if (res.status === 403 && text2 === 'Not logged in') throw new OmeroWebNotLoggedIn(403, text2, path);
    const raw = body === null ? text : '';
    if (res.status === 404) throw new OmeroWebNotFound(404, text2, path, raw);
    throw new OmeroWebError(res.status, text2, path, raw);
  }

  /**
   * Makes `groupId` this session's active group (webclient's /webclient/active_group/), which
   * views with setGroupContext (OMERO.forms') query in. The answer is a redirect, not followed.
   */
  async switchActiveGroup(groupId: number): Promise<void> {
    this.requests++;
    const res = await fetch(`${this.baseUrl}/webclient/active_group/${queryString({ active_group: groupId })}`, {
      headers: this.cookies.size ? { cookie: this.cookieHeader() } : {},
      redirect: 'manual',
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 30_000),
    });
    this.storeCookies(res);
    await res.text();
    if (res.status === 403) throw new OmeroWebNotLoggedIn(403, 'Not logged in', '/webclient/active_group/');
    if (res.status >= 400) throw new OmeroWebError(res.status, `HTTP ${res.status}`, '/webclient/active_group/');
  }

  get<T>(path: string, query?: Query): Promise<T> {
    return this.request<T>('GET', path, { query });
  }

  /** GET /api/v0/token/: the CSRF token (also set as the csrftoken cookie). */
  async fetchCsrfToken(): Promise<string> {
    const body = await this.get<{ data: string }>('/api/v0/token/');
    this.csrfToken = body.data;
    return this.csrfToken;
  }

  /** POST /api/v0/login/; throws OmeroWebError(403, message) on refusal. */
  async login(username: string, password: string): Promise<EventContext> {
    if (!this.csrfToken) await this.fetchCsrfToken();
    const body = await this.request<{ success: boolean; eventContext: EventContext }>('POST', '/api/v0/login/', {
      json: { server: this.options.server ?? 1, username, password },
    });
    this.eventContext = body.eventContext;
    return body.eventContext;
  }

  /** POST /webclient/logout/ (errors ignored: the session may be gone already). */
  async logout(): Promise<void> {
    try {
      if (!this.csrfToken) await this.fetchCsrfToken();
      await this.request('POST', '/webclient/logout/', { json: {} });
    } catch {
      // nothing to undo
    }
    this.cookies.delete('sessionid');
    this.eventContext = null;
  }

  /** One page of a /api/v0/m/ list; `limit` above 500 is clipped by the server. */
  listPage<T>(path: string, query: Query & { offset?: number; limit?: number }): Promise<{ data: T[]; meta: ListMeta }> {
    return this.get<{ data: T[]; meta: ListMeta }>(path, query);
  }

  /**
   * Every item of a list, page by page (500 at a time), stopping at `max` items; the meta of
   * the first page tells the total, so the loop never asks past it.
   */
  async listAll<T>(path: string, query: Query, max = Number.POSITIVE_INFINITY): Promise<{ items: T[]; totalCount: number }> {
    const items: T[] = [];
    let totalCount = 0;
    for (let offset = 0; ;) {
      const page = await this.listPage<T>(path, { ...query, offset, limit: OMERO_WEB_MAX_LIMIT });
      totalCount = page.meta.totalCount;
      items.push(...page.data);
      offset += page.data.length;
      if (page.data.length === 0 || offset >= totalCount || items.length >= max) break;
    }
    return { items, totalCount };
  }

  /** GET /api/v0/m/<path>; null on 404 (missing or not readable: OMERO does not tell them apart). */
  async getObject<T>(path: string): Promise<T | null> {
    try {
      return (await this.get<{ data: T }>(path)).data;
    } catch (err) {
      if (err instanceof OmeroWebNotFound) return null;
      throw err;
    }
  }
}

/** Logs in with a username and password (or a session key as both) and returns the session. */
export async function loginToOmeroWeb(baseUrl: string, username: string, password: string, options?: OmeroWebOptions): Promise<OmeroWebSession> {
  const session = new OmeroWebSession(baseUrl, options);
  await session.login(username, password);
  return session;
}

/**
 * OMERO.web sessions per OMERO session key: a caller's key joins their OMERO session (Blitz takes
 * a session key as username and password). Bounded (oldest dropped first) and expiring, and
 * re-established once when OMERO.web answers 403 Not logged in.
 */
export class OmeroWebSessionCache {
  private readonly entries = new Map<string, { session: Promise<OmeroWebSession>; until: number }>();

  constructor(
    readonly baseUrl: string,
    private readonly options: OmeroWebOptions & { maxEntries?: number; ttlMs?: number } = {},
  ) {}

  /** `group`: a separate OMERO.web session whose active group is that group (never switched under another request). */
  private open(sessionKey: string, fresh: boolean, group?: number): Promise<OmeroWebSession> {
    const now = Date.now();
    const entry = group === undefined ? sessionKey : `${sessionKey}\u0000${group}`;
    const cached = this.entries.get(entry);
    if (cached && cached.until > now && !fresh) return cached.session;
    const session = loginToOmeroWeb(this.baseUrl, sessionKey, sessionKey, this.options).then(async (s) => {
      if (group !== undefined) await s.switchActiveGroup(group);
      return s;
    });
    session.catch(() => this.entries.delete(entry));
    this.entries.delete(entry);
    if (this.entries.size >= (this.options.maxEntries ?? 1000)) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(entry, { session, until: now + (this.options.ttlMs ?? 10 * 60_000) });
    return session;
  }

  /**
   * Runs `fn` with the caller's OMERO.web session — with `group` as its active group when given —
   * logging in again once after "Not logged in".
   */
  async with<T>(sessionKey: string, fn: (session: OmeroWebSession) => Promise<T>, group?: number): Promise<T> {
    try {
      return await fn(await this.open(sessionKey, false, group));
    } catch (err) {
      if (!(err instanceof OmeroWebNotLoggedIn)) throw err;
      return fn(await this.open(sessionKey, true, group));
    }
  }

  get size(): number {
    return this.entries.size;
  }

  clear(): void {
    this.entries.clear();
  }
}
