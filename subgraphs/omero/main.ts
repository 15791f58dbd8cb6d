import { requiredEnv } from '../common/config';
import { runStandalone } from '../common/main';
import { omeroSubgraph, omeroSourceFromEnv } from './index';

runStandalone('omero', () => omeroSubgraph({ databaseUrl: requiredEnv(process.env, 'OMERO_DATABASE_URL'), ...omeroSourceFromEnv() }));
