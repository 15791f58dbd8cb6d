import type { IncomingMessage, ServerResponse } from 'node:http';
import { sessionKeyFromAuthorization, sessionKeyFromCookie } from './sessions';

/**
 * What a web page in a browser may do with the gateway (docs/security.md, "Browsers"), in one
 * place for HTTP, SSE and the WebSocket upgrade:
 *
 * - CORS: only origins listed in CORS_ORIGINS get CORS headers (exact origin, with credentials);
 *   every other origin gets none and its preflight is refused. Same-origin pages and clients
 *   without an Origin header (curl, notebooks) need none.
 * - CSRF: POST bodies must be JSON (415 otherwise), which no cross-site form can send without a
 *   preflight; a request carrying the session cookie from a foreign origin is refused whatever its
 *   method, unless it is a top-level navigation (a link to a download): a foreign page must not
 *   act, nor time or probe answers (a 404 versus a 200 tells whether the user may see an object),
 *   nor hold subscriptions open with the user's session (the Fetch Metadata isolation policy).
 * - A WebSocket upgrade carrying the session cookie from a foreign origin is refused (browsers send
 *   cookies on cross-site upgrades and WebSockets have no CORS); keys in connection_init are fine.
 */

/** Request body media types (GraphQL over HTTP); parameters such as charset are allowed. */
export const ACCEPTED_BODY_TYPES: readonly string[] = ['application/json', 'application/graphql-response+json'];

/** Where a request comes from, as far as a browser tells. */
export type OriginKind = 'none' | 'same' | 'allowed' | 'foreign';

export interface Refusal {
  status: number;
  code: string;
  message: string;
}

/**
 * CORS_ORIGINS: origins separated by commas or spaces, each `scheme://host[:port]` as a browser
 * serialises it (lower case, no default port, no path). A wildcard or `null` is refused at start:
 * either would let any page read answers with the user's cookie.
 */
export function originsFromList(raw: string | undefined): string[] {
  const origins: string[] = [];
  for (const entry of (raw ?? '').split(/[\s,]+/).filter(Boolean)) {
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new Error(`CORS_ORIGINS: "${entry}" is not an origin such as https://app.example.org.`);
    }
    if (
      (url.protocol !== 'https:' && url.protocol !== 'http:') ||
      url.username ||
      url.password ||
      url.pathname !== '/' ||
      url.search ||
      url.hash ||
      entry.endsWith('#') ||
      entry.endsWith('?')
    ) {
      throw new Error(`CORS_ORIGINS: "${entry}" is not an origin such as https://app.example.org (scheme, host and port only).`);
    }
    origins.push(url.origin);
  }
  return origins;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The gateway's own origin as this request reached it (a TLS proxy in front says https in X-Forwarded-Proto). */
function ownOrigin(req: IncomingMessage): string | null {
  const host = header(req, 'host');
  if (!host) return null;
  const forwarded = header(req, 'x-forwarded-proto')?.split(',')[0].trim().toLowerCase();
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : forwarded === 'https' ? 'https' : 'http';
  try {
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return null;
  }
}

/** A top-level navigation (the user followed a link), the one cross-site use of the cookie allowed. */
function isNavigation(req: IncomingMessage, method: string): boolean {
  return (
    (method === 'GET' || method === 'HEAD') &&
    header(req, 'sec-fetch-mode') === 'navigate' &&
    ['document', 'iframe', 'frame', undefined].includes(header(req, 'sec-fetch-dest'))
  );
}

export class BrowserRules {
  private readonly allowed: ReadonlySet<string>;

  constructor(
    allowedOrigins: readonly string[],
    private readonly sessionCookie: string,
  ) {
    this.allowed = new Set(allowedOrigins);
  }

  originKind(req: IncomingMessage): OriginKind {
    const origin = header(req, 'origin');
    // Sec-Fetch-Site is set by the browser itself; no page can forge it
    const site = header(req, 'sec-fetch-site');
    if (origin === undefined) return site === 'cross-site' || site === 'same-site' ? 'foreign' : 'none';
    // compared byte for byte: browsers send the serialised origin; `null` (sandboxed frames, files) is never allowed
    if (this.allowed.has(origin)) return 'allowed';
    if (origin !== 'null' && (site === 'same-origin' || origin === ownOrigin(req))) return 'same';
    return 'foreign';
  }

  /** The session key comes from the cookie, i.e. the browser attached it on its own. */
  private cookieBorne(req: IncomingMessage): boolean {
    return sessionKeyFromAuthorization(header(req, 'authorization')) === null && sessionKeyFromCookie(header(req, 'cookie'), this.sessionCookie) !== null;
  }

  /**
   * For an HTTP request (SSE included): sets the CORS headers of a listed origin, answers its
   * preflight ('answered'), or says why the request is refused; null: go on.
   */
  apply(req: IncomingMessage, res: ServerResponse): Refusal | 'answered' | null {
    const kind = this.originKind(req);
    res.setHeader('vary', 'Origin'); // answers differ by origin: caches must not mix them
    if (kind === 'allowed') {
      res.setHeader('access-control-allow-origin', header(req, 'origin')!);
      res.setHeader('access-control-allow-credentials', 'true');
      res.setHeader('access-control-expose-headers', 'x-request-id');
    }
    const method = (req.method ?? 'GET').toUpperCase();
    if (method === 'OPTIONS') {
      if (kind === 'allowed') {
        const requestedHeaders = header(req, 'access-control-request-headers');
        res.writeHead(204, {
          'access-control-allow-methods': 'GET, POST',
          ...(requestedHeaders ? { 'access-control-allow-headers': requestedHeaders } : {}),
          'access-control-max-age': '600',
          'content-length': '0',
        });
        res.end();
        return 'answered';
      }
      if (kind === 'none' || kind === 'same') {
        res.writeHead(204, { allow: 'GET, POST, OPTIONS', 'content-length': '0' }).end();
        return 'answered';
      }
      return { status: 403, code: 'ORIGIN_NOT_ALLOWED', message: 'This origin may not call the gateway from a browser (CORS_ORIGINS).' };
    }
    if (method === 'POST') {
      const refusal = this.acceptBody(req);
      if (refusal) return refusal;
    }
    if (kind === 'foreign' && this.cookieBorne(req) && !isNavigation(req, method)) {
      return {
        status: 403,
        code: 'CSRF_REFUSED',
        message: 'A request with the session cookie from another site is refused (list the site in CORS_ORIGINS, or send Authorization: Bearer).',
      };
    }
    return null;
  }

  /** Why a WebSocket upgrade is refused, or null. */
  upgradeRefusal(req: IncomingMessage): Refusal | null {
    if (this.originKind(req) !== 'foreign' || sessionKeyFromCookie(header(req, 'cookie'), this.sessionCookie) === null) return null;
    return {
      status: 403,
      code: 'ORIGIN_NOT_ALLOWED',
      message: 'A WebSocket with the session cookie from another origin is refused; send the key in connection_init.',
    };
  }

  /**
   * POST bodies: JSON only (GraphQL over HTTP). Form, text and multipart bodies are what a
   * cross-site page can send without a preflight, so they never run. An accepted type is passed on
   * as `application/json` (lower case, parameters kept), which is what the runtime parses.
   */
  private acceptBody(req: IncomingMessage): Refusal | null {
    const contentType = header(req, 'content-type') ?? '';
    const semicolon = contentType.indexOf(';');
    const mediaType = (semicolon < 0 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
    if (!ACCEPTED_BODY_TYPES.includes(mediaType)) {
      return { status: 415, code: 'UNSUPPORTED_MEDIA_TYPE', message: `POST bodies must be ${ACCEPTED_BODY_TYPES.join(' or ')}.` };
    }
    req.headers['content-type'] = 'application/json' + (semicolon < 0 ? '' : contentType.slice(semicolon));
    return null;
  }
}
