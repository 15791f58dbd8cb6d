/**
 * The campaign's own PostgreSQL, which it crashes (SIGKILL of the postmaster) and stops cleanly.
 * The server runs in a child process (test/support/embedded-process-main.ts) on a fixed port and
 * data directory, so that every replica finds it again after a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../../database/paths';

const root = projectRoot();

export class SoakPostgres {
  url = '';
  private child: ChildProcess | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly port: number,
  ) {}

  /** Starts it (again); a start right after a crash waits for the old backends to leave. */
  async start(): Promise<void> {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        await this.startOnce();
        return;
      } catch (err) {
        lastError = err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    throw lastError;
  }

  private startOnce(): Promise<void> {
    // not durable (no fsync: the machine does not crash, only the server); the writers commit
    // with synchronous_commit on (writers.ts), else a crash would forget commits readers saw
    const opts = { dataDir: this.dataDir, port: this.port, durable: false };
    const child = spawn(
      process.execPath,
      ['-r', join(root, 'test/support/register-ts.cjs'), join(root, 'test/support/embedded-process-main.ts'), JSON.stringify(opts)],
      {
        env: { ...process.env, JEST_WORKER_ID: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    return new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`PostgreSQL did not start:\n${out}`));
      }, 60_000);
      child.stdout!.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const ready = /^READY (\S+)$/m.exec(out);
        if (!ready) return;
        clearTimeout(timer);
        this.url = ready[1];
        this.child = child;
        resolve();
      });
      child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`PostgreSQL exited with ${code}:\n${out}`));
      });
    });
  }

  /** The postmaster's process id, from its postmaster.pid. */
  private postmasterPid(): number | null {
    try {
      return Number(readFileSync(join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) || null;
    } catch {
      return null;
    }
  }

  /** SIGKILL: the postmaster dies at once, its backends follow; the next start recovers from the WAL. */
  async crash(): Promise<void> {
    const pid = this.postmasterPid();
    if (pid) process.kill(pid, 'SIGKILL');
    const child = this.child;
    this.child = null;
    if (child && child.exitCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // the postmaster is gone once signal 0 fails
    while (pid && alive(pid)) await new Promise((r) => setTimeout(r, 50));
  }

  /** A clean stop (fast shutdown: open transactions are aborted, connections closed). */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (!child || child.exitCode !== null) return;
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
