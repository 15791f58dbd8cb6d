/**
 * The real single-node Slurm cluster + sshd for tests (test/slurm/setup.sh), or the reason it
 * cannot be had here.
 *
 *   import { slurmTest, describeSlurm, submitJob } from '../../../slurm/cluster';
 *   describeSlurm('my tests', () => { … slurmTest().config … });
 *
 * At first use it runs setup.sh (idempotent; about a second when all is up; once per test
 * file) unless OMERO_GRAPH_SLURM_SETUP=0, then reads the env file the script wrote
 * (SLURM_TEST_ENV_FILE, default /var/lib/omero-graph-slurm/test.env) into a SlurmConfig.
 * Where that fails, `describeSlurm` skips with the reason printed, except under
 * REQUIRE_SLURM=1 (.ci/run), where it fails.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type SlurmConfig, slurmConfigFromEnv } from '../../subgraphs/workflows/slurm/config';

const run = promisify(execFile);
const SETUP = join(__dirname, 'setup.sh');
const DEFAULT_ENV_FILE = '/var/lib/omero-graph-slurm/test.env';

export interface SlurmTestCluster {
  /** the env file's variables (SLURM_HOST, SLURM_PORT, SLURM_USER, …) */
  env: Record<string, string>;
  /** settings for createSlurmCluster, with short timeouts for tests */
  config: SlurmConfig;
  /** the login user jobs run as */
  user: string;
  /** where jobs write omero-<id>.log */
  logDir: string;
}

let cached: { cluster?: SlurmTestCluster; skipReason?: string } | undefined;

/** The cluster, or the reason it is not available (computed once per test file). */
export function slurmAvailability(): { cluster?: SlurmTestCluster; skipReason?: string } {
  cached ??= prepare();
  return cached;
}

/** The cluster; throws when it is not available (use inside describeSlurm). */
export function slurmTest(): SlurmTestCluster {
  const { cluster, skipReason } = slurmAvailability();
  if (!cluster) throw new Error(`Slurm test cluster unavailable: ${skipReason}`);
  return cluster;
}

export const slurmRequired = (): boolean => process.env.REQUIRE_SLURM === '1';

/** describe() when the cluster is up; else a skip with the printed reason, or a failure under REQUIRE_SLURM=1. */
export function describeSlurm(name: string, body: () => void): void {
  const { skipReason } = slurmAvailability();
  if (!skipReason) {
    describe(name, body);
  } else if (slurmRequired()) {
    describe(name, () => {
      test('the Slurm test cluster is available (REQUIRE_SLURM=1)', () => {
        throw new Error(`REQUIRE_SLURM=1 but the Slurm test cluster is unavailable: ${skipReason}`);
      });
    });
  } else {
    console.warn(`Skipping "${name}": the Slurm test cluster is unavailable: ${skipReason}`);
    describe.skip(name, body);
  }
}

function prepare(): { cluster?: SlurmTestCluster; skipReason?: string } {
  if (process.env.OMERO_GRAPH_SLURM_SETUP !== '0') {
    if (process.platform !== 'linux') return { skipReason: 'the Slurm test cluster needs Linux (Debian packages)' };
    const result = spawnSync('bash', [SETUP], { encoding: 'utf8', timeout: 600_000 });
    if (result.error) return { skipReason: `test/slurm/setup.sh could not run: ${result.error.message}` };
    if (result.status !== 0) {
      const lines = (result.stderr || '').trim().split('\n');
      const reason = lines.find((l) => /cannot run here|FAILED/.test(l)) ?? lines.at(-1) ?? `exit status ${result.status}`;
      return { skipReason: `test/slurm/setup.sh exited with ${result.status}: ${reason}` };
    }
  }
  const file = process.env.SLURM_TEST_ENV_FILE || DEFAULT_ENV_FILE;
  if (!existsSync(file)) return { skipReason: `no env file ${file} (run test/slurm/setup.sh as root)` };
  try {
    const env = parseEnvFile(readFileSync(file, 'utf8'));
    const config = slurmConfigFromEnv({
      ...env,
      SLURM_CONNECT_TIMEOUT_MS: '5000',
      SLURM_COMMAND_TIMEOUT_MS: '15000',
      SLURM_RECONNECT_BASE_MS: '100',
      SLURM_RECONNECT_MAX_MS: '1000',
    });
    if (!config) return { skipReason: `${file} has no SLURM_HOST` };
    return { cluster: { env, config, user: env.SLURM_USER, logDir: env.SLURM_LOG_DIR } };
  } catch (error) {
    return { skipReason: `cannot read ${file}: ${(error as Error).message}` };
  }
}

/** KEY=value lines (the value is everything after the first '='). */
export function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) env[match[1]] = match[2];
  }
  return env;
}

// ---- jobs, submitted as the test user the way BIOMERO submits them ---------------------------

export interface SubmitOptions {
  /** shell script body for `sbatch --wrap` (test-owned text, never user input) */
  script: string;
  /** submit held (`--hold`): PENDING until released */
  hold?: boolean;
  name?: string;
}

/** `sbatch --parsable --output=<logDir>/omero-%j.log` as the test user; the new job id. */
export async function submitJob(options: SubmitOptions): Promise<number> {
  const { user, logDir } = slurmTest();
  const args = ['-u', user, '--', 'sbatch', '--parsable', `--job-name=${options.name ?? 'omero-graph-test'}`, `--output=${logDir}/omero-%j.log`];
  if (options.hold) args.push('--hold');
  args.push(`--wrap=${options.script}`);
  const { stdout } = await run('runuser', args, { encoding: 'utf8' });
  const id = Number(stdout.trim().split(';')[0]);
  if (!Number.isInteger(id) || id < 1) throw new Error(`sbatch printed "${stdout}"`);
  return id;
}

/** `scontrol release` a held job, as its owner. */
export async function releaseJob(jobId: number): Promise<void> {
  const { user } = slurmTest();
  await run('runuser', ['-u', user, '--', 'scontrol', 'release', String(jobId)]);
}

/** Cancel jobs as root (test clean-up; ignores finished ones). */
export async function cleanupJobs(jobIds: readonly number[]): Promise<void> {
  if (jobIds.length > 0) await run('scancel', jobIds.map(String)).catch(() => undefined);
}

/** Poll `check` every `everyMs` until it returns a value other than undefined, or fail after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000, everyMs = 200): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
