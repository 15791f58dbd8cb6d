import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');

/**
 * A child process that installs stopOnSignals with a stop taking `stopMs` (or never ending),
 * prints "ready", gets the signals, and exits: its exit code and what it printed.
 */
function run(stopMs: number | null, signals: NodeJS.Signals[], timeoutMs = 10_000): Promise<{ code: number | null; out: string }> {
  const script = `
    const { stopOnSignals } = require('./subgraphs/common/process.ts');
    stopOnSignals('test', () => ${stopMs === null ? 'new Promise(() => {})' : `new Promise((r) => setTimeout(() => { console.log('stopped'); r(); }, ${stopMs}))`}, ${timeoutMs});
    setInterval(() => {}, 1000);
    console.log('ready');`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-r', './test/support/register-ts.cjs', '-e', script], { cwd: ROOT, env: { ...process.env, LOG_LEVEL: 'silent' } });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('ready') && signals.length) {
        // one signal at a time, each after the process has seen the previous one
        const next = signals.shift()!;
        child.kill(next);
        if (signals.length) setTimeout(() => child.kill(signals.shift()!), 200);
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, out }));
  });
}

describe('stopOnSignals', () => {
  it('stops cleanly on SIGTERM and exits 0', async () => {
    const { code, out } = await run(50, ['SIGTERM']);
    expect(out).toContain('stopped');
    expect(code).toBe(0);
  });

  it('exits 1 when the clean stop takes longer than its bound', async () => {
    const { code, out } = await run(null, ['SIGINT'], 300);
    expect(out).not.toContain('stopped');
    expect(code).toBe(1);
  });

  it('a second signal exits at once, without waiting for the clean stop', async () => {
    const { code, out } = await run(60_000, ['SIGTERM', 'SIGTERM']);
    expect(out).not.toContain('stopped');
    expect(code).toBe(1);
  });
});
