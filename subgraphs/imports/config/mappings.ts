import path from 'node:path';
import { SharedConfigFile, sha256, type ConfigFileOptions } from '../../common/config-file';
import { badInput, codedError } from '../../common/errors';

export type { ConfigFileOptions } from '../../common/config-file';

/**
 * OMERO.biomero's JSON config file (OMERO_BIOMERO_CONFIG_FILE, reference/biomero-models.md 3.3)
 * as a store of group → import folder mappings. Only `group_mappings` is ever changed; every other
 * key (PREPROCESSING_CONFIG, …) is written back as parsed.
 *
 * Versions, locking and the atomic replace are subgraphs/common/config-file.ts's (one lock file
 * `<file>.lock` between our processes; OMERO.biomero itself is guarded against by the version only).
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

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

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
  private readonly file: SharedConfigFile;

  /** `path`: OMERO_BIOMERO_CONFIG_FILE; `mountPath`: IMPORT_MOUNT_PATH (OMERO.biomero default /data). */
  constructor(
    readonly path: string,
    readonly mountPath: string,
    options: ConfigFileOptions = {},
  ) {
    this.file = new SharedConfigFile(
      path,
      {
        stale: 'The import folder mappings changed since you read them; read them again and retry.',
        busy: 'The import folder mappings are being changed by another process; retry shortly.',
      },
      options,
    );
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
    return this.parse(await this.file.read());
  }

  private parse({ bytes, version }: { bytes: Buffer; version: string }): { version: string; doc: JsonObject } {
    const text = bytes.toString('utf8');
    let doc: unknown;
    try {
      doc = text.trim() === '' ? {} : JSON.parse(text);
    } catch (error) {
      throw this.malformed((error as Error).message);
    }
    if (!isObject(doc)) throw this.malformed('the top level is not a JSON object');
    if (doc.group_mappings !== undefined && !isObject(doc.group_mappings)) throw this.malformed('group_mappings is not a JSON object');
    return { version, doc };
  }

  private malformed(reason: string) {
    return codedError('INTERNAL_SERVER_ERROR', `OMERO.biomero config file ${this.path} is not valid (${reason}); it was left unchanged`);
  }

  /** Check the version and apply `change` to a copy of group_mappings, then write the file atomically. */
  private update(expectedVersion: string, change: (mappings: JsonObject) => boolean): Promise<MappingsSnapshot> {
    return this.file.update(async (bytes) => {
      const current = this.parse(bytes);
      this.file.assertVersion(bytes, expectedVersion);
      const mappings: JsonObject = { ...((current.doc.group_mappings as JsonObject | undefined) ?? {}) };
      if (!change(mappings)) return { version: current.version, mappings: mappingsOf(current.doc) };
      // Spreading keeps group_mappings at its position (or appends it) and every other key as is.
      const doc = { ...current.doc, group_mappings: mappings };
      const text = `${JSON.stringify(doc, null, 2)}\n`;
      await this.file.replace(text);
      return { version: sha256(text), mappings: mappingsOf(doc) };
    });
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
