import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SharedConfigFile, sha256, type ConfigFileOptions, type VersionedBytes } from '../../common/config-file';
import { intFromEnv } from '../../common/config';
import { badInput, codedError } from '../../common/errors';
import type { Identity } from '../../common/identity';
import { IniDocument } from './ini-edit';
import { IniError } from './ini';

/**
 * Editing the workflow catalogue in slurm-config.ini (docs/workflows.md, Catalogue
 * administration): the keys and the `[changelog]` line OMERO.biomero's admin tab writes
 * (reference omero-api.md D.2), but atomic (temp file + rename), with a version compare-and-set
 * and a lock file between our processes (subgraphs/common/config-file.ts), and a bounded history
 * of the versions replaced (`<file>.history/`).
 *
 * A workflow `<k>` owns the keys `<k>` (image folder), `<k>_repo` (repository tree URL at the
 * version tag), `<k>_job` (job script), `<k>_job_<flag>` (extra sbatch flags) and `<k>_use_gpu`.
 * They are written to [WORKFLOWS] (or to [MODELS] when a legacy file has only that section);
 * keys of the workflow in the other section are removed, since BIOMERO merges both.
 */
export interface JobParameter {
  /** the sbatch flag without dashes, e.g. `mem`, `cpus-per-task` */
  name: string;
  value: string;
}

export interface WorkflowDefinition {
  name: string;
  /** e.g. https://github.com/TorecLuik/W_NucleiSegmentation-Cellpose */
  repository: string;
  /** the tag, e.g. v1.4.0 */
  version: string;
  /** relative to slurm_script_path; default `jobs/<name>.sh` */
  jobScript?: string | null;
  /** under slurm_images_path; default `<name>` */
  imageFolder?: string | null;
  /** null: no `<k>_use_gpu` key */
  useGpu?: boolean | null;
  jobParameters?: JobParameter[] | null;
}

export interface Editor {
  userName: string;
  userId: number;
}

export interface HistoryEntry {
  /** the version (sha256 of the content) that was replaced */
  version: string;
  replacedAt: Date;
  content: string;
}

export interface CatalogueAdminSettings {
  /** OMERO group (name or id) whose members may edit, besides OMERO administrators (WORKFLOW_ADMIN_GROUP) */
  adminGroup: string | null;
  /** earlier versions kept (WORKFLOW_CATALOGUE_HISTORY) */
  historyLimit: number;
  /** how often open workflowCatalogueUpdated streams look at the file (WORKFLOW_CATALOGUE_POLL_MS) */
  pollIntervalMs: number;
  lock?: ConfigFileOptions;
}

export const DEFAULT_HISTORY_LIMIT = 50;
export const DEFAULT_POLL_INTERVAL_MS = 2_000;

export function catalogueAdminSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): CatalogueAdminSettings {
  return {
    adminGroup: env.WORKFLOW_ADMIN_GROUP?.trim() || null,
    historyLimit: intFromEnv(env, 'WORKFLOW_CATALOGUE_HISTORY', DEFAULT_HISTORY_LIMIT),
    pollIntervalMs: intFromEnv(env, 'WORKFLOW_CATALOGUE_POLL_MS', DEFAULT_POLL_INTERVAL_MS),
  };
}

/** OMERO administrators, and members of the configured group (by name or id). */
export function mayEditCatalogue(identity: Identity, adminGroup: string | null): boolean {
  if (identity.isAdmin) return true;
  return adminGroup !== null && identity.groups.some((g) => g.name === adminGroup || String(g.id) === adminGroup);
}

const NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const FLAG = /^[a-z0-9][a-z0-9_-]{0,63}$/;
const MAX_VALUE = 1_000;

/** A value as one ini line: no line breaks (configparser would read a continuation), no `%` (its interpolation). */
function value(text: unknown, field: string, optional = false): string {
  if (typeof text !== 'string') throw badInput(`${field} must be a string.`, field);
  const v = text.trim();
  if (v === '' && !optional) throw badInput(`${field} must not be empty.`, field);
  if (v.length > MAX_VALUE) throw badInput(`${field} must be at most ${MAX_VALUE} characters.`, field);
  if (/[\r\n\0]/.test(v)) throw badInput(`${field} must be one line.`, field);
  if (v.includes('%')) throw badInput(`${field} must not contain %: BIOMERO reads slurm-config.ini with configparser interpolation.`, field);
  return v;
}

export function workflowName(name: unknown): string {
  const n = typeof name === 'string' ? name.trim().toLowerCase() : '';
  if (!NAME.test(n)) throw badInput('name must be 1-64 lower-case letters, digits, _ . or -, starting with a letter or digit.', 'name');
  return n;
}

/** The keys and values a definition writes, in the order OMERO.biomero's form lists them. */
export function workflowKeys(def: WorkflowDefinition): [string, string][] {
  const name = workflowName(def.name);
  const repository = value(def.repository, 'repository')
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
  if (!/^https?:\/\/[^/\s]+\/[^/\s]+\/[^/\s]+$/.test(repository))
    throw badInput('repository must be a repository URL such as https://github.com/<org>/<repo>.', 'repository');
  const version = value(def.version, 'version');
  if (/[\s/]/.test(version)) throw badInput('version must be a tag without spaces or slashes, e.g. v1.4.0.', 'version');
  const keys: [string, string][] = [
    [name, def.imageFolder == null ? name : value(def.imageFolder, 'imageFolder')],
    [`${name}_repo`, `${repository}/tree/${version}`],
    [`${name}_job`, def.jobScript == null ? `jobs/${name}.sh` : value(def.jobScript, 'jobScript')],
  ];
  const seen = new Set<string>();
  for (const p of def.jobParameters ?? []) {
    const flag = typeof p?.name === 'string' ? p.name.trim().toLowerCase().replace(/^--/, '') : '';
    if (!FLAG.test(flag)) throw badInput(`job parameter name ${JSON.stringify(p?.name)} must be an sbatch flag such as mem or cpus-per-task.`, 'jobParameters');
    if (seen.has(flag)) throw badInput(`job parameter ${flag} is given twice.`, 'jobParameters');
    seen.add(flag);
    keys.push([`${name}_job_${flag}`, value(p.value, 'jobParameters')]);
  }
  if (def.useGpu != null) keys.push([`${name}_use_gpu`, def.useGpu ? 'True' : 'False']);
  return keys;
}

const WORKFLOW_SECTIONS = ['WORKFLOWS', 'MODELS'] as const;

/**
 * The workflow a key belongs to: the longest workflow name (a `<k>_repo` key, or `extra`) of
 * which it is `<k>`, `<k>_repo`, `<k>_job`, `<k>_job_<flag>` or `<k>_use_gpu`; so that editing
 * `cell` never touches the keys of a workflow `cell_job_x`.
 */
function ownerOf(key: string, names: string[]): string | null {
  let owner: string | null = null;
  for (const n of names) {
    const owns = key === n || key === `${n}_repo` || key === `${n}_job` || key === `${n}_use_gpu` || (key.startsWith(`${n}_job_`) && key.length > n.length + 5);
    if (owns && (owner === null || n.length > owner.length)) owner = n;
  }
  return owner;
}

function workflowNames(doc: IniDocument, extra: string): string[] {
  const names = new Set([extra]);
  for (const s of WORKFLOW_SECTIONS) for (const k of doc.keys(s)) if (k.endsWith('_repo')) names.add(k.slice(0, -'_repo'.length));
  return [...names];
}

/** `Config automatically updated by <user> (<id>) via the web UI on <local time>`, OMERO.biomero's wording. */
export function changelogLine(by: Editor, at: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getFullYear()}-${p(at.getMonth() + 1)}-${p(at.getDate())} ${p(at.getHours())}:${p(at.getMinutes())}:${p(at.getSeconds())}`;
  return `Config automatically updated by ${by.userName} (${by.userId}) via the web UI on ${stamp}`;
}

export class CatalogueAdmin {
  private readonly file: SharedConfigFile;
  readonly historyDir: string;

  constructor(
    configFile: string,
    readonly settings: CatalogueAdminSettings,
  ) {
    this.file = new SharedConfigFile(
      configFile,
      {
        stale: 'The workflow catalogue (slurm-config.ini) changed since you read its version; read it again and retry.',
        busy: 'The workflow catalogue (slurm-config.ini) is being changed by another process; retry shortly.',
      },
      settings.lock,
    );
    this.historyDir = `${configFile}.history`;
  }

  /** sha256 of slurm-config.ini as it is now: pass it as expectedVersion. */
  async version(): Promise<string> {
    return (await this.file.read()).version;
  }

  /** Adds or replaces a workflow; its keys not in `def` are removed (as OMERO.biomero's form does). */
  async setWorkflow(def: WorkflowDefinition, expectedVersion: string, by: Editor): Promise<string> {
    const keys = workflowKeys(def);
    const name = keys[0][0];
    return this.edit(expectedVersion, by, (doc) => {
      const target = doc.has('WORKFLOWS') || !doc.has('MODELS') ? 'WORKFLOWS' : 'MODELS';
      const names = workflowNames(doc, name);
      const wanted = new Map(keys);
      for (const section of WORKFLOW_SECTIONS) {
        for (const key of doc.keys(section)) {
          if (ownerOf(key, names) === name && (section !== target || !wanted.has(key))) doc.delete(section, key);
        }
      }
      for (const [key, v] of keys) {
        const mine = doc.keys(target).filter((k) => ownerOf(k, names) === name);
        doc.set(target, key, v, mine);
      }
    });
  }

  /** Removes every key of the workflow from [WORKFLOWS] and [MODELS]; NOT_FOUND when it has none. */
  async removeWorkflow(nameArg: string, expectedVersion: string, by: Editor): Promise<string> {
    const name = workflowName(nameArg);
    return this.edit(expectedVersion, by, (doc) => {
      const names = workflowNames(doc, name);
      let removed = false;
      for (const section of WORKFLOW_SECTIONS) {
        for (const key of doc.keys(section)) if (ownerOf(key, names) === name) removed = doc.delete(section, key) || removed;
      }
      if (!removed) throw codedError('NOT_FOUND', `No workflow ${name} in the catalogue.`);
    });
  }

  /** The versions replaced by our edits, newest first. */
  async history(): Promise<HistoryEntry[]> {
    const names = await this.historyFiles();
    const entries = await Promise.all(
      names.reverse().map(async (file) => {
        const content = await fs.readFile(path.join(this.historyDir, file));
        return { version: sha256(content), replacedAt: replacedAtOf(file), content: content.toString('utf8') };
      }),
    );
    return entries;
  }

  private async edit(expectedVersion: string, by: Editor, change: (doc: IniDocument) => void): Promise<string> {
    if (typeof expectedVersion !== 'string' || expectedVersion === '')
      throw badInput('expectedVersion must be the version read from workflowCatalogue.', 'expectedVersion');
    return this.file.update(async (current) => {
      let doc: IniDocument;
      try {
        doc = new IniDocument(current.bytes.toString('utf8'));
      } catch (error) {
        if (!(error instanceof IniError)) throw error;
        throw codedError('INTERNAL_SERVER_ERROR', `slurm-config.ini is not valid (${error.message}); it was left unchanged.`);
      }
      this.file.assertVersion(current, expectedVersion);
      change(doc);
      const now = new Date();
      doc.stamp('changelog', changelogLine(by, now));
      const text = doc.toString();
      await this.keep(current, now);
      await this.file.replace(text);
      return sha256(text);
    });
  }

  /** Saves the content about to be replaced, then drops the oldest beyond the limit. */
  private async keep(current: VersionedBytes, now: Date): Promise<void> {
    if (current.bytes.length === 0 || this.settings.historyLimit <= 0) return;
    await fs.mkdir(this.historyDir, { recursive: true });
    const name = `${now.toISOString().replace(/[-:]/g, '')}-${current.version.slice(0, 12)}.ini`;
    try {
      await fs.writeFile(path.join(this.historyDir, name), current.bytes, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const files = await this.historyFiles();
    for (const old of files.slice(0, Math.max(0, files.length - this.settings.historyLimit))) await fs.rm(path.join(this.historyDir, old), { force: true });
  }

  /** History file names, oldest first (they start with a sortable UTC timestamp). */
  private async historyFiles(): Promise<string[]> {
    try {
      return (await fs.readdir(this.historyDir)).filter((f) => HISTORY_FILE.test(f)).sort();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }
}

const HISTORY_FILE = /^(\d{8}T\d{6}\.\d{3}Z)-[0-9a-f]{12}\.ini$/;

function replacedAtOf(file: string): Date {
  const t = HISTORY_FILE.exec(file)![1];
  return new Date(`${t.slice(0, 4)}-${t.slice(4, 6)}-${t.slice(6, 11)}:${t.slice(11, 13)}:${t.slice(13)}`);
}
