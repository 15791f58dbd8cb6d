import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { documentOf } from '../clients/manifest';
import { projectRoot } from '../database/paths';
import { errorBody, statusOf } from '../subgraphs/common/errors';

/**
 * Lineage downloads for people who do not write GraphQL (docs/provenance.md):
 *
 *   GET /lineage/<global id>.prov.json    W3C PROV-JSON
 *   GET /lineage/<global id>.crate.json   Workflow Run RO-Crate (JSON-LD)
 *     ?direction=UPSTREAM|DOWNSTREAM|BOTH&depth=0..20&asOf=<ISO time>
 *
 * Each download runs the client operation clients/operations/LineageExport.graphql through the
 * gateway itself, with the caller's own Authorization header or session cookie, so sign-in,
 * rate limits, persisted-operation rules, metrics and error codes apply exactly as to GraphQL.
 */
export const LINEAGE_PATH = /^\/lineage\/(.+)\.(prov|crate)\.json$/;

const DOCUMENT = documentOf(readFileSync(join(projectRoot(), 'clients', 'operations', 'LineageExport.graphql'), 'utf8'));

/** How the lineage names a node the caller may not see (subgraphs/provenance/walk.ts): `redacted:<n>`. */
const REDACTED = 'redacted:';

type Execute = (request: Request) => Promise<Response>;

export async function lineageDownload(req: IncomingMessage, res: ServerResponse, execute: Execute): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://gateway');
  const match = LINEAGE_PATH.exec(url.pathname);
  if (!match || (req.method !== 'GET' && req.method !== 'HEAD')) {
    res
      .writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405, { 'content-type': 'application/json' })
      .end(errorBody('BAD_REQUEST', 'GET /lineage/<id>.prov.json or /lineage/<id>.crate.json'));
    return;
  }
  let of: string;
  try {
    of = decodeURIComponent(match[1]);
  } catch {
    res.writeHead(400, { 'content-type': 'application/json' }).end(errorBody('BAD_USER_INPUT', 'The id is not valid percent-encoding.'));
    return;
  }
  const format = match[2] as 'prov' | 'crate';
  const depth = url.searchParams.get('depth');
  const variables = {
    of,
    direction: url.searchParams.get('direction') ?? undefined,
    depth: depth === null ? undefined : /^-?\d{1,3}$/.test(depth) ? Number(depth) : depth, // a non-number fails as a GraphQL variable error
    asOf: url.searchParams.get('asOf') ?? undefined,
    prov: format === 'prov',
    crate: format === 'crate',
  };
  const headers = new Headers({ 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json' });
  for (const name of ['authorization', 'cookie', 'x-request-id', 'traceparent', 'x-forwarded-for']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers.set(name, value);
  }
  const response = await execute(
    new Request('http://gateway/graphql', { method: 'POST', headers, body: JSON.stringify({ query: DOCUMENT, operationName: 'LineageExport', variables }) }),
  );
  const body = (await response.json()) as {
    data?: { lineage?: { root?: string; provJson?: unknown; roCrate?: unknown } } | null;
    errors?: Array<{ extensions?: { code?: string } }>;
  };
  if (!body.errors?.length && body.data?.lineage?.root?.startsWith(REDACTED)) {
    // a missing root and one the caller may not see answer alike: nothing tells them apart
    res.writeHead(404, { 'content-type': 'application/json' }).end(errorBody('NOT_FOUND', 'Nothing with this id exists that you may see.'));
    return;
  }
  const exported = format === 'prov' ? body.data?.lineage?.provJson : body.data?.lineage?.roCrate;
  if (body.errors?.length || exported === undefined) {
    // the HTTP status of the first error's code (the JSON body carries the GraphQL errors as they are)
    const status = statusOf(body.errors?.[0]?.extensions?.code ?? 'INTERNAL_SERVER_ERROR');
    res
      .writeHead(status >= 400 ? status : response.status >= 400 ? response.status : 500, { 'content-type': 'application/json' })
      .end(JSON.stringify({ errors: body.errors ?? [] }));
    return;
  }
  const name = `${of.replace(/[^A-Za-z0-9._-]+/g, '_')}.${format}.json`;
  res.writeHead(200, {
    'content-type': format === 'prov' ? 'application/json' : 'application/ld+json',
    'content-disposition': `attachment; filename="${name}"`,
  });
  res.end(req.method === 'HEAD' ? undefined : JSON.stringify(exported, null, 2));
}
