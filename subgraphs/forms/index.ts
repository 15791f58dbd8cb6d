import { intFromEnv } from '../common/config';
import { createPool, type Pool } from '../common/db';
import { OmeroWebSessionCache } from '../common/omero-web/client';
import type { SubgraphDefinition } from '../common/server';
import { resolvers, type FormSources } from './resolvers';
import { DatabaseFormStore } from './source/database';
import { FormsSource } from './source/forms';
import { FORMS_WEB_REQUEST_LIMIT, JsonApiFormStore } from './source/json-api';
import { checkTimeZone } from './time';

export interface FormsOptions {
  /** IANA zone of OMERO.web's naive timestamps; default FORMS_TIMEZONE or UTC */
  timeZone?: string;
  /** OMERO_SOURCE: the OMERO database (default) or OMERO.forms' endpoints in OMERO.web, as the caller */
  source?: 'database' | 'json-api';
  /** OMERO_WEB_URL: OMERO.web's root, for the json-api source */
  omeroWebUrl?: string;
  /** FORMS_WEB_REQUEST_LIMIT: most OMERO.web requests one store call of the json-api source sends */
  requestLimit?: number;
}

/** FORMS_WEB_REQUEST_LIMIT from the environment (the source itself comes from omeroSourceFromEnv). */
export function formsRequestLimitFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return intFromEnv(env, 'FORMS_WEB_REQUEST_LIMIT', FORMS_WEB_REQUEST_LIMIT);
}

/** The form versions subgraph over OMERO.forms' map annotations in the OMERO database (read only). */
export function formsSubgraph(options: ({ databaseUrl: string } | { pool: Pool }) & FormsOptions): SubgraphDefinition<FormSources> {
  const timeZone = checkTimeZone(options.timeZone ?? (process.env.FORMS_TIMEZONE || 'UTC'));
  const ownsPool = 'databaseUrl' in options;
  const pool = ownsPool ? createPool(options.databaseUrl, { name: 'forms', readOnly: true }) : options.pool;
  if (options.source === 'json-api' && !options.omeroWebUrl) throw new Error('The json-api source needs the OMERO.web URL (OMERO_WEB_URL).');
  const sessions = options.source === 'json-api' ? new OmeroWebSessionCache(options.omeroWebUrl!) : null;
  const requestLimit = options.requestLimit ?? formsRequestLimitFromEnv();
  return {
    name: 'forms',
    resolvers,
    createSources: (caller) => ({
      forms: new FormsSource(sessions ? new JsonApiFormStore(sessions, caller, { requestLimit }) : new DatabaseFormStore(pool, caller)),
      timeZone,
    }),
    ready: async () => {
      await pool.query('SELECT 1 FROM annotation LIMIT 1');
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
