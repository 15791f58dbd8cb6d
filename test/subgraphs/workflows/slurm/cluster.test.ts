/**
 * SshSlurmCluster against the real single-node Slurm cluster and sshd (test/slurm/setup.sh).
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { createSlurmCluster, SlurmError, type SshSlurmCluster } from '../../../../subgraphs/workflows/slurm/cluster';
import { parseHostKeyList, type SlurmConfig } from '../../../../subgraphs/workflows/slurm/config';
import { SshPool } from '../../../../subgraphs/workflows/slurm/pool';
import { cleanupJobs, describeSlurm, eventually, releaseJob, slurmTest, submitJob } from '../../../slurm/cluster';

const submitted: number[] = [];
const open: Array<{ close(): Promise<void> }> = [];

async function job(script: string, hold = false): Promise<number> {
  const id = await submitJob({ script, hold });
  submitted.push(id);
  return id;
}

function cluster(overrides: Partial<SlurmConfig> = {}): SshSlurmCluster {
  const c = createSlurmCluster({ ...slurmTest().config, ...overrides });
  open.push(c);
  return c;
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(SlurmError);
    return (error as SlurmError).extensions.code as string;
  }
  throw new Error('expected a SlurmError');
}

describeSlurm('SshSlurmCluster on a real Slurm cluster', () => {
  afterEach(async () => {
    await Promise.all(open.splice(0).map((c) => c.close()));
  });
  afterAll(async () => {
    await cleanupJobs(submitted);
  });

  test('a job is seen PENDING, then RUNNING, then COMPLETED with UTC times', async () => {
    const slurm = cluster();
    const before = Date.now() - 2000;
    const id = await job('sleep 1.5', true);

    // slurmctld reports a new job to slurmdbd within a few seconds: until then sacct does not know it
    const pending = await eventually(async () => (await slurm.jobStates([id])).get(id));
    expect(pending).toMatchObject({ jobId: id, state: 'PENDING', source: 'sacct', startedAt: null, endedAt: null });
    expect(pending.submittedAt!.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(pending.submittedAt!.getTime()).toBeLessThanOrEqual(Date.now());
    expect((await slurm.queueStates([id])).get(id)).toMatchObject({ state: 'PENDING', source: 'squeue', exitCode: null });

    await releaseJob(id);
    const running = await eventually(
      async () => {
        const s = (await slurm.queueStates([id])).get(id);
        return s?.state === 'RUNNING' ? s : undefined;
      },
      10_000,
      100,
    );
    expect(running.startedAt).toBeInstanceOf(Date);

    const done = await eventually(async () => {
      const s = (await slurm.jobStates([id])).get(id);
      return s?.state === 'COMPLETED' ? s : undefined;
    });
    expect(done).toMatchObject({ exitCode: '0:0', source: 'sacct' });
    expect(done.endedAt!.getTime()).toBeGreaterThanOrEqual(done.startedAt!.getTime() + 1000);
    expect(Math.abs(done.endedAt!.getTime() - Date.now())).toBeLessThan(60_000); // UTC, not the node's local time
    expect((await slurm.queueStates([id])).has(id)).toBe(false); // finished jobs leave the queue
  });

  test('a long job cancelled through cancel() is reported CANCELLED', async () => {
    const slurm = cluster();
    const id = await job('sleep 120');
    await eventually(async () => ((await slurm.queueStates([id])).get(id)?.state === 'RUNNING' ? true : undefined), 10_000, 100);
    await slurm.cancel([id]);
    const cancelled = await eventually(async () => {
      const s = (await slurm.jobStates([id])).get(id);
      return s?.state === 'CANCELLED' ? s : undefined;
    });
    expect(cancelled.endedAt).toBeInstanceOf(Date);
    await slurm.cancel([id]); // cancelling a finished job again is not an error
  });

  test('many jobs are answered by one command per method', async () => {
    const slurm = cluster();
    const ids = await Promise.all([1, 2, 3, 4].map(() => job('echo "step 1"; echo "25%"; echo "done 100%"', true)));
    const unknown = 60_000_000; // below Slurm's MaxJobId ceiling, never reached here

    await eventually(async () => ((await slurm.jobStates(ids)).size === 4 ? true : undefined)); // in accounting
    let before = slurm.stats().commands;
    const states = await slurm.jobStates([...ids, unknown]);
    expect(slurm.stats().commands - before).toBe(1);
    expect([...states.keys()].sort()).toEqual([...ids].sort());
    expect([...states.values()].every((s) => s.state === 'PENDING')).toBe(true);

    before = slurm.stats().commands;
    const queued = await slurm.queueStates([...ids, unknown]);
    expect(slurm.stats().commands - before).toBe(1);
    expect(queued.size).toBe(4);

    // a lone unknown id makes squeue fail: reported as absent, not as an error
    expect((await slurm.queueStates([unknown])).size).toBe(0);
    expect(await slurm.jobStates([])).toEqual(new Map());

    await Promise.all(ids.map(releaseJob));
    const tails = await eventually(async () => {
      const t = await slurm.logTails([...ids, unknown], 10);
      return t.size === 4 && [...t.values()].every((x) => x.progress === 100) ? t : undefined;
    });
    expect(tails.get(ids[0])).toEqual({ jobId: ids[0], tail: 'step 1\n25%\ndone 100%', progress: 100 });

    before = slurm.stats().commands;
    const last = await slurm.logTails(ids, 1);
    expect(slurm.stats().commands - before).toBe(1);
    expect(last.get(ids[1])!.tail).toBe('done 100%');

    // more ids than fit one command: one command per chunk
    const chunked = cluster({ maxJobsPerCommand: 2 });
    const c0 = chunked.stats().commands;
    expect((await chunked.jobStates(ids)).size).toBe(4);
    expect(chunked.stats().commands - c0).toBe(2);
  });

  test('progress follows the log of a running job', async () => {
    const slurm = cluster();
    const id = await job('echo "10%"; sleep 0.6; echo "Progress: 55.5%"; sleep 0.6; echo "100%"');
    const mid = await eventually(
      async () => {
        const t = (await slurm.logTails([id], 10)).get(id);
        return t && t.progress !== null && t.progress < 100 ? t : undefined;
      },
      10_000,
      50,
    );
    expect([10, 55.5]).toContain(mid.progress);
    await eventually(async () => ((await slurm.logTails([id], 10)).get(id)?.progress === 100 ? true : undefined));
  });

  test('ids that are not integers are refused without contacting the cluster', async () => {
    const slurm = cluster();
    for (const bad of ['1; touch /tmp/pwned', '12', -1, 1.5, NaN] as unknown as number[]) {
      expect(await codeOf(slurm.jobStates([bad]))).toBe('BAD_USER_INPUT');
      expect(await codeOf(slurm.queueStates([1, bad]))).toBe('BAD_USER_INPUT');
      expect(await codeOf(slurm.logTails([bad], 10))).toBe('BAD_USER_INPUT');
      expect(await codeOf(slurm.cancel([bad]))).toBe('BAD_USER_INPUT');
    }
    expect(slurm.stats()).toMatchObject({ commands: 0, connectionsOpened: 0, connectFailures: 0 });
  });

  test('a login node presenting another host key is refused', async () => {
    const { config } = slurmTest();
    // a real ed25519 key, but not the server's: the client's own public key
    const wrong = parseHostKeyList(readFileSync(`${slurmTest().env.SLURM_PRIVATE_KEY_FILE}.pub`, 'utf8'));
    const slurm = cluster({ hostKeys: wrong });
    expect(await codeOf(slurm.jobStates([1]))).toBe('SLURM_HOST_KEY_REJECTED');
    expect(slurm.stats()).toMatchObject({ commands: 0, connectionsOpened: 0, connectFailures: 1 });
    // the right key from the known_hosts file works
    expect(config.hostKeys.some((k) => !k.key.equals(wrong[0].key))).toBe(true);
    await cluster().jobStates([1]);
  });

  test('the pool is bounded and reuses its connections', async () => {
    const slurm = cluster({ poolSize: 2 });
    await Promise.all(Array.from({ length: 6 }, () => slurm.jobStates([1])));
    expect(slurm.stats()).toMatchObject({ commands: 6, connectionsOpened: 2, open: 2, idle: 2, queued: 0 });
    await slurm.jobStates([1]);
    expect(slurm.stats().connectionsOpened).toBe(2);
  });

  test('a command that overruns its timeout fails with SLURM_TIMEOUT and the pool recovers', async () => {
    const pool = new SshPool({ ...slurmTest().config, commandTimeoutMs: 600 });
    open.push(pool);
    const started = Date.now();
    expect(await codeOf(pool.exec('sleep 5'))).toBe('SLURM_TIMEOUT');
    expect(Date.now() - started).toBeLessThan(3000);
    expect((await pool.exec('echo ok')).stdout).toBe('ok\n');
    expect(pool.stats().connectionsOpened).toBe(2); // the overrun connection was dropped
  });

  test('a peer that never completes the SSH handshake times out', async () => {
    const sockets: Socket[] = [];
    const silent = await listen(createServer((s) => sockets.push(s)));
    try {
      const slurm = cluster({ port: port(silent), connectTimeoutMs: 300, commandTimeoutMs: 2000, reconnectBaseMs: 5000, reconnectMaxMs: 5000 });
      const started = Date.now();
      expect(await codeOf(slurm.jobStates([1]))).toBe('SLURM_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(1500);
    } finally {
      sockets.forEach((s) => s.destroy());
      await new Promise((r) => silent.close(r));
    }
  });

  test('reconnects with exponential backoff after the login node went away', async () => {
    const proxy = new Proxy(Number(slurmTest().env.SLURM_PORT));
    await proxy.start();
    try {
      const slurm = cluster({ port: proxy.port, reconnectBaseMs: 100, reconnectMaxMs: 400, commandTimeoutMs: 3000 });
      await slurm.jobStates([1]);
      expect(slurm.stats().connectionsOpened).toBe(1);

      // the connection drops: the next command opens a new one at once
      proxy.dropAll();
      await eventually(async () => (slurm.stats().open === 0 ? true : undefined), 2000, 20);
      await slurm.jobStates([1]);
      expect(slurm.stats().connectionsOpened).toBe(2);

      // the node is down: attempts are spaced 100, 200, 400, 400 ms … until the command's deadline
      proxy.dropAll();
      proxy.refuse = true;
      await eventually(async () => (slurm.stats().open === 0 ? true : undefined), 2000, 20);
      const failing = Date.now();
      expect(await codeOf(slurm.jobStates([1]))).toBe('SLURM_UNAVAILABLE');
      const attempts = proxy.attempts.filter((t) => t >= failing);
      expect(attempts.length).toBeGreaterThanOrEqual(4);
      expect(attempts.length).toBeLessThanOrEqual(10);
      const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
      expect(gaps[0]).toBeGreaterThanOrEqual(90);
      expect(gaps[1]).toBeGreaterThanOrEqual(190);
      expect(gaps[2]).toBeGreaterThanOrEqual(390);
      expect(Math.max(...gaps)).toBeLessThan(900); // capped at reconnectMaxMs

      // back up: the next command connects again
      proxy.refuse = false;
      await new Promise((r) => setTimeout(r, 450));
      await slurm.jobStates([1]);
      expect(slurm.stats().open).toBe(1);
    } finally {
      await proxy.stop();
    }
  });

  test('close() ends every connection and refuses later commands', async () => {
    const slurm = createSlurmCluster(slurmTest().config);
    await Promise.all([slurm.jobStates([1]), slurm.jobStates([1])]);
    expect(slurm.stats().open).toBe(2);
    await slurm.close();
    expect(slurm.stats().open).toBe(0);
    expect(await codeOf(slurm.jobStates([1]))).toBe('SLURM_CLOSED');
  });
});

/** A TCP forwarder to the sshd that can drop its connections and refuse new ones. */
class Proxy {
  readonly attempts: number[] = [];
  refuse = false;
  private readonly pairs = new Set<Socket>();
  private server: Server | null = null;
  port = 0;
  constructor(private readonly target: number) {}

  async start(): Promise<void> {
    this.server = await listen(
      createServer((client) => {
        this.attempts.push(Date.now());
        if (this.refuse) return client.destroy();
        const upstream = tcpConnect(this.target, '127.0.0.1');
        for (const s of [client, upstream]) {
          this.pairs.add(s);
          s.on('close', () => this.pairs.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      }),
    );
    this.port = port(this.server);
  }

  dropAll(): void {
    for (const s of this.pairs) s.destroy();
  }

  async stop(): Promise<void> {
    this.dropAll();
    await new Promise((r) => this.server?.close(r));
  }
}

function listen(server: Server): Promise<Server> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function port(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}
