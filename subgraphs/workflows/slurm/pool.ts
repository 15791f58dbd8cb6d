/**
 * A bounded pool of SSH connections (ssh2) to the Slurm login node.
 *
 * - Authentication by private key; the server's host key must equal one configured key
 *   (`hostVerifier`), and only those key types are offered in the handshake.
 * - At most `poolSize` connections, each running one command at a time; further commands wait
 *   in a FIFO queue (at most `maxQueuedCommands`), each for at most `commandTimeoutMs`.
 * - Connections are opened lazily, kept alive with SSH keepalives, closed after `idleTimeoutMs`
 *   unused, and dropped when they fail; the next command opens a new one.
 * - A failed connect delays the next by `reconnectBaseMs`, doubling per consecutive failure up to
 *   `reconnectMaxMs` (exponential backoff); a command retries within its own time budget and
 *   fails with SLURM_UNAVAILABLE when the next attempt would come too late.
 * - Every command has a deadline (`commandTimeoutMs`); a command that overruns fails with
 *   SLURM_TIMEOUT and its connection is closed (the channel state is unknown).
 */
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import type { SlurmConfig } from './config';
import { SlurmError } from './errors';

export interface CommandResult {
  stdout: string;
  stderr: string;
  /** exit status; null when the remote side sent none (killed by a signal) */
  code: number | null;
}

export interface PoolStats {
  /** remote commands started */
  commands: number;
  /** SSH connections successfully opened */
  connectionsOpened: number;
  /** connect attempts that failed */
  connectFailures: number;
  open: number;
  idle: number;
  queued: number;
}

/** A command's stdout + stderr beyond this fail it (a bounded read of logs and listings). */
export const MAX_OUTPUT_BYTES = 8 * 1024 * 1024;

type PoolOptions = Pick<
  SlurmConfig,
  | 'host'
  | 'port'
  | 'user'
  | 'privateKey'
  | 'passphrase'
  | 'hostKeys'
  | 'connectTimeoutMs'
  | 'commandTimeoutMs'
  | 'poolSize'
  | 'maxQueuedCommands'
  | 'reconnectBaseMs'
  | 'reconnectMaxMs'
  | 'keepaliveMs'
  | 'idleTimeoutMs'
>;

interface Connection {
  client: Client;
  busy: boolean;
  /** ended or failed: never handed out again */
  dead: boolean;
  idleTimer?: NodeJS.Timeout;
  closed: Promise<void>;
}

interface Waiter {
  deadline: number;
  resolve(connection: Connection): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

/** Host key algorithms that can present a key of each known_hosts type. */
const ALGORITHMS_FOR_TYPE: Record<string, string[]> = {
  'ssh-ed25519': ['ssh-ed25519'],
  'ecdsa-sha2-nistp256': ['ecdsa-sha2-nistp256'],
  'ecdsa-sha2-nistp384': ['ecdsa-sha2-nistp384'],
  'ecdsa-sha2-nistp521': ['ecdsa-sha2-nistp521'],
  'ssh-rsa': ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'],
};

export class SshPool {
  private readonly connections = new Set<Connection>();
  private readonly idle: Connection[] = [];
  private readonly waiters: Waiter[] = [];
  /** connections being opened count against poolSize too */
  private opening = 0;
  private failures = 0;
  private nextConnectAt = 0;
  private closing = false;
  private readonly counters = { commands: 0, connectionsOpened: 0, connectFailures: 0 };

  constructor(private readonly options: PoolOptions) {
    if (options.hostKeys.length === 0) throw new Error('SshPool needs at least one known host key');
  }

  stats(): PoolStats {
    return { ...this.counters, open: this.connections.size, idle: this.idle.length, queued: this.waiters.length };
  }

  /** Run one command on the login node. `command` must come from commands.ts. */
  async exec(command: string): Promise<CommandResult> {
    const deadline = Date.now() + this.options.commandTimeoutMs;
    const connection = await this.acquire(deadline);
    try {
      return await this.run(connection, command, deadline);
    } finally {
      this.release(connection);
    }
  }

  /** Close every connection and refuse further commands. */
  async close(): Promise<void> {
    this.closing = true;
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.reject(new SlurmError('SLURM_CLOSED', 'The Slurm client is closed.'));
    }
    const closed = [...this.connections].map((c) => c.closed);
    for (const connection of this.connections) connection.client.end();
    await Promise.all(closed);
  }

  private async acquire(deadline: number): Promise<Connection> {
    if (this.closing) throw new SlurmError('SLURM_CLOSED', 'The Slurm client is closed.');
    let idle = this.idle.pop();
    while (idle?.dead) idle = this.idle.pop();
    if (idle) {
      clearTimeout(idle.idleTimer);
      idle.busy = true;
      return idle;
    }
    if (this.connections.size + this.opening < this.options.poolSize) return this.connectWithBackoff(deadline);
    if (this.waiters.length >= this.options.maxQueuedCommands) {
      throw new SlurmError('SLURM_BUSY', 'Too many Slurm commands are waiting; try again later.');
    }
    return new Promise<Connection>((resolve, reject) => {
      const waiter: Waiter = {
        deadline,
        resolve,
        reject,
        timer: setTimeout(
          () => {
            this.waiters.splice(this.waiters.indexOf(waiter), 1);
            reject(new SlurmError('SLURM_TIMEOUT', 'Timed out waiting for a connection to the Slurm login node.'));
          },
          Math.max(0, deadline - Date.now()),
        ),
      };
      this.waiters.push(waiter);
    });
  }

  private release(connection: Connection): void {
    connection.busy = false;
    if (connection.dead || !this.connections.has(connection)) {
      this.serveWaiter();
      return;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      clearTimeout(waiter.timer);
      connection.busy = true;
      waiter.resolve(connection);
      return;
    }
    connection.idleTimer = setTimeout(() => connection.client.end(), this.options.idleTimeoutMs);
    connection.idleTimer.unref();
    this.idle.push(connection);
  }

  /** A slot freed up (a connection closed): let the first waiter open a new connection. */
  private serveWaiter(): void {
    if (this.closing || this.connections.size + this.opening >= this.options.poolSize) return;
    const waiter = this.waiters.shift();
    if (!waiter) return;
    clearTimeout(waiter.timer);
    this.connectWithBackoff(waiter.deadline).then(waiter.resolve, waiter.reject);
  }

  private async connectWithBackoff(deadline: number): Promise<Connection> {
    this.opening++;
    try {
      for (;;) {
        const wait = this.nextConnectAt - Date.now();
        if (wait > 0) {
          if (Date.now() + wait >= deadline) {
            throw new SlurmError('SLURM_UNAVAILABLE', `The Slurm login node is unreachable; next attempt in ${wait} ms.`);
          }
          await sleep(wait);
        }
        if (this.closing) throw new SlurmError('SLURM_CLOSED', 'The Slurm client is closed.');
        try {
          const connection = await this.connect(deadline);
          this.failures = 0;
          this.nextConnectAt = 0;
          return connection;
        } catch (error) {
          this.failures++;
          this.counters.connectFailures++;
          const delay = Math.min(this.options.reconnectMaxMs, this.options.reconnectBaseMs * 2 ** (this.failures - 1));
          this.nextConnectAt = Date.now() + delay;
          // a wrong host key or a refused login will not heal by retrying within this command
          if (error instanceof SlurmError && error.code === 'SLURM_HOST_KEY_REJECTED') throw error;
          if (error instanceof SlurmError && /authentication/i.test(error.message)) throw error;
          if (Date.now() >= deadline) throw error;
        }
      }
    } finally {
      this.opening--;
      // a failed opener frees its slot: a queued command may try in its place
      this.serveWaiter();
    }
  }

  private connect(deadline: number): Promise<Connection> {
    const { options } = this;
    return new Promise<Connection>((resolve, reject) => {
      const client = new Client();
      let hostKeyRejected = false;
      let ready = false;
      let onClosed!: () => void;
      const connection: Connection = { client, busy: true, dead: false, closed: new Promise<void>((r) => (onClosed = r)) };
      const serverHostKey = [...new Set(options.hostKeys.flatMap((k) => ALGORITHMS_FOR_TYPE[k.type] ?? [k.type]))];
      const config: ConnectConfig = {
        host: options.host,
        port: options.port,
        username: options.user,
        privateKey: options.privateKey,
        passphrase: options.passphrase,
        readyTimeout: Math.max(1, Math.min(options.connectTimeoutMs, deadline - Date.now())),
        keepaliveInterval: options.keepaliveMs,
        keepaliveCountMax: 3,
        algorithms: { serverHostKey: serverHostKey as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] },
        hostVerifier: (key: Buffer) => {
          const known = options.hostKeys.some((k) => k.key.equals(key));
          if (!known) hostKeyRejected = true;
          return known;
        },
      };
      client.on('ready', () => {
        if (this.closing) {
          client.end();
          return reject(new SlurmError('SLURM_CLOSED', 'The Slurm client is closed.'));
        }
        ready = true;
        this.counters.connectionsOpened++;
        this.connections.add(connection);
        resolve(connection);
      });
      client.on('error', (error: Error & { level?: string }) => {
        if (ready) return; // 'close' follows; the running command sees its channel fail
        if (hostKeyRejected) {
          reject(new SlurmError('SLURM_HOST_KEY_REJECTED', 'The Slurm login node presented an unknown host key; connection refused.', error));
        } else if (error.level === 'client-authentication') {
          reject(new SlurmError('SLURM_UNAVAILABLE', 'The Slurm login node refused authentication.', error));
        } else if (/timed out/i.test(error.message)) {
          reject(new SlurmError('SLURM_UNAVAILABLE', 'Timed out connecting to the Slurm login node.', error));
        } else {
          reject(new SlurmError('SLURM_UNAVAILABLE', 'Cannot connect to the Slurm login node.', error));
        }
      });
      client.on('close', () => {
        connection.dead = true;
        this.connections.delete(connection);
        const at = this.idle.indexOf(connection);
        if (at >= 0) this.idle.splice(at, 1);
        clearTimeout(connection.idleTimer);
        onClosed();
        if (!ready) reject(new SlurmError('SLURM_UNAVAILABLE', 'The Slurm login node closed the connection.'));
        else if (!connection.busy) this.serveWaiter();
      });
      client.connect(config);
    });
  }

  private run(connection: Connection, command: string, deadline: number): Promise<CommandResult> {
    this.counters.commands++;
    return new Promise<CommandResult>((resolve, reject) => {
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let bytes = 0;
      let settled = false;
      const finish = (error: Error | null, result?: CommandResult) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        connection.client.removeListener('close', onClose);
        if (error) reject(error);
        else resolve(result!);
      };
      const abandon = (error: Error) => {
        finish(error);
        // the channel may still be busy: never reuse this connection
        connection.dead = true;
        connection.client.end();
      };
      const timer = setTimeout(
        () => abandon(new SlurmError('SLURM_TIMEOUT', `A Slurm command took longer than ${this.options.commandTimeoutMs} ms.`)),
        Math.max(0, deadline - Date.now()),
      );
      const onClose = () => finish(new SlurmError('SLURM_UNAVAILABLE', 'The connection to the Slurm login node was lost.'));
      connection.client.once('close', onClose);
      const onChannel = (error: Error | undefined, stream: ClientChannel) => {
        if (error) return abandon(new SlurmError('SLURM_UNAVAILABLE', 'Cannot open a channel on the Slurm login node.', error));
        let code: number | null = null;
        const collect = (into: Buffer[]) => (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_OUTPUT_BYTES) {
            return abandon(new SlurmError('SLURM_COMMAND_FAILED', `A Slurm command printed more than ${MAX_OUTPUT_BYTES} bytes.`));
          }
          into.push(chunk);
        };
        stream.on('data', collect(stdout));
        stream.stderr.on('data', collect(stderr));
        stream.on('exit', (exitCode: number | null) => (code = typeof exitCode === 'number' ? exitCode : null));
        stream.on('close', () => finish(null, { stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8'), code }));
      };
      try {
        connection.client.exec(command, onChannel);
      } catch (error) {
        // ssh2 throws at once when the connection has just gone
        abandon(new SlurmError('SLURM_UNAVAILABLE', 'The connection to the Slurm login node was lost.', error));
      }
    });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
