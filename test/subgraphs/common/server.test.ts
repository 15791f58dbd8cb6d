import { startSubgraph } from '../../../subgraphs/common/server';
import { importsSubgraph } from '../../../subgraphs/imports/index';
import { createTestDatabases, type TestDatabases } from '../../support/databases';

let dbs: TestDatabases;
beforeAll(async () => {
  dbs = await createTestDatabases({ seed: false });
});
afterAll(async () => {
  await dbs?.drop();
});

it('releases what a subgraph started when it cannot start (here: no imports table)', async () => {
  // the OMERO database has no imports table, so the live tailer's first read fails
  const definition = importsSubgraph({ databaseUrl: dbs.omeroUrl });
  let closed = 0;
  const close = definition.close!;
  definition.close = async () => {
    closed++;
    await close();
  };
  await expect(startSubgraph(definition, { port: 0, host: '127.0.0.1', secret: 'x'.repeat(40) })).rejects.toThrow(/imports/);
  expect(closed).toBe(1);
});
