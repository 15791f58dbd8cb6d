import { requiredEnv } from '../common/config';
import { runStandalone } from '../common/main';
import { importsSubgraph } from './index';

runStandalone('imports', () =>
  importsSubgraph({ databaseUrl: requiredEnv(process.env, 'BIOMERO_DATABASE_URL'), omeroDatabaseUrl: process.env.OMERO_DATABASE_URL }),
);
