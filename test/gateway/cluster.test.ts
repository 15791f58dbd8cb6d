import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { parse } from 'yaml';
import { DEMO_USERS } from '../../database/demo/index';
import { projectRoot } from '../../database/paths';
import { startCluster, type Cluster } from '../../gateway/cluster';
import { replicasFrom } from '../../gateway/cluster-main';
import { HaproxyMissing } from '../../gateway/haproxy';
import { createTestDatabases, type TestDatabases } from '../support/databases';

/**
 * gateway/cluster.ts with a real HAProxy (Debian's; .ci/run installs it): the generated config is
 * accepted, the gateway replicas reach the subgraph replicas through it, and a replica that dies
 * is taken out by the /readyz health check while requests keep being answered.
 */
const inCi = process.env.CI === 'true' || process.env.CI === '1';
const hasHaproxy = spawnSync('haproxy', ['-v']).status === 0;
if (!hasHaproxy && !inCi) console.log('cluster tests skipped: haproxy is not installed (apt-get install haproxy); under CI=true they fail instead.');
const describeWithHaproxy = hasHaproxy || inCi ? describe : describe.skip;

const root = projectRoot();

/** HAProxy's `show stat` as rows of {pxname, svname, status, stot} */
function stats(socket: string): Promise<Array<{ proxy: string; server: string; status: string; sessions: number }>> {
  return new Promise((resolve, reject) => {
    let out = '';
    const s = connect(socket, () => s.write('show stat\n'));
    s.on('data', (d) => (out += d.toString()));
    s.on('error', reject);
    s.on('end', () => {
      const [header, ...lines] = out.trim().split('\n');
      const cols = header.replace(/^# /, '').split(',');
      const at = (name: string) => cols.indexOf(name);
      resolve(
        lines
          .map((l) => l.split(','))
          .map((f) => ({ proxy: f[at('pxname')], server: f[at('svname')], status: f[at('status')], sessions: Number(f[at('stot')]) })),
      );
    });
  });
}

async function until<T>(probe: () => Promise<T>, ok: (value: T) => boolean, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (ok(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 200));
  }
}

it('tells how to install haproxy when it is missing, before anything starts', async () => {
  await expect(
    startCluster({
      replicas: 1,
      env: { ...process.env, HAPROXY_BIN: '/nonexistent/haproxy' },
      ports: { gateway: 0, omero: 0, imports: 0, workflows: 0, forms: 0, provenance: 0 },
      dataDir: '/nonexistent',
    }),
  ).rejects.toThrow(HaproxyMissing);
  const cli = spawnSync(process.execPath, ['-r', join(root, 'test/support/register-ts.cjs'), join(root, 'gateway/cluster-main.ts')], {
    env: { ...process.env, JEST_WORKER_ID: '', HAPROXY_BIN: '/nonexistent/haproxy' },
    encoding: 'utf8',
  });
  expect(cli.status).toBe(69);
  expect(cli.stderr).toContain('apt-get install haproxy');
});

it('takes the replica count from --replicas or REPLICAS, and refuses nonsense', () => {
  expect(replicasFrom([], {})).toBe(2);
  expect(replicasFrom([], { REPLICAS: '3' })).toBe(3);
  expect(replicasFrom(['--replicas', '4'], { REPLICAS: '3' })).toBe(4);
  expect(replicasFrom(['--replicas=1'], {})).toBe(1);
  expect(() => replicasFrom(['--replicas', '0'], {})).toThrow(/1 to 32/);
  expect(() => replicasFrom([], { REPLICAS: 'many' })).toThrow(/REPLICAS/);
});

describeWithHaproxy('docker/compose.yaml', () => {
  it('runs REPLICAS of every service behind an HAProxy whose config HAProxy accepts, the gateways routing through it', () => {
    const check = spawnSync('haproxy', ['-c', '-f', join(root, 'docker/haproxy.cfg')], { encoding: 'utf8' });
    expect(check.stdout + check.stderr).toContain('Configuration file is valid');
    const compose = parse(readFileSync(join(root, 'docker/compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, { deploy?: { replicas?: string }; environment?: Record<string, string>; ports?: string[] }>;
    };
    const ours = Object.entries(compose.services).filter(([name]) => name !== 'haproxy');
    expect(ours.map(([, s]) => s.deploy?.replicas)).toEqual(ours.map(() => '${REPLICAS:-2}'));
    expect(compose.services.haproxy.ports).toEqual(['4000:4000']);
    expect(ours.every(([, s]) => !s.ports)).toBe(true); // replicas publish nothing: HAProxy is the entry
    const urls = Object.entries(compose.services.gateway.environment!)
      .filter(([k]) => k.endsWith('_SUBGRAPH_URL'))
      .map(([, v]) => new URL(v).hostname);
    expect(new Set(urls)).toEqual(new Set(['haproxy']));
  });
});

describeWithHaproxy('a cluster behind a real HAProxy', () => {
  let dbs: TestDatabases;
  let cluster: Cluster;
  const dataDir = join(root, '.data', 'test-cluster', `cluster-${process.pid}-${Date.now()}`);
  const socket = join(dataDir, 'haproxy.sock');
  const session = DEMO_USERS.erin.sessionUuid;

  beforeAll(async () => {
    if (!hasHaproxy) throw new Error('haproxy is not installed: .ci/run installs it (apt-get install -y haproxy)');
    dbs = await createTestDatabases();
    cluster = await startCluster({
      replicas: 2,
      env: {
        ...process.env,
        LOG_LEVEL: 'warn',
        IDENTITY_SECRET: 'cluster-test-secret-0123456789abcdef0123',
        OMERO_DATABASE_URL: dbs.omeroUrl,
        BIOMERO_DATABASE_URL: dbs.biomeroUrl,
        RATE_LIMIT_PER_SECOND: '0',
      },
      ports: { gateway: 0, omero: 0, imports: 0, workflows: 0, forms: 0, provenance: 0 },
      dataDir,
      checkIntervalMs: 300,
    });
    // every replica passed its first /readyz check
    await until(
      () => stats(socket),
      (rows) => rows.filter((r) => r.proxy.endsWith('-replicas') && !['FRONTEND', 'BACKEND'].includes(r.server)).every((r) => r.status === 'UP'),
      30_000,
    );
  }, 120_000);

  /** a query through HAProxy; says what answered when it is not GraphQL (HAProxy's own 50x pages) */
  async function query(): Promise<{ status: number; errors?: unknown }> {
    const res = await fetch(cluster.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session}` },
      body: JSON.stringify({ query: '{ importOrders(first: 1) { nodes { uuid } } }' }),
    });
    const text = await res.text();
    try {
      return { status: res.status, errors: (JSON.parse(text) as { errors?: unknown }).errors };
    } catch {
      return { status: res.status, errors: text.slice(0, 200) };
    }
  }

  afterAll(async () => {
    await cluster?.stop();
    await dbs?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('balances the gateway replicas and, through HAProxy, the subgraph replicas, with no stickiness', async () => {
    for (let i = 0; i < 8; i++) {
      expect(await query()).toEqual({ status: 200 });
    }
    const rows = await stats(socket);
    // health checks: /readyz decides, /healthz only when no replica is ready (the config's rule)
    expect(readFileSync(cluster.configFile, 'utf8')).toMatch(
      /use_backend gateway-replicas if \{ nbsrv\(gateway-replicas\) gt 0 \}\n  default_backend gateway-live/,
    );
    expect(readFileSync(cluster.configFile, 'utf8')).not.toMatch(/\b(cookie|stick|balance source)\b/);
    const served = (proxy: string) => rows.filter((r) => r.proxy === proxy && r.server !== 'BACKEND').map((r) => r.sessions);
    // every replica of the gateway and of the imports subgraph took requests: the gateways reached imports through HAProxy
    expect(served('gateway-replicas').every((n) => n > 0)).toBe(true);
    expect(served('imports-replicas').every((n) => n > 0)).toBe(true);
    expect(rows.filter((r) => r.server !== 'FRONTEND' && r.server !== 'BACKEND').every((r) => r.status === 'UP')).toBe(true);
  });

  it('takes a dead replica out by its /readyz check and keeps answering, then takes it back', async () => {
    const imports1 = cluster.replicas.find((r) => r.service === 'imports' && r.index === 1)!;
    const gateway1 = cluster.replicas.find((r) => r.service === 'gateway' && r.index === 1)!;
    await Promise.all([imports1.kill('SIGKILL'), gateway1.kill('SIGKILL')]);
    // both checks (/readyz and /healthz) see them gone
    const killed = (rows: Awaited<ReturnType<typeof stats>>) => rows.filter((r) => r.server === 'imports-1' || r.server === 'gateway-1');
    const down = await until(
      () => stats(socket),
      (rows) => killed(rows).every((r) => r.status.startsWith('DOWN')),
      10_000,
    );
    expect(killed(down).map((r) => r.status)).toEqual(['DOWN', 'DOWN', 'DOWN', 'DOWN']);
    for (let i = 0; i < 6; i++) {
      expect(await query()).toEqual({ status: 200 });
    }
    await Promise.all([imports1.start(), gateway1.start()]);
    const up = await until(
      () => stats(socket),
      (rows) => killed(rows).every((r) => r.status === 'UP'),
      10_000,
    );
    expect(killed(up).map((r) => r.status)).toEqual(['UP', 'UP', 'UP', 'UP']);
  });
});
