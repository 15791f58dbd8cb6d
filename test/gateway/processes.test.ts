import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { DEMO, DEMO_USERS } from '../../database/demo/index';
import { projectRoot } from '../../database/paths';
import { SUBGRAPH_NAMES } from '../../subgraphs/common/config';
import { signIdentity } from '../../subgraphs/common/identity';
import { createTestDatabases, type TestDatabases } from '../support/databases';
import { gql } from '../support/stack';

/** Each service as its own process, started by its main.ts exactly as in production. */
const SECRET = 'processes-test-secret-0123456789abcdef0123';
const root = projectRoot();
let dbs: TestDatabases;
const children: ChildProcess[] = [];

function start(entry: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['-r', join(root, 'test/support/register-ts.cjs'), join(root, entry)], {
    env: { ...process.env, JEST_WORKER_ID: '', LOG_LEVEL: 'info', IDENTITY_SECRET: SECRET, HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${entry} did not start:\n${out}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:[^"]+)","msg":"(subgraph|gateway) listening"/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${entry} exited with ${code}:\n${out}`)));
  });
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

beforeAll(async () => {
  dbs = await createTestDatabases();
});
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  await dbs?.drop();
});

it('runs every subgraph and the gateway as separate processes, and stops each on SIGTERM', async () => {
  const env = { OMERO_DATABASE_URL: dbs.omeroUrl, BIOMERO_DATABASE_URL: dbs.biomeroUrl };
  const services = await Promise.all(SUBGRAPH_NAMES.map((name) => start(`subgraphs/${name}/main.ts`, { ...env, [`${name.toUpperCase()}_PORT`]: '0' })));
  const urls = Object.fromEntries(SUBGRAPH_NAMES.map((name, i) => [`${name.toUpperCase()}_SUBGRAPH_URL`, services[i].url]));

  // a subgraph alone: healthy, refuses unsigned calls, answers signed ones
  const omero = services[0].url;
  expect((await fetch(omero.replace(/graphql$/, 'healthz'))).status).toBe(200);
  expect((await gql(omero, '{ image(id: "1") { name } }')).status).toBe(401);
  const signed = signIdentity(
    { userId: DEMO_USERS.alice.id, userName: 'alice', isAdmin: false, groups: [{ id: 3, name: 'lab-private', perm: 'rw----', leader: false }] },
    SECRET,
    60,
  );
  const direct = await gql(omero, `{ image(id: "${DEMO.images.aliceRaw1}") { name } }`, { headers: { 'x-omero-graph-identity': signed } });
  expect(direct.data).toEqual({ image: { name: expect.any(String) } });

  // the gateway alone, pointed at them
  const gateway = await start('gateway/main.ts', { ...env, ...urls, GATEWAY_PORT: '0' });
  const res = await gql(gateway.url, `{ image(id: "${DEMO.images.aliceSeg1}") { producedBy { status inputs { importOrder { stage } } } } }`, {
    session: DEMO_USERS.alice.sessionUuid,
  });
  expect(res.errors).toBeUndefined();
  expect(res.data.image.producedBy).toEqual({ status: 'DONE', inputs: [{ importOrder: { stage: 'COMPLETED' } }, { importOrder: { stage: 'COMPLETED' } }] });

  for (const { child } of [gateway, ...services]) {
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  }
});

it.each([
  ['a subgraph', 'subgraphs/imports/main.ts', () => ({ BIOMERO_DATABASE_URL: dbs.biomeroUrl, IMPORTS_PORT: '0' })],
  ['the gateway', 'gateway/main.ts', () => ({ OMERO_DATABASE_URL: dbs.omeroUrl, GATEWAY_PORT: '0' })],
])('%s refuses to start in production without IDENTITY_SECRET', async (_name, main, env) => {
  const child = spawn(process.execPath, ['-r', join(root, 'test/support/register-ts.cjs'), join(root, main)], {
    env: { ...process.env, NODE_ENV: 'production', IDENTITY_SECRET: '', HOST: '127.0.0.1', ...env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  expect(await exited(child)).toBe(1);
  expect(out).toContain('IDENTITY_SECRET is required');
});
