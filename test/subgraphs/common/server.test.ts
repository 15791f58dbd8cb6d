import { maskError, startSubgraph } from '../../../subgraphs/common/server';
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

describe('maskError', () => {
  const mask = maskError('imports');
  const asFormatted = (path: string[]) => ({ message: 'x', path, extensions: { code: 'INTERNAL_SERVER_ERROR' } });

  it('answers a database that cannot be reached as SERVICE_UNAVAILABLE, naming the service', () => {
    const shutdown = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    for (const err of [
      shutdown,
      new Error('Connection terminated unexpectedly'),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ]) {
      expect(mask(asFormatted(['importOrders']), err)).toEqual({
        message: 'The imports service cannot reach its database right now; retry shortly.',
        path: ['importOrders'],
        locations: undefined,
        extensions: { code: 'SERVICE_UNAVAILABLE', serviceName: 'imports' },
      });
    }
  });

  it('masks anything else as INTERNAL_SERVER_ERROR, message and all', () => {
    const bug = Object.assign(new Error('column "x" does not exist'), { code: '42703' });
    expect(mask(asFormatted(['importOrders']), bug)).toMatchObject({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } });
    expect(mask(asFormatted(['importOrders']), new TypeError('cannot read properties of undefined'))).toMatchObject({
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });
});
