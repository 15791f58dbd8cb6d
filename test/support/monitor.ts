import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { projectRoot } from '../../database/paths';

/**
 * Builds the monitor page (clients/monitor/build.ts, as `npm run build` does) into a directory of
 * the test's own under .data/, so the gateway under test serves what the sources say now. The
 * esbuild CLI route (a child Node), since esbuild's JS API trips over jest's realms.
 */
export async function buildMonitorPage(): Promise<{ dir: string; remove(): void }> {
  const root = projectRoot();
  const dir = join(root, '.data', `monitor-test-${process.pid}-${Date.now()}`);
  await promisify(execFile)(process.execPath, ['--no-warnings', join('clients', 'monitor', 'build.ts'), '--outdir', dir], { cwd: root });
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
