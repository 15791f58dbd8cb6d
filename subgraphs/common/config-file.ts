import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { codedError } from './errors';

/**
 * A configuration file shared with other programs (OMERO.biomero's JSON config, BIOMERO's
 * slurm-config.ini) that we change by read → check version → write:
 *
 * - the version is the sha256 of the file's bytes (of '' when the file is missing), so any
 *   change, ours or another program's, makes a version the caller read stale (CONFLICT);
 * - writers in this process are serialised per file by a promise chain; across processes an
 *   exclusive lock file `<file>.lock` (created with 'wx') makes check-and-write atomic. The other
 *   programs write without that lock, so against them only the version check guards, leaving the
 *   short window between our check and our rename;
 * - the new content replaces the file atomically: temp file in the same directory, fsync,
 *   rename, fsync of the directory; through a symlink rather than over it; the mode is kept.
 */
export interface ConfigFileOptions {
  /** how long a writer waits for another process's lock before giving up with CONFLICT */
  lockTimeoutMs?: number;
  /** a lock file older than this is left over from a crashed writer and is broken */
  staleLockMs?: number;
}

/** The CONFLICT messages, naming what the file holds for the caller. */
export interface ConflictMessages {
  /** the version the caller sent is not the file's */
  stale: string;
  /** another process held the lock for longer than lockTimeoutMs */
  busy: string;
}

export interface VersionedBytes {
  bytes: Buffer;
  /** sha256 hex of `bytes` */
  version: string;
}

/** Tail of the write chain per absolute file path, shared by every instance in this process. */
const chains = new Map<string, Promise<void>>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

/** A file's bytes and version, for readers that never write; a missing file reads as empty. */
export async function readVersioned(file: string): Promise<VersionedBytes> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (error) {
    if (errorCode(error) !== 'ENOENT') throw error;
    bytes = Buffer.alloc(0);
  }
  return { bytes, version: sha256(bytes) };
}

export class SharedConfigFile {
  private readonly lockTimeoutMs: number;
  private readonly staleLockMs: number;

  constructor(
    readonly path: string,
    private readonly messages: ConflictMessages,
    options: ConfigFileOptions = {},
  ) {
    this.lockTimeoutMs = options.lockTimeoutMs ?? 5_000;
    this.staleLockMs = options.staleLockMs ?? 30_000;
  }

  /** The file's bytes and version; a missing file reads as empty. */
  read(): Promise<VersionedBytes> {
    return readVersioned(this.path);
  }

  /**
   * Runs `task` holding this process's chain and the lock file, with the current content. The
   * task checks the caller's version with `assertVersion` (after its own validation of the
   * content, so a malformed file is reported as such) and writes with `replace`.
   */
  update<T>(task: (current: VersionedBytes) => Promise<T>): Promise<T> {
    return this.serialised(() => this.locked(async () => task(await this.read())));
  }

  /** CONFLICT (nothing written) unless the caller read the content that is on disk now. */
  assertVersion(current: VersionedBytes, expectedVersion: string): void {
    if (current.version !== expectedVersion) throw codedError('CONFLICT', this.messages.stale, { currentVersion: current.version });
  }

  /** Temp file in the same directory, fsync, rename over the original, fsync the directory. */
  async replace(text: string): Promise<void> {
    const target = await this.target();
    const dir = path.dirname(target);
    let mode = 0o644;
    try {
      mode = (await fs.stat(target)).mode & 0o7777;
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
    }
    const temp = path.join(dir, `.${path.basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
    const handle = await fs.open(temp, 'wx', mode);
    try {
      try {
        await handle.writeFile(text, 'utf8');
        await handle.chmod(mode); // the umask may have narrowed it
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, target);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
    await syncDirectory(dir);
  }

  /** The file to replace: through a symlink (e.g. a mounted config) rather than over it. */
  async target(): Promise<string> {
    try {
      return await fs.realpath(this.path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      return path.resolve(this.path);
    }
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const key = path.resolve(this.path);
    const run = (chains.get(key) ?? Promise.resolve()).then(task);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    chains.set(key, tail);
    void tail.then(() => {
      if (chains.get(key) === tail) chains.delete(key);
    });
    return run;
  }

  private async locked<T>(task: () => Promise<T>): Promise<T> {
    await fs.mkdir(path.dirname(path.resolve(this.path)), { recursive: true });
    const lock = `${await this.target()}.lock`;
    const deadline = Date.now() + this.lockTimeoutMs;
    for (;;) {
      try {
        await fs.writeFile(lock, `${process.pid}\n`, { flag: 'wx' });
        break;
      } catch (error) {
        if (errorCode(error) !== 'EEXIST') throw error;
      }
      if (await this.breakStaleLock(lock)) continue;
      if (Date.now() >= deadline) {
        throw codedError('CONFLICT', this.messages.busy);
      }
      await sleep(25);
    }
    try {
      return await task();
    } finally {
      await fs.rm(lock, { force: true });
    }
  }

  /**
   * A crashed writer leaves its lock behind. Two processes breaking the same stale lock at once
   * could remove a fresh one; with a stale age of seconds and rare crashes we accept that.
   */
  private async breakStaleLock(lock: string): Promise<boolean> {
    try {
      const { mtimeMs } = await fs.stat(lock);
      if (Date.now() - mtimeMs < this.staleLockMs) return false;
      await fs.rm(lock, { force: true });
      return true;
    } catch (error) {
      if (errorCode(error) === 'ENOENT') return true;
      throw error;
    }
  }
}

/** Makes the rename durable; not every platform can fsync a directory, which is harmless. */
async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, 'r');
    await handle.sync();
  } catch {
    // best effort
  } finally {
    await handle?.close();
  }
}
