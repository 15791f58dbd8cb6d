import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';

/**
 * The live monitor page (docs/monitor.md): `/monitor` and its views (`/monitor/runs`, `/imports`,
 * `/statistics`, `/lineage/<Type>:<id>`) answer the page, `/monitor/assets/<file>` its script and
 * style, built by `npm run build` (clients/monitor/build.ts) into MONITOR_ASSETS_DIR. Everything
 * is served from here under a strict Content-Security-Policy: no inline script or style, no eval,
 * connections to this origin only, framed only by the gateway itself and OMERO.web.
 */

/** The page's client-side routes; anything else under /monitor is 404. */
const PAGE = /^\/monitor(?:\/(?:runs|imports|statistics|lineage(?:\/[^/]+)?)?)?\/?$/;
const ASSET = /^\/monitor\/assets\/([\w-]+\.(?:js|css|svg))$/;
const TYPES: Record<string, string> = { js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8', svg: 'image/svg+xml' };

export interface MonitorSettings {
  /** where npm run build wrote the page */
  monitorAssetsDir: string;
  /** OMERO.web as browsers reach it ('' when unknown): links, and the origin allowed to frame the page */
  omeroWebPublicUrl: string;
}

export function isMonitorPath(path: string): boolean {
  return path === '/monitor' || path.startsWith('/monitor/');
}

/** A Host header fit to be written into a header value (host, IPv4/IPv6 literal, port). */
function safeHost(req: IncomingMessage): string | null {
  const host = req.headers.host;
  return host && /^[A-Za-z0-9.\-[\]:]{1,255}$/.test(host) ? host : null;
}

/**
 * The page's policy. `connect-src` names the WebSocket schemes of this origin explicitly (older
 * browsers do not count ws: as 'self'); `frame-ancestors` lets the gateway's own pages and the
 * configured OMERO.web frame it, nobody else.
 */
export function monitorCsp(req: IncomingMessage, settings: MonitorSettings): string {
  const host = safeHost(req);
  const omeroWeb = settings.omeroWebPublicUrl ? new URL(settings.omeroWebPublicUrl).origin : '';
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${host ? ` ws://${host} wss://${host}` : ''}`,
    `frame-ancestors 'self'${omeroWeb ? ` ${omeroWeb}` : ''}`,
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
}

function escapeAttribute(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Answers a request under /monitor. */
export async function serveMonitor(req: IncomingMessage, res: ServerResponse, settings: MonitorSettings): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const headers = {
    'content-security-policy': monitorCsp(req, settings),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-cache',
  };
  const fail = (status: number, message: string) => res.writeHead(status, { ...headers, 'content-type': 'text/plain; charset=utf-8' }).end(`${message}\n`);
  if (req.method !== 'GET' && req.method !== 'HEAD') return void fail(405, 'The monitor answers GET only.');
  const asset = ASSET.exec(path);
  const file = asset ? asset[1] : PAGE.test(path) ? 'index.html' : null;
  if (!file) return void fail(404, 'No such monitor page.');
  let body: Buffer;
  try {
    body = await readFile(join(settings.monitorAssetsDir, file));
  } catch {
    return void fail(asset ? 404 : 503, asset ? 'No such monitor asset.' : 'The monitor page is not built: run npm run build.');
  }
  if (file === 'index.html') {
    // the one value the page needs from the server, as data (no inline script under this policy)
    body = Buffer.from(body.toString('utf8').replace('%OMERO_WEB_URL%', escapeAttribute(settings.omeroWebPublicUrl)));
  }
  const type = file === 'index.html' ? 'text/html; charset=utf-8' : TYPES[file.split('.').pop()!];
  res.writeHead(200, { ...headers, 'content-type': type, 'content-length': String(body.length) });
  res.end(req.method === 'HEAD' ? undefined : body);
}
