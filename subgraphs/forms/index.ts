import { createPool, type Pool } from '../common/db';
import type { SubgraphDefinition } from '../common/server';
import { resolvers, type FormSources } from './resolvers';
import { FormsSource } from './source/annotations';

/** The form versions subgraph over OMERO.forms' map annotations in the OMERO database (read only). */
export function formsSubgraph(options: { databaseUrl: string } | { pool: Pool }): SubgraphDefinition<FormSources> {
  const ownsPool = 'databaseUrl' in options;
  const pool = ownsPool ? createPool(options.databaseUrl, { name: 'forms', readOnly: true }) : options.pool;
  return {
    name: 'forms',
    resolvers,
    createSources: (caller) => ({ forms: new FormsSource(pool, caller) }),
    ready: async () => void (await pool.query('SELECT 1 FROM annotation LIMIT 1')),
    close: async () => {
      if (ownsPool) await pool.end();
    },
  };
}
