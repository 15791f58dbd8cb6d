import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { badInput, codedError } from '../../common/errors';

/**
 * OMERO.biomero's JSON config file (OMERO_BIOMERO_CONFIG_FILE, reference/biomero-models.md 3.3)
 * as a store of group → import folder mappings. Only `group_mappings` is ever changed; every other
 * key (PREPROCESSING_CONFIG, …) is written back as parsed.
 *
 * Concurrency: writers in this process are serialised per file by a promise chain; across
 * processes (several imports subgraphs) an exclusive lock file `<file>.lock` (created with 'wx')
 * makes check-and-write atomic. OMERO.biomero itself writes the file without that lock, so against
 * it only the version check guards, leaving the short window between our check and our rename.
 */
export interface GroupFolderMapping {
  groupId: number;
  groupName: string;
  /** relative to the import mount (IMPORT_MOUNT_PATH) */
  folder: string;
}

export interface MappingsSnapshot {
  /** sha256 hex of the file's bytes (of '' when the file is missing) */
  version: string;
  mappings: GroupFolderMapping[];
}

export interface ConfigFileOptions {
  /** how long a writer waits for another process's lock before giving up with CONFLICT */
  lockTimeoutMs?: number;
  /** a lock file older than this is left over from a crashed writer and is broken */
  staleLockMs?: number;
}

type JsonObject = Record<string, unknown>;

/** Tail of the write chain per absolute file path, shared by every instance in this process. */
const chains = new Map<string, Promise<void>>();

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sha256(bytes: Buffer | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException)?.code;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A mapping folder as OMERO.biomero joins it to the mount: relative, no '..' after
 * normalisation, and strictly inside the mount (the mount itself would hand every group's data
 * to one group). Returns the normalised folder.
 */
export function validateFolder(folder: unknown, mountPath: string): string {
  if (typeof folder !== 'string' || folder.trim() === '') throw badInput('folder must not be empty', 'folder');
  if (folder.includes('\0')) throw badInput('folder must not contain NUL characters', 'folder');
  if (path.posix.isAbsolute(folder) || path.isAbsolute(folder)) {
    throw badInput(`folder must be relative to the import mount, not absolute: ${folder}`, 'folder');
  }
  const normalised = path.posix.normalize(folder).replace(/\/+$/, '');
  if (normalised.split('/').includes('..')) throw badInput(`folder must stay inside the import mount: ${folder}`, 'folder');
  const mount = path.resolve(mountPath);
  const rel = path.relative(mount, path.resolve(mount, normalised));
  if (rel === '' || rel === '..' || rel.startsWith(`..${path.sep}`) || path.isAbsolute(rel)) {
    throw badInput(`folder must name a folder inside the import mount: ${folder}`, 'folder');
  }
  return normalised;
}

export class BiomeroConfigFile {
  private readonly lockTimeoutMs: number;
  private readonly staleLockMs: number;

  /** `path`: OMERO_BIOMERO_CONFIG_FILE; `mountPath`: IMPORT_MOUNT_PATH (OMERO.biomero default /data). */
  constructor(
    readonly path: string,
    readonly mountPath: string,
    options: ConfigFileOptions = {},
  ) {
    this.lockTimeoutMs = options.lockTimeoutMs ?? 5_000;
    this.staleLockMs = options.staleLockMs ?? 30_000;
  }

  async read(): Promise<MappingsSnapshot> {
    const { version, doc } = await this.load();
    return { version, mappings: mappingsOf(doc) };
  }

  /**
   * Absolute folder of a group, or null when unmapped. A mapping on disk that fails validation
   * (written by hand or by OMERO.biomero) is treated as unmapped rather than trusted as a boundary.
   */
  async folderOf(groupId: number): Promise<string | null> {
    const mapping = (await this.read()).mappings.find((m) => m.groupId === groupId);
    if (!mapping) return null;
    try {
      return path.resolve(this.mountPath, validateFolder(mapping.folder, this.mountPath));
    } catch {
      return null;
    }
  }

  async setMapping(m: GroupFolderMapping, expectedVersion: string): Promise<MappingsSnapshot> {
    if (!Number.isSafeInteger(m.groupId) || m.groupId < 0) throw badInput('groupId must be an OMERO group id', 'groupId');
    if (typeof m.groupName !== 'string' || m.groupName.trim() === '') throw badInput('groupName must not be empty', 'groupName');
    const folder = validateFolder(m.folder, this.mountPath);
    return this.update(expectedVersion, (mappings) => {
      const key = String(m.groupId);
      const old = isObject(mappings[key]) ? mappings[key] : {};
      // Keep any extra keys OMERO.biomero may store on an entry.
      mappings[key] = { ...old, folder, groupName: m.groupName };
      return true;
    });
  }

  async removeMapping(groupId: number, expectedVersion: string): Promise<MappingsSnapshot> {
    return this.update(expectedVersion, (mappings) => {
      const key = String(groupId);
      if (!Object.hasOwn(mappings, key)) return false;
      delete mappings[key];
      return true;
    });
  }

  private async load(): Promise<{ version: string; doc: JsonObject }> {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(this.path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      bytes = Buffer.alloc(0);
    }
    const text = bytes.toString('utf8');
    let doc: unknown;
    try {
      doc = text.trim() === '' ? {} : JSON.parse(text);
    } catch (error) {
      throw this.malformed((error as Error).message);
    }
    if (!isObject(doc)) throw this.malformed('the top level is not a JSON object');
    if (doc.group_mappings !== undefined && !isObject(doc.group_mappings)) throw this.malformed('group_mappings is not a JSON object');
    return { version: sha256(bytes), doc };
  }

  private malformed(reason: string) {
    return codedError('INTERNAL_SERVER_ERROR', `OMERO.biomero config file ${this.path} is not valid (${reason}); it was left unchanged`);
  }

  /** Check the version and apply `change` to a copy of group_mappings, then write the file atomically. */
  private update(expectedVersion: string, change: (mappings: JsonObject) => boolean): Promise<MappingsSnapshot> {
    return this.serialised(() =>
      this.locked(async () => {
        const current = await this.load();
        if (current.version !== expectedVersion) {
          throw codedError('CONFLICT', 'The import folder mappings changed since you read them; read them again and retry.', {
            currentVersion: current.version,
          });
        }
        const mappings: JsonObject = { ...((current.doc.group_mappings as JsonObject | undefined) ?? {}) };
        if (!change(mappings)) return { version: current.version, mappings: mappingsOf(current.doc) };
        // Spreading keeps group_mappings at its position (or appends it) and every other key as is.
        const doc = { ...current.doc, group_mappings: mappings };
        const text = `${JSON.stringify(doc, null, 2)}\n`;
        await this.writeAtomically(text);
        return { version: sha256(text), mappings: mappingsOf(doc) };
      }),
    );
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
        throw codedError('CONFLICT', 'The import folder mappings are being changed by another process; retry shortly.');
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

  /** The file to replace: through a symlink (e.g. a mounted config) rather than over it. */
  private async target(): Promise<string> {
    try {
      return await fs.realpath(this.path);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') throw error;
      return path.resolve(this.path);
    }
  }

  /** Temp file in the same directory, fsync, rename over the original, fsync the directory. */
  private async writeAtomically(text: string): Promise<void> {
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
}

function mappingsOf(doc: JsonObject): GroupFolderMapping[] {
  const raw = isObject(doc.group_mappings) ? doc.group_mappings : {};
  const out: GroupFolderMapping[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (!/^\d+$/.test(key) || !isObject(value) || typeof value.folder !== 'string') continue;
    out.push({ groupId: Number(key), groupName: typeof value.groupName === 'string' ? value.groupName : '', folder: value.folder });
  }
  return out.sort((a, b) => a.groupId - b.groupId);
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
