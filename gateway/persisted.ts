import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { PersistedOperationsMode } from './settings';
import { httpError } from '../subgraphs/common/errors';
import { BoundedMap } from '../subgraphs/common/bounded-map';

/**
 * Persisted operations (docs/limits.md):
 * - `apq`: Apollo's automatic persisted queries. A client sends
 *   `extensions.persistedQuery = {version: 1, sha256Hash}`; an unknown hash answers
 *   PERSISTED_QUERY_NOT_FOUND, and the client sends the hash again with the query, which is
 *   stored once its hash is verified. The store is bounded (least recently used entry evicted).
 * - `trusted`: only documents of the manifest built from clients/ (`npm run manifest`) run; they
 *   are named by `extensions.persistedQuery.sha256Hash` or `documentId`, or sent as text identical
 *   to a manifest document. Anything else: PERSISTED_QUERY_REQUIRED.
 * - `off`: a persistedQuery extension answers PERSISTED_QUERY_NOT_SUPPORTED.
 */
export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The trusted-documents manifest: `{ "<sha256 hex>": "<document>" }`. */
export function readManifest(file: string): Map<string, string> {
  if (!existsSync(file)) throw new Error(`PERSISTED_OPERATIONS=trusted needs ${file}; run npm run manifest.`);
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const manifest = new Map<string, string>();
  for (const [hash, document] of Object.entries(json)) {
    if (typeof document !== 'string' || sha256(document) !== hash) throw new Error(`${file}: entry ${hash} does not match its document's sha256.`);
    manifest.set(hash, document);
  }
  return manifest;
}

interface Params {
  query?: unknown;
  extensions?: Record<string, unknown> | null;
  documentId?: unknown;
  [key: string]: unknown;
}

function persistedHash(params: Params): string | null {
  const pq = params.extensions?.persistedQuery as { version?: unknown; sha256Hash?: unknown } | undefined;
  if (pq === undefined || pq === null) return typeof params.documentId === 'string' ? params.documentId.replace(/^sha256:/, '') : null;
  if (typeof pq !== 'object' || pq.version !== 1 || typeof pq.sha256Hash !== 'string' || !/^[0-9a-f]{64}$/i.test(pq.sha256Hash)) {
    throw httpError('PERSISTED_QUERY_INVALID', 'extensions.persistedQuery must be {"version": 1, "sha256Hash": "<64 hex digits>"}.');
  }
  return pq.sha256Hash.toLowerCase();
}

export interface PersistedOptions {
  mode: PersistedOperationsMode;
  maxEntries: number;
  manifest?: Map<string, string>;
  allowArbitrary?: boolean;
}

/** The rules above, for HTTP (plugin below) and graphql-ws (gateway/server.ts) alike. */
export class PersistedOperations {
  private readonly store: BoundedMap<string, string>;
  private readonly trusted: Map<string, string>;
  private readonly trustedTexts: Set<string>;

  constructor(private readonly options: PersistedOptions) {
    this.store = new BoundedMap(options.maxEntries);
    this.trusted = options.manifest ?? new Map<string, string>();
    this.trustedTexts = new Set(this.trusted.values());
  }

  /** The params to run (with the stored or trusted query filled in), or a coded GraphQLError thrown. */
  apply<P extends Params>(params: P): P {
    const { mode } = this.options;
    if (mode === 'off') {
      if (params.extensions?.persistedQuery != null) throw httpError('PERSISTED_QUERY_NOT_SUPPORTED', 'PersistedQueryNotSupported');
      return params;
    }
    const hash = persistedHash(params);
    const query = typeof params.query === 'string' && params.query !== '' ? params.query : null;
    if (mode === 'trusted') {
      if (hash) {
        const document = this.trusted.get(hash);
        if (!document) throw httpError('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound: the hash names no trusted document.', {}, 404);
        if (query !== null && query !== document)
          throw httpError('PERSISTED_QUERY_HASH_MISMATCH', 'The query does not match the trusted document of that hash.');
        return { ...params, query: document };
      }
      if (!this.trustedTexts.has(query ?? '') && !this.options.allowArbitrary) {
        throw httpError(
          'PERSISTED_QUERY_REQUIRED',
          'This gateway runs trusted documents only: send extensions.persistedQuery.sha256Hash of an operation from clients/trusted-documents.json.',
        );
      }
      return params;
    }
    // apq
    if (!hash) return params;
    if (query === null) {
      const stored = this.store.get(hash);
      // Apollo clients look for this exact message
      if (!stored) throw httpError('PERSISTED_QUERY_NOT_FOUND', 'PersistedQueryNotFound');
      return { ...params, query: stored };
    }
    if (sha256(query) !== hash) throw httpError('PERSISTED_QUERY_HASH_MISMATCH', 'provided sha does not match query');
    this.store.set(hash, query);
    return params;
  }
}
