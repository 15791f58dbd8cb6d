import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdir, rm, rmdir } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'graphql-ws';
import pg from 'pg';
import WebSocket from 'ws';
import { startEmbeddedPostgresProcess as startEmbeddedPostgres } from '../support/embedded-process';
import { DEMO, DEMO_PASSWORDS, DEMO_USERS } from '../../database/demo/index';
import { projectRoot } from '../../database/paths';
import { DEV_IDENTITY_SECRET, SUBGRAPH_NAMES } from '../../subgraphs/common/config';
import { signIdentity } from '../../subgraphs/common/identity';
import { createTestDatabases, type TestDatabases } from '../support/databases';
import { gql } from '../support/stack';
import { collect, SubscriptionError } from '../support/subscriptions';

/**
 * NODE_ENV=production and the listening rules (docs/security.md, "Production mode" and "Who may
 * reach which port"), against the real entry points run as child processes.
 */
const SECRET = 'production-test-secret-0123456789abcdef0123';
const root = projectRoot();
const children: ChildProcess[] = [];
const dataDirs: string[] = [];
let dbs: TestDatabases;
/** a session of erin (admin) that is not one of the published demo keys */
const ownKey = randomUUID();

/** An address of this machine other than loopback, to show what listens on loopback only. */
const external = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

interface Running {
  child: ChildProcess;
  output(): string;
}

/** Starts an entry point; resolves once `ready` matches its output, rejects when it exits first. */
function start(entry: string, env: Record<string, string>, ready: RegExp): Promise<Running & { match: RegExpExecArray }> {
  const child = spawn(process.execPath, ['-r', join(root, 'test/support/register-ts.cjs'), join(root, entry)], {
    env: {
      ...process.env,
      JEST_WORKER_ID: '',
      LOG_LEVEL: 'info',
      HOST: '',
      IDENTITY_SECRET: SECRET,
      OMERO_DATABASE_URL: dbs.omeroUrl,
      BIOMERO_DATABASE_URL: dbs.biomeroUrl,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${entry} did not start:\n${out}`)), 90_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, match, output: () => out });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${entry} exited with ${code}:\n${out}`));
    });
  });
}

/** Runs an entry point that must refuse to start: its exit code and what it said. */
function refusal(entry: string, env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  const child = spawn(process.execPath, ['-r', join(root, 'test/support/register-ts.cjs'), join(root, entry)], {
    env: { ...process.env, JEST_WORKER_ID: '', LOG_LEVEL: 'warn', HOST: '', OMERO_DATABASE_URL: dbs.omeroUrl, BIOMERO_DATABASE_URL: dbs.biomeroUrl, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, out })));
}

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** Whether a TCP connection to host:port is accepted. */
function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 5_000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

async function dataDir(name: string): Promise<string> {
  // under the project, not /tmp: as root the cluster runs as the postgres user, who must reach it
  const dir = join(root, '.data', 'test-production', `${name}-${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  dataDirs.push(dir);
  return dir;
}

const INTROSPECTION = '{ __schema { queryType { name } } }';
const ADMIN_QUERY = `{ image(id: "${DEMO.images.aliceRaw1}") { name } }`;

async function graphiql(url: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(url, { headers: { accept: 'text/html' } });
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

beforeAll(async () => {
  dbs = await createTestDatabases();
  const omero = new pg.Client(dbs.omeroUrl);
  await omero.connect();
  try {
    // a real deployment's session: erin's, under a key nobody published
    await omero.query(
      `INSERT INTO session (id, permissions, uuid, defaulteventtype, started, closed, timetolive, timetoidle, useragent, userip, node, owner, version)
       SELECT 9001, permissions, $1, defaulteventtype, started, NULL, 0, 0, useragent, userip, node, owner, version FROM session WHERE uuid = $2`,
      [ownKey, DEMO_USERS.erin.sessionUuid],
    );
  } finally {
    await omero.end();
  }
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  // a cluster left running by a killed npm start: stop it through its pid file
  for (const dir of dataDirs) {
    const pidFile = join(dir, 'postgres', 'postmaster.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
      if (pid > 0) {
        try {
          process.kill(pid, 'SIGINT');
        } catch {
          // already gone
        }
      }
    }
  }
  await Promise.all(dataDirs.map((d) => rm(d, { recursive: true, force: true })));
  await rmdir(join(root, '.data', 'test-production')).catch(() => undefined); // when no other run uses it
  await dbs?.drop();
});

describe('refusing to start', () => {
  const entries = [
    ['npm start', 'gateway/all-in-one.ts'],
    ['the gateway alone', 'gateway/main.ts'],
    ['a subgraph alone', 'subgraphs/omero/main.ts'],
  ];

  it.each(entries)('%s refuses NODE_ENV=production without IDENTITY_SECRET', async (_name, entry) => {
    const { code, out } = await refusal(entry, { NODE_ENV: 'production', IDENTITY_SECRET: '' });
    expect(code).toBe(1);
    expect(out).toContain('IDENTITY_SECRET is required when NODE_ENV=production');
  });

  it.each(entries)('%s refuses the published development secret in production', async (_name, entry) => {
    const { code, out } = await refusal(entry, { NODE_ENV: 'production', IDENTITY_SECRET: DEV_IDENTITY_SECRET });
    expect(code).toBe(1);
    expect(out).toContain('published development secret');
  });

  it('npm start in production refuses the demo world instead of seeding it', async () => {
    const dir = await dataDir('refused');
    const { code, out } = await refusal('gateway/all-in-one.ts', {
      NODE_ENV: 'production',
      IDENTITY_SECRET: SECRET,
      OMERO_DATABASE_URL: '',
      BIOMERO_DATABASE_URL: '',
      DATA_DIR: dir,
    });
    expect(code).toBe(1);
    expect(out).toContain('never serves the demo world');
    expect(existsSync(join(dir, 'postgres'))).toBe(false); // nothing started, nothing seeded
  });

  it('a subgraph alone needs IDENTITY_SECRET outside production too (it is never in demo mode)', async () => {
    const { code, out } = await refusal('subgraphs/omero/main.ts', { NODE_ENV: 'development', IDENTITY_SECRET: '' });
    expect(code).toBe(1);
    expect(out).toContain('IDENTITY_SECRET is required outside demo mode');
  });
});

describe('npm start with NODE_ENV=production over real databases', () => {
  const ports: Record<string, number> = {};
  let gatewayUrl: string;
  let running: Running;

  beforeAll(async () => {
    for (const name of ['gateway', ...SUBGRAPH_NAMES]) ports[name] = await freePort();
    const env: Record<string, string> = { NODE_ENV: 'production', LOG_LEVEL: 'warn' };
    for (const [name, port] of Object.entries(ports)) env[`${name.toUpperCase()}_PORT`] = String(port);
    const started = await start('gateway/all-in-one.ts', env, /the API at (http:\S+)/);
    running = started;
    gatewayUrl = started.match[1];
  }, 120_000);

  afterAll(async () => {
    if (running && running.child.exitCode === null) {
      running.child.kill('SIGTERM');
      await exited(running.child);
    }
  });

  it('listens on GATEWAY_PORT and each <NAME>_PORT, on loopback only', async () => {
    expect(gatewayUrl).toBe(`http://127.0.0.1:${ports.gateway}/graphql`);
    for (const [name, port] of Object.entries(ports)) {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect([name, res.status]).toEqual([name, 200]);
      if (external) expect([name, await reachable(external, port)]).toEqual([name, false]);
    }
  });

  it('refuses the published demo session keys; a real session works', async () => {
    const demo = await gql(gatewayUrl, ADMIN_QUERY, { session: DEMO_USERS.erin.sessionUuid });
    expect(demo.status).toBe(401);
    expect(demo.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    const real = await gql(gatewayUrl, ADMIN_QUERY, { session: ownKey });
    expect(real.errors).toBeUndefined();
    expect(real.data).toEqual({ image: { name: expect.any(String) } });
    expect(running.output()).not.toContain(DEMO_USERS.erin.sessionUuid); // no demo keys printed
    // nor the demo users' published passwords
    const login = await gql(gatewayUrl, 'mutation ($p: String!) { login(username: "erin", password: $p) { sessionKey } }', {
      variables: { p: DEMO_PASSWORDS.erin },
    });
    expect(login.errors?.length).toBeGreaterThan(0);
    expect(login.data?.login ?? null).toBeNull();
  });

  it('serves no GraphiQL', async () => {
    const page = await graphiql(gatewayUrl);
    expect(page.type).not.toContain('text/html');
    expect(page.body).not.toContain('<html');
  });

  it('refuses anonymous introspection and answers it for a signed-in caller', async () => {
    const anonymous = await gql(gatewayUrl, INTROSPECTION);
    expect(anonymous.status).toBe(401);
    expect(anonymous.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect(anonymous.data).toBeUndefined();
    // __type and introspection inside a fragment are introspection too
    const hidden = await gql(gatewayUrl, 'query { ...f } fragment f on Query { __type(name: "Image") { name } }');
    expect(hidden.errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    // __typename alone is not introspection
    expect((await gql(gatewayUrl, '{ __typename }')).data).toEqual({ __typename: 'Query' });
    const signedIn = await gql(gatewayUrl, INTROSPECTION, { session: ownKey });
    expect(signedIn.errors).toBeUndefined();
    expect(signedIn.data).toEqual({ __schema: { queryType: { name: 'Query' } } });
  });

  it('refuses anonymous introspection over graphql-ws too', async () => {
    const ws = (sessionKey?: string) =>
      createClient({ url: gatewayUrl.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, connectionParams: sessionKey ? { sessionKey } : {} });
    const anonymous = ws();
    try {
      const refused = await collect(anonymous, INTROSPECTION, {}, () => true).then(
        () => null,
        (err) => err,
      );
      expect(refused).toBeInstanceOf(SubscriptionError);
      expect((refused as SubscriptionError).code).toBe('UNAUTHENTICATED');
      expect(await collect(anonymous, '{ __typename }', {}, (e) => e.length === 1)).toEqual(['Query']);
    } finally {
      await anonymous.dispose();
    }
    const signedIn = ws(ownKey);
    try {
      expect(await collect(signedIn, INTROSPECTION, {}, (e) => e.length === 1)).toEqual([{ queryType: { name: 'Query' } }]);
    } finally {
      await signedIn.dispose();
    }
  });

  it('the gateway alone follows GRAPHIQL and INTROSPECTION, and listens on HOST', async () => {
    const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [`${n.toUpperCase()}_SUBGRAPH_URL`, `http://127.0.0.1:${ports[n]}/graphql`]));
    const listening = /"url":"(http:[^"]+)","msg":"gateway listening"/;
    const open = await start(
      'gateway/main.ts',
      { NODE_ENV: 'production', HOST: '127.0.0.1', GATEWAY_PORT: '0', GRAPHIQL: 'true', INTROSPECTION: 'on', ...subgraphUrls },
      listening,
    );
    const openUrl = open.match[1];
    const page = await graphiql(openUrl);
    expect(page.status).toBe(200);
    expect(page.type).toContain('text/html');
    expect(page.body).toContain('omero-graph');
    expect((await gql(openUrl, INTROSPECTION)).data).toEqual({ __schema: { queryType: { name: 'Query' } } });
    // the demo keys stay refused whatever the settings; the gateway alone's own session works through the subgraphs
    expect((await gql(openUrl, ADMIN_QUERY, { session: DEMO_USERS.erin.sessionUuid })).errors?.[0].extensions?.code).toBe('UNAUTHENTICATED');
    expect((await gql(openUrl, ADMIN_QUERY, { session: ownKey })).data).toEqual({ image: { name: expect.any(String) } });
    open.child.kill('SIGTERM');
    expect(await exited(open.child)).toBe(0);

    const closed = await start(
      'gateway/main.ts',
      { NODE_ENV: 'production', HOST: '127.0.0.1', GATEWAY_PORT: '0', INTROSPECTION: 'off', ...subgraphUrls },
      listening,
    );
    const off = await gql(closed.match[1], INTROSPECTION, { session: ownKey });
    expect(off.status).toBe(403);
    expect(off.errors?.[0].extensions?.code).toBe('INTROSPECTION_DISABLED');
    expect((await gql(closed.match[1], ADMIN_QUERY, { session: ownKey })).errors).toBeUndefined();
    closed.child.kill('SIGTERM');
    expect(await exited(closed.child)).toBe(0);
  });
});

describe('a subgraph alone', () => {
  const listening = /"url":"(http:[^"]+)","msg":"subgraph listening"/;
  const erin = { userId: DEMO_USERS.erin.id, userName: 'erin', isAdmin: true, groups: [{ id: 0, name: 'system', perm: 'rw----', leader: false }] };

  it('listens on 127.0.0.1 without HOST, and everywhere with HOST=0.0.0.0', async () => {
    const port = await freePort();
    const loopback = await start('subgraphs/omero/main.ts', { NODE_ENV: 'production', OMERO_PORT: String(port) }, listening);
    expect(loopback.match[1]).toBe(`http://127.0.0.1:${port}/graphql`);
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
    if (external) expect(await reachable(external, port)).toBe(false);
    loopback.child.kill('SIGTERM');
    expect(await exited(loopback.child)).toBe(0);

    if (!external) return; // no other address to try from
    const everywhere = await start('subgraphs/omero/main.ts', { NODE_ENV: 'production', OMERO_PORT: String(port), HOST: '0.0.0.0' }, listening);
    expect((await fetch(`http://${external}:${port}/healthz`)).status).toBe(200);
    everywhere.child.kill('SIGTERM');
    expect(await exited(everywhere.child)).toBe(0);
  });

  it('refuses an identity signed with the development secret, accepts one signed with its own', async () => {
    const service = await start('subgraphs/omero/main.ts', { NODE_ENV: 'production', OMERO_PORT: '0' }, listening);
    const url = service.match[1];
    const forged = await gql(url, ADMIN_QUERY, { headers: { 'x-omero-graph-identity': signIdentity(erin, DEV_IDENTITY_SECRET, 60) } });
    expect(forged.status).toBe(401);
    expect(forged.errors?.[0].message).toContain('development secret');
    expect(forged.data ?? null).toBeNull();
    const own = await gql(url, ADMIN_QUERY, { headers: { 'x-omero-graph-identity': signIdentity(erin, SECRET, 60) } });
    expect(own.errors).toBeUndefined();
    expect(own.data).toEqual({ image: { name: expect.any(String) } });
    service.child.kill('SIGTERM');
    expect(await exited(service.child)).toBe(0);
  });
});

describe('the embedded PostgreSQL of npm start', () => {
  /** Whether the superuser signs in with this password: true, or the error code. */
  async function signIn(port: number, password: string): Promise<true | string> {
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
    try {
      await client.connect();
      return true;
    } catch (err) {
      return String((err as { code?: string }).code);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  it('gets a generated password kept owner-only under the data dir, and listens on loopback only', async () => {
    const dir = await dataDir('fresh');
    const port = await freePort();
    const passwordFile = join(dir, 'postgres-password');
    const server = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres'), port, passwordFile, durable: false });
    let password: string;
    try {
      password = readFileSync(passwordFile, 'utf8').trim();
      expect(password).toMatch(/^[0-9a-f]{48}$/);
      expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
      expect(await signIn(port, 'postgres')).toBe('28P01');
      expect(await signIn(port, password)).toBe(true);
      const client = new pg.Client(server.url);
      await client.connect();
      expect((await client.query('SHOW listen_addresses')).rows[0].listen_addresses).toBe('127.0.0.1');
      await client.end();
      if (external) expect(await reachable(external, port)).toBe(false);
    } finally {
      await server.stop();
    }
    // a later start reuses it
    const again = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres'), port, passwordFile, durable: false });
    try {
      expect(readFileSync(passwordFile, 'utf8').trim()).toBe(password);
      expect(await signIn(port, password)).toBe(true);
    } finally {
      await again.stop();
    }
  });

  it('npm start moves a cluster made with the old postgres:postgres to a generated password, and serves the demo', async () => {
    const dir = await dataDir('legacy');
    const pgPort = await freePort();
    // the cluster as npm start made it before: superuser password 'postgres'
    const legacy = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres'), port: pgPort, durable: false });
    expect(await signIn(pgPort, 'postgres')).toBe(true);
    await legacy.stop();

    const env: Record<string, string> = {
      NODE_ENV: 'development',
      IDENTITY_SECRET: '',
      OMERO_DATABASE_URL: '',
      BIOMERO_DATABASE_URL: '',
      DATA_DIR: dir,
      EMBEDDED_POSTGRES_PORT: String(pgPort),
      LOG_LEVEL: 'warn',
    };
    for (const name of ['gateway', ...SUBGRAPH_NAMES]) env[`${name.toUpperCase()}_PORT`] = String(await freePort());
    const demo = await start('gateway/all-in-one.ts', env, /the API at (http:\S+)[\s\S]*\berin\s+([0-9a-f]{8}-[0-9a-f-]{27})/);
    try {
      const password = readFileSync(join(dir, 'postgres-password'), 'utf8').trim();
      expect(await signIn(pgPort, 'postgres')).toBe('28P01');
      expect(await signIn(pgPort, password)).toBe(true);
      // demo mode (outside production): the published keys work, and GraphiQL is served
      expect(demo.match[2]).toBe(DEMO_USERS.erin.sessionUuid);
      expect((await gql(demo.match[1], ADMIN_QUERY, { session: DEMO_USERS.erin.sessionUuid })).data).toEqual({ image: { name: expect.any(String) } });
      expect((await graphiql(demo.match[1])).type).toContain('text/html');
    } finally {
      demo.child.kill('SIGTERM');
      expect(await exited(demo.child)).toBe(0);
    }
  }, 180_000);
});
