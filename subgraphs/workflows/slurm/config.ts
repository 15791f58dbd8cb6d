/**
 * Slurm connection settings from the environment (docs/slurm.md, docs/configuration.md).
 * `SLURM_HOST` unset → null: the workflows subgraph runs without a cluster.
 *
 * The login node's host key must be known in advance (SLURM_HOST_KEY or SLURM_KNOWN_HOSTS_FILE):
 * there is no trust-on-first-use, a connection to a host presenting another key is refused.
 */
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { intFromEnv } from '../../common/config';

export interface SlurmConfig {
  host: string;
  port: number;
  user: string;
  /** the private key itself (read from SLURM_PRIVATE_KEY_FILE at start-up) */
  privateKey: Buffer;
  passphrase?: string;
  /** accepted host keys of the login node: algorithm name and raw key blob */
  hostKeys: KnownHostKey[];
  /** where BIOMERO's job logs `omero-<jobid>.log` are: its `slurm_data_path`, relative to the login home or absolute */
  logDir: string;
  /** ssh2 readyTimeout: TCP connect + handshake + authentication */
  connectTimeoutMs: number;
  /** one remote command, from channel open to exit */
  commandTimeoutMs: number;
  /** at most this many SSH connections to the login node, each running one command at a time */
  poolSize: number;
  /** commands waiting for a free connection beyond this are refused */
  maxQueuedCommands: number;
  /** first reconnect delay after a failed connect, doubled per further failure up to reconnectMaxMs */
  reconnectBaseMs: number;
  reconnectMaxMs: number;
  /** SSH keepalive interval on idle pooled connections */
  keepaliveMs: number;
  /** an idle pooled connection is closed after this long */
  idleTimeoutMs: number;
  /** job ids per remote command; longer lists are split (one command per chunk) */
  maxJobsPerCommand: number;
  /** the watcher's polling interval */
  pollIntervalMs: number;
}

export interface KnownHostKey {
  /** e.g. ssh-ed25519, ecdsa-sha2-nistp256, ssh-rsa */
  type: string;
  key: Buffer;
}

export const SLURM_DEFAULTS = {
  port: 22,
  logDir: 'my-scratch/data', // BIOMERO's default slurm_data_path
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 30_000,
  poolSize: 2,
  maxQueuedCommands: 100,
  reconnectBaseMs: 500,
  reconnectMaxMs: 30_000,
  keepaliveMs: 15_000,
  idleTimeoutMs: 60_000,
  maxJobsPerCommand: 500,
  pollIntervalMs: 10_000, // BIOMERO's own polling interval (SlurmJob.SLURM_POLLING_INTERVAL)
} as const;

export function slurmConfigFromEnv(env: NodeJS.ProcessEnv = process.env): SlurmConfig | null {
  const host = env.SLURM_HOST;
  if (!host) return null;
  const user = env.SLURM_USER;
  if (!user) throw new Error('SLURM_USER is required when SLURM_HOST is set.');
  const keyFile = env.SLURM_PRIVATE_KEY_FILE;
  if (!keyFile) throw new Error('SLURM_PRIVATE_KEY_FILE is required when SLURM_HOST is set.');
  const port = intFromEnv(env, 'SLURM_PORT', SLURM_DEFAULTS.port);
  const hostKeys: KnownHostKey[] = [];
  if (env.SLURM_HOST_KEY) hostKeys.push(...parseHostKeyList(env.SLURM_HOST_KEY));
  if (env.SLURM_KNOWN_HOSTS_FILE) {
    hostKeys.push(...knownHostKeys(readFileSync(env.SLURM_KNOWN_HOSTS_FILE, 'utf8'), host, port));
  }
  if (hostKeys.length === 0) {
    throw new Error(
      `No host key for ${host}:${port}: set SLURM_HOST_KEY ("ssh-ed25519 AAAA…") or SLURM_KNOWN_HOSTS_FILE with a line for ${knownHostsName(host, port)}.`,
    );
  }
  const logDir = env.SLURM_LOG_DIR || SLURM_DEFAULTS.logDir;
  checkLogDir(logDir);
  const positive = (name: string, fallback: number) => {
    const value = intFromEnv(env, name, fallback);
    if (value < 1) throw new Error(`${name} must be at least 1.`);
    return value;
  };
  return {
    host,
    port,
    user,
    privateKey: readFileSync(keyFile),
    passphrase: env.SLURM_PRIVATE_KEY_PASSPHRASE || undefined,
    hostKeys,
    logDir,
    connectTimeoutMs: positive('SLURM_CONNECT_TIMEOUT_MS', SLURM_DEFAULTS.connectTimeoutMs),
    commandTimeoutMs: positive('SLURM_COMMAND_TIMEOUT_MS', SLURM_DEFAULTS.commandTimeoutMs),
    poolSize: positive('SLURM_POOL_SIZE', SLURM_DEFAULTS.poolSize),
    maxQueuedCommands: positive('SLURM_MAX_QUEUED_COMMANDS', SLURM_DEFAULTS.maxQueuedCommands),
    reconnectBaseMs: positive('SLURM_RECONNECT_BASE_MS', SLURM_DEFAULTS.reconnectBaseMs),
    reconnectMaxMs: positive('SLURM_RECONNECT_MAX_MS', SLURM_DEFAULTS.reconnectMaxMs),
    keepaliveMs: positive('SLURM_KEEPALIVE_MS', SLURM_DEFAULTS.keepaliveMs),
    idleTimeoutMs: positive('SLURM_IDLE_TIMEOUT_MS', SLURM_DEFAULTS.idleTimeoutMs),
    maxJobsPerCommand: positive('SLURM_MAX_JOBS_PER_COMMAND', SLURM_DEFAULTS.maxJobsPerCommand),
    pollIntervalMs: positive('SLURM_POLL_INTERVAL_MS', SLURM_DEFAULTS.pollIntervalMs),
  };
}

/** The log folder is an operator's setting, yet it is quoted into a shell command: refuse what could not be a path. */
export function checkLogDir(dir: string): void {
  if (!dir || /[\0\n\r]/.test(dir)) throw new Error('SLURM_LOG_DIR must be a non-empty path on one line.');
}

/** How OpenSSH names a host in known_hosts: `host`, or `[host]:port` for another port than 22. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `type base64 [comment]`, several separated by newlines or commas. */
export function parseHostKeyList(text: string): KnownHostKey[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((entry) => {
      const [type, data] = entry.split(/\s+/);
      const key = parseKey(type, data);
      if (!key) throw new Error(`SLURM_HOST_KEY entry "${entry.slice(0, 40)}…" is not "<type> <base64 key>".`);
      return key;
    });
}

/**
 * The keys an OpenSSH known_hosts text lists for host:port, plain or hashed (`|1|salt|hash`)
 * names, comma-separated name lists; `@revoked` lines are dropped and `@cert-authority` ignored.
 */
export function knownHostKeys(text: string, host: string, port: number): KnownHostKey[] {
  const name = knownHostsName(host, port);
  const accepted: KnownHostKey[] = [];
  const revoked: Buffer[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
    if (marker && marker !== '@revoked') continue; // @cert-authority: host certificates are not used here
    const key = parseKey(fields[1], fields[2]);
    if (!key || !hostMatches(fields[0], name)) continue;
    if (marker === '@revoked') revoked.push(key.key);
    else accepted.push(key);
  }
  // a revoked key is never accepted, even when another line lists it
  return accepted.filter((k) => !revoked.some((r) => r.equals(k.key)));
}

function hostMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    const mac = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64');
    return mac === hash;
  }
  return pattern.split(',').some((p) => p === name);
}

function parseKey(type: string | undefined, data: string | undefined): KnownHostKey | null {
  if (!type || !data || !/^[A-Za-z0-9+/]+=*$/.test(data)) return null;
  const key = Buffer.from(data, 'base64');
  // the blob starts with its own type name (uint32 length + name): it must agree
  if (key.length < 4) return null;
  const length = key.readUInt32BE(0);
  if (key.subarray(4, 4 + length).toString('latin1') !== type) return null;
  return { type, key };
}
