import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { extname, join } from 'node:path';
import { projectRoot } from '../database/paths';
import { SUBGRAPH_NAMES, type ServiceName } from '../subgraphs/common/config';
import { checkHaproxyConfig, haproxyBinary, haproxyConfig, type Frontend } from './haproxy';

/**
 * A cluster on one machine (docs/scaling.md): N gateway replicas and N replicas of each subgraph,
 * each its own process (the same `main` as in production), behind HAProxy. The gateway replicas
 * reach the subgraphs through HAProxy too, so every hop is balanced and health-checked, and
 * PostgreSQL is the only state the replicas share.
 */
export type ClusterService = 'gateway' | ServiceName;

export interface ClusterOptions {
  /** gateway replicas */
  replicas: number;
  /** replicas of each subgraph (default: `replicas`) */
  subgraphReplicas?: number;
  /** environment of every replica: the database URLs, IDENTITY_SECRET and any other setting */
  env: NodeJS.ProcessEnv;
  /** HAProxy's listening ports: the gateway frontend and one per subgraph (0: any free one) */
  ports: Record<ClusterService, number>;
  /** HAProxy's listening address for the gateway frontend (subgraph frontends stay on loopback) */
  host?: string;
  /** where haproxy.cfg and one log file per replica are written */
  dataDir: string;
  /** restart a replica that exits by itself (1 s, doubling to 30 s); a test schedules its own faults instead */
  restartOnExit?: boolean;
  /** HAProxy health check interval (ms) */
  checkIntervalMs?: number;
}

export interface Replica {
  service: ClusterService;
  /** 1-based, as HAProxy names it (`imports-2`) */
  index: number;
  port: number;
  /** the running process's id, or null */
  readonly pid: number | null;
  /** starts it (again, on the same port) and waits until its /healthz answers */
  start(): Promise<void>;
  /** signals it and waits for the exit (SIGTERM: a clean stop; SIGKILL: a crash) */
  kill(signal: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

export interface Cluster {
  /** the gateway through HAProxy */
  url: string;
  /** each frontend's base URL (`http://host:port`) */
  frontends: Record<ClusterService, string>;
  replicas: Replica[];
  configFile: string;
  stop(): Promise<void>;
}

const STOP_GRACE_MS = 10_000;

/**
 * A free port below Linux's ephemeral range (32768+), where outgoing connections take theirs: a
 * port chosen now and bound seconds later (the replicas start one after another) is then unlikely
 * to be taken meanwhile.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    const free = await new Promise<boolean>((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

/**
 * How a replica's process is started: the compiled `main.js` beside this file, or, when this
 * file runs as TypeScript (tests, `npm run soak`), its `main.ts` through the swc hook tests use.
 */
function serviceCommand(service: ClusterService): string[] {
  const ext = extname(__filename);
  const main = service === 'gateway' ? join(__dirname, `main${ext}`) : join(__dirname, '..', 'subgraphs', service, `main${ext}`);
  return ext === '.ts' ? ['-r', join(projectRoot(), 'test/support/register-ts.cjs'), main] : [main];
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function untilHealthy(url: string, child: ChildProcess, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before it answered ${url}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms`);
}

class ReplicaProcess implements Replica {
  private child: ChildProcess | null = null;
  private stopping = false;
  private restartDelay = 1000;
  private readonly log: WriteStream;

  constructor(
    readonly service: ClusterService,
    readonly index: number,
    readonly port: number,
    private readonly env: NodeJS.ProcessEnv,
    logFile: string,
    private readonly restartOnExit: boolean,
  ) {
    this.log = createWriteStream(logFile, { flags: 'a' });
  }

  get pid(): number | null {
    return this.child && this.child.exitCode === null && this.child.signalCode === null ? (this.child.pid ?? null) : null;
  }

  async start(): Promise<void> {
    if (this.pid !== null) return;
    this.stopping = false;
    const child = spawn(process.execPath, serviceCommand(this.service), { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    child.once('exit', (code, signal) => {
      if (this.stopping || this.child !== child || !this.restartOnExit) return;
      this.log.write(`[cluster] ${this.service}-${this.index} exited (${code ?? signal}); restarting in ${this.restartDelay} ms\n`);
      setTimeout(() => {
        if (this.stopping || this.child !== child) return;
        this.start().then(
          () => (this.restartDelay = 1000),
          (err) => this.log.write(`[cluster] restart failed: ${String(err)}\n`),
        );
      }, this.restartDelay).unref();
      this.restartDelay = Math.min(this.restartDelay * 2, 30_000);
    });
    await untilHealthy(`http://127.0.0.1:${this.port}/healthz`, child, `${this.service}-${this.index}`);
  }

  async kill(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.stopping = true;
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
    await exited(child);
    clearTimeout(timer);
  }

  close(): void {
    this.log.end();
  }
}

function environmentOf(service: ClusterService, port: number, base: NodeJS.ProcessEnv, subgraphUrls: Record<ServiceName, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, HOST: '127.0.0.1', [`${service.toUpperCase()}_PORT`]: String(port) };
  delete env.JEST_WORKER_ID; // a replica logs like a production process
  if (service === 'gateway') for (const name of SUBGRAPH_NAMES) env[`${name.toUpperCase()}_SUBGRAPH_URL`] = subgraphUrls[name];
  return env;
}

/** Starts the subgraph replicas, the gateway replicas, then HAProxy; resolves once the gateway answers /readyz through it. */
export async function startCluster(options: ClusterOptions): Promise<Cluster> {
  const bin = haproxyBinary(options.env); // before anything starts: a clear message when it is missing
  if (!Number.isInteger(options.replicas) || options.replicas < 1) throw new Error(`replicas must be a positive integer, got ${options.replicas}`);
  const subgraphReplicas = options.subgraphReplicas ?? options.replicas;
  mkdirSync(join(options.dataDir, 'logs'), { recursive: true });
  const host = options.host ?? '127.0.0.1';
  const ports = {} as Record<ClusterService, number>;
  for (const service of ['gateway', ...SUBGRAPH_NAMES] as ClusterService[]) ports[service] = options.ports[service] || (await freePort());
  const subgraphUrls = Object.fromEntries(SUBGRAPH_NAMES.map((n) => [n, `http://127.0.0.1:${ports[n]}/graphql`])) as Record<ServiceName, string>;

  const replicas: ReplicaProcess[] = [];
  for (const service of [...SUBGRAPH_NAMES, 'gateway'] as ClusterService[]) {
    const count = service === 'gateway' ? options.replicas : subgraphReplicas;
    for (let i = 1; i <= count; i++) {
      const port = await freePort();
      const logFile = join(options.dataDir, 'logs', `${service}-${i}.log`);
      replicas.push(new ReplicaProcess(service, i, port, environmentOf(service, port, options.env, subgraphUrls), logFile, options.restartOnExit ?? false));
    }
  }
  const frontends: Frontend[] = (['gateway', ...SUBGRAPH_NAMES] as ClusterService[]).map((service) => ({
    name: service,
    bind: { host: service === 'gateway' ? host : '127.0.0.1', port: ports[service] },
    servers: replicas.filter((r) => r.service === service).map((r) => `127.0.0.1:${r.port}`),
  }));
  const configFile = join(options.dataDir, 'haproxy.cfg');
  writeFileSync(configFile, haproxyConfig({ frontends, checkIntervalMs: options.checkIntervalMs, statsSocket: join(options.dataDir, 'haproxy.sock') }));
  checkHaproxyConfig(bin, configFile);

  let haproxy: ChildProcess | null = null;
  const stop = async () => {
    for (const service of ['gateway', ...SUBGRAPH_NAMES]) await Promise.all(replicas.filter((r) => r.service === service).map((r) => r.kill('SIGTERM')));
    if (haproxy) {
      haproxy.kill('SIGTERM');
      await exited(haproxy);
    }
    for (const r of replicas) r.close();
  };
  try {
    // HAProxy first: it binds its frontends now, and takes each replica in once its /readyz answers
    const haproxyLog = createWriteStream(join(options.dataDir, 'logs', 'haproxy.log'), { flags: 'a' });
    haproxy = spawn(bin, ['-f', configFile, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout!.pipe(haproxyLog);
    haproxy.stderr!.pipe(haproxyLog);
    // subgraphs, then gateways (whose readiness asks the subgraphs), in parallel per service
    for (const service of [...SUBGRAPH_NAMES, 'gateway']) await Promise.all(replicas.filter((r) => r.service === service).map((r) => r.start()));
    const url = (service: ClusterService) => `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${ports[service]}`;
    await untilHealthy(`${url('gateway')}/readyz`, haproxy, 'haproxy');
    return {
      url: `${url('gateway')}/graphql`,
      frontends: Object.fromEntries((['gateway', ...SUBGRAPH_NAMES] as ClusterService[]).map((s) => [s, url(s)])) as Record<ClusterService, string>,
      replicas,
      configFile,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
