import { intFromEnv } from '../common/config';
import { createPool, type Pool } from '../common/db';
import { OmeroWebSessionCache } from '../common/omero-web/client';
import type { SubgraphDefinition } from '../common/server';
import { resolvers, type OmeroSources } from './resolvers';
import { OmeroDatabaseSource } from './source/database';
import { JSON_API_SCAN_LIMIT, OmeroJsonApiSource } from './source/json-api';

export type OmeroSourceKind = 'database' | 'json-api';

export interface OmeroSubgraphOptions {
  /** OMERO_SOURCE: where the objects are read (default database) */
  source?: OmeroSourceKind;
  /** OMERO_WEB_URL: OMERO.web's root, for the json-api source */
  omeroWebUrl?: string;
  /** most objects the json-api source scans for filters OMERO.web cannot apply */
  scanLimit?: number;
  /** links per /webclient/api/annotations/ page (tests use a small one) */
  annotationsPage?: number;
}

/** OMERO_SOURCE from the environment: database (default) or json-api. */
export function omeroSourceFromEnv(env: NodeJS.ProcessEnv = process.env): Pick<OmeroSubgraphOptions, 'source' | 'omeroWebUrl' | 'scanLimit'> {
  const source = env.OMERO_SOURCE || 'database';
  if (source !== 'database' && source !== 'json-api') throw new Error(`OMERO_SOURCE must be database or json-api, got "${source}".`);
  if (source === 'json-api' && !env.OMERO_WEB_URL) throw new Error('OMERO_WEB_URL is required when OMERO_SOURCE=json-api.');
  return { source, omeroWebUrl: env.OMERO_WEB_URL, scanLimit: intFromEnv(env, 'OMERO_WEB_SCAN_LIMIT', JSON_API_SCAN_LIMIT) };
}

/**
 * The OMERO objects subgraph, over OMERO's PostgreSQL database (read only) or over OMERO.web's
 * JSON API as the caller. The database pool is kept either way: readiness checks it, and the
 * gateway resolves sessions from the same database.
 */
export function omeroSubgraph(options: ({ databaseUrl: string } | { pool: Pool }) & OmeroSubgraphOptions): SubgraphDefinition<OmeroSources> {
  const ownsPool = 'databaseUrl' in options;
  const pool = ownsPool ? createPool(options.databaseUrl, { name: 'omero', readOnly: true }) : options.pool;
  const source = options.source ?? 'database';
  if (source === 'json-api' && !options.omeroWebUrl) throw new Error('The json-api source needs the OMERO.web URL (OMERO_WEB_URL).');
  const sessions = source === 'json-api' ? new OmeroWebSessionCache(options.omeroWebUrl!) : null;
  return {
    name: 'omero',
    resolvers,
    createSources: (caller) => ({
      omero: sessions
        ? new OmeroJsonApiSource(sessions, caller, { scanLimit: options.scanLimit, annotationsPage: options.annotationsPage })
        : new OmeroDatabaseSource(pool, caller),
    }),
    ready: async () => {
      await pool.query('SELECT 1 FROM experimenter LIMIT 1');
      if (sessions) {
        const res = await fetch(`${sessions.baseUrl.replace(/\/+$/, '')}/api/`, { signal: AbortSignal.timeout(5000) });
        if (!res.ok) throw new Error(`OMERO.web answered ${res.status}`);
      }
    },
    close: async () => {
      sessions?.clear();
      if (ownsPool) await pool.end();
    },
  };
}
