import { requiredEnv } from '../common/config';
import { runStandalone } from '../common/main';
import { provenanceSubgraph } from './index';

runStandalone('provenance', () =>
  provenanceSubgraph({
    omeroDatabaseUrl: requiredEnv(process.env, 'OMERO_DATABASE_URL'),
    biomeroDatabaseUrl: requiredEnv(process.env, 'BIOMERO_DATABASE_URL'),
  }),
);
