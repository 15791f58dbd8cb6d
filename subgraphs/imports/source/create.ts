import { randomUUID } from 'node:crypto';
import { lstat, readlink, realpath } from 'node:fs/promises';
import path from 'node:path';
import type pg from 'pg';
import { inTransaction } from '../../common/db';
import { badInput, codedError } from '../../common/errors';
import type { Identity, IdentityGroup } from '../../common/identity';
import type { BiomeroConfigFile } from '../config/mappings';
import type { STAGES } from '../stages';
import { parseImageReference } from '../../common/image-reference';

/**
 * Creating an import order the way OMERO.biomero's `import_selected` does (reference/
 * biomero-models.md 2.1, 3.1): one `Import Pending` row in `imports`, plus one
 * `imports_preprocessing` row when a container is asked for. BIOMERO.importer picks it up by
 * polling. Every check runs before anything is written.
 */
export interface CreateImportOrderInput {
  /** OMERO group name */
  group: string;
  destination: { type: 'Dataset' | 'Screen'; id: string };
  /** absolute paths as the user sees them under the import mount */
  files: string[];
  preprocessing?: {
    container: string;
    // null as GraphQL allows: the default
    inputFile?: string | null;
    outputFolder?: string | null;
    altOutputFolder?: string | null;
    /** JSON as sent: checked to be an object of scalars */
    extraParams?: unknown;
  } | null;
}

export interface CreateImportOrderDeps {
  biomero: pg.Pool;
  omero: pg.Pool;
  config: BiomeroConfigFile;
}

export const MAX_IMPORT_FILES = 1000;

const PENDING = 'Import Pending' satisfies keyof typeof STAGES;

// Paths inside the preprocessing container (podman -v targets).
const CONTAINER_PATH = /^\/[A-Za-z0-9._/-]*$/;
// Keys become `--<key>` arguments of the container.
const PARAM_KEY = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

const TABLES = { Dataset: 'dataset', Screen: 'screen' } as const;

interface Preprocessing {
  container: string;
  inputFile: string;
  outputFolder: string;
  altOutputFolder: string;
  extraParams: string | null;
}

export async function createImportOrder(deps: CreateImportOrderDeps, caller: Identity, input: CreateImportOrderInput): Promise<string> {
  // OMERO.biomero imports as the user into this group, so admins must be members too.
  const group = caller.groups.find((g) => g.name === input.group);
  if (!group) throw codedError('FORBIDDEN', `You are not a member of group ${input.group}.`);
  const type = input.destination?.type;
  if (type !== 'Dataset' && type !== 'Screen') throw badInput('destination.type must be Dataset or Screen', 'destination.type');
  const files = checkFileList(input.files);
  const preprocessing = input.preprocessing ? checkPreprocessing(input.preprocessing) : null;

  const destinationId = String(input.destination.id);
  await checkDestination(deps.omero, caller, group, type, destinationId);
  const folder = await deps.config.folderOf(group.id);
  if (!folder) throw badInput(`no folder is mapped for group ${group.name}`, 'group');
  const realFiles = await resolveFiles(folder, group.name, files);

  const uuid = randomUUID();
  await inTransaction(deps.biomero, async (client) => {
    let preprocessingId: number | null = null;
    if (preprocessing) {
      const { rows } = await client.query<{ id: number }>(
        `INSERT INTO imports_preprocessing (container, input_file, output_folder, alt_output_folder, extra_params)
         VALUES ($1, $2, $3, $4, $5::json) RETURNING id`,
        [preprocessing.container, preprocessing.inputFile, preprocessing.outputFolder, preprocessing.altOutputFolder, preprocessing.extraParams],
      );
      preprocessingId = rows[0].id;
    }
    // import_options is not named: older importer databases lack the column.
    await client.query(
      `INSERT INTO imports (group_name, user_name, destination_id, destination_type, stage, uuid, "timestamp", files, file_names, preprocessing_id)
       VALUES ($1, $2, $3, $4, $5, $6, now(), $7, $8, $9)`,
      [
        group.name,
        caller.userName,
        destinationId,
        type,
        PENDING,
        uuid,
        JSON.stringify(realFiles),
        JSON.stringify(realFiles.map((f) => path.basename(f))),
        preprocessingId,
      ],
    );
  });
  return uuid;
}

function checkFileList(files: unknown): string[] {
  if (!Array.isArray(files) || files.length < 1 || files.length > MAX_IMPORT_FILES) {
    throw badInput(`An import order takes between 1 and ${MAX_IMPORT_FILES} files.`, 'files');
  }
  for (const file of files) {
    if (typeof file !== 'string' || file.includes('\0') || !path.isAbsolute(file)) {
      throw badInput(`Files must be absolute paths under the import mount: ${String(file)}`, 'files');
    }
  }
  return files as string[];
}

function checkPreprocessing(p: NonNullable<CreateImportOrderInput['preprocessing']>): Preprocessing {
  const container = typeof p.container === 'string' ? p.container.trim() : '';
  if (!parseImageReference(container)) {
    throw badInput('preprocessing.container must be an OCI image reference such as registry/name:tag', 'preprocessing.container');
  }
  const inputFile = p.inputFile ?? '{Files}';
  if (typeof inputFile !== 'string' || inputFile === '' || CONTROL.test(inputFile)) {
    throw badInput('preprocessing.inputFile must be a non-empty line of text', 'preprocessing.inputFile');
  }
  return {
    container,
    inputFile,
    outputFolder: containerPath(p.outputFolder ?? '/data', 'preprocessing.outputFolder'),
    altOutputFolder: containerPath(p.altOutputFolder ?? '/out', 'preprocessing.altOutputFolder'),
    extraParams: extraParams(p.extraParams),
  };
}

function containerPath(value: unknown, field: string): string {
  if (typeof value !== 'string' || !CONTAINER_PATH.test(value) || value.split('/').includes('..')) {
    throw badInput(`${field} must be an absolute path inside the container`, field);
  }
  return value;
}

function extraParams(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const field = 'preprocessing.extraParams';
  if (typeof value !== 'object' || Array.isArray(value)) throw badInput(`${field} must be an object`, field);
  for (const [key, v] of Object.entries(value)) {
    if (!PARAM_KEY.test(key)) throw badInput(`${field}: bad parameter name ${JSON.stringify(key)}`, field);
    const scalar = typeof v === 'number' ? Number.isFinite(v) : typeof v === 'boolean' || (typeof v === 'string' && !CONTROL.test(v));
    if (!scalar) throw badInput(`${field}.${key} must be a string, number or boolean`, field);
  }
  return JSON.stringify(value);
}

/**
 * The caller may link into a container they own, in a group they lead, as admin, or in a
 * read-write group (group write bit 32, reference/omero-api.md B.4). Missing and not writable give
 * the same message so that existence is not revealed.
 */
async function checkDestination(omero: pg.Pool, caller: Identity, group: IdentityGroup, type: keyof typeof TABLES, id: string): Promise<void> {
  const refused = badInput(`${type} ${id} is not a destination you can import into in group ${group.name}`, 'destination.id');
  if (!/^[1-9][0-9]{0,17}$/.test(id)) throw refused;
  const { rowCount } = await omero.query(
    `SELECT 1 FROM ${TABLES[type]} d JOIN experimentergroup g ON g.id = d.group_id
      WHERE d.id = $1 AND d.group_id = $2
        AND ($3::boolean OR d.owner_id = $4 OR (g.permissions & 32) <> 0
          OR EXISTS (SELECT 1 FROM groupexperimentermap m WHERE m.parent = d.group_id AND m.child = $4 AND m.owner))`,
    [id, group.id, caller.isAdmin, caller.userId],
  );
  if (!rowCount) throw refused;
}

/**
 * Every file must lie inside the group's folder, first as written (so that nothing is revealed
 * about paths elsewhere) and then after resolving '..' and symlinks. path.relative, not a string
 * prefix: /data/lab2 is not inside /data/lab. Containment is decided before existence, on where
 * the links point whether or not their target exists: a link to a missing file outside answers
 * exactly as one to an existing file outside, so nothing outside the folder can be probed.
 */
async function resolveFiles(folder: string, groupName: string, files: string[]): Promise<string[]> {
  const outside = (file: string) => codedError('FORBIDDEN', `${file} is not inside the folder mapped for group ${groupName}.`, { field: 'files' });
  let realFolder: string;
  try {
    realFolder = await realpath(folder);
  } catch {
    throw codedError('INTERNAL_SERVER_ERROR', `The folder mapped for group ${groupName} is not available.`);
  }
  const out: string[] = [];
  for (const file of files) {
    if (!inside(folder, path.resolve(file))) throw outside(file);
    if (!inside(realFolder, await followLinks(path.resolve(file)))) throw outside(file);
    let real: string;
    try {
      real = await realpath(file);
    } catch {
      throw badInput(`${file} does not exist or cannot be read`, 'files');
    }
    if (!inside(realFolder, real)) throw outside(file);
    out.push(real);
  }
  return out;
}

/** Symlinks followed per path, as the kernel's limit (ELOOP). */
const MAX_LINKS = 40;

/**
 * Where an absolute path leads: every existing symlink along it followed, like realpath, but the
 * part from the first missing (or unreadable) component on is appended as written, not an error.
 */
async function followLinks(file: string): Promise<string> {
  const pending = file.split('/').filter(Boolean);
  let resolved = '/';
  let links = 0;
  while (pending.length) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      resolved = path.dirname(resolved);
      continue;
    }
    const next = path.join(resolved, part);
    let target: string | null;
    try {
      target = (await lstat(next)).isSymbolicLink() ? await readlink(next) : null;
    } catch {
      return path.join(next, ...pending);
    }
    if (target === null) {
      resolved = next;
      continue;
    }
    if (++links > MAX_LINKS) return path.join(next, ...pending); // a loop: realpath refuses it below
    if (path.isAbsolute(target)) resolved = '/';
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return resolved;
}

function inside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}
