import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDescriptor, type Descriptor } from './descriptor';
import { parseIni } from './ini';

/**
 * The workflow catalogue as BIOMERO sees it (reference/biomero-models.md 1.8–1.9): workflow keys
 * from `slurm-config.ini` ([MODELS], then [WORKFLOWS] over it, key by key), each with its image
 * folder, repository + version tag, job script and extra sbatch flags, and its descriptor read
 * from a local folder (never fetched over the network). Files are read on every call: they are
 * small, and OMERO.biomero's admin page rewrites the ini while we run.
 */
export interface SbatchOption {
  flag: string;
  value: string;
}

export interface CatalogueWorkflow {
  name: string;
  /** `<k>`: the image folder under slurm_images_path */
  imageFolder: string | null;
  /** `<k>_repo` as written */
  repositoryUrl: string | null;
  repository: string | null;
  versionTag: string | null;
  /** when `<k>_repo` points at a descriptor file (HEAD), its path in the repository */
  descriptorPath: string | null;
  jobScript: string | null;
  sbatchOptions: SbatchOption[];
  useGpu: boolean | null;
  /** which section the workflow's `<k>_repo` came from */
  section: 'MODELS' | 'WORKFLOWS';
  descriptor: Descriptor | null;
  /** why the descriptor is missing or unreadable */
  descriptorError: string | null;
}

export interface CatalogueSettings {
  /** slurm-config.ini (WORKFLOWS_CONFIG_FILE) */
  configFile: string | null;
  /** folder of descriptors (WORKFLOW_DESCRIPTORS_DIR) */
  descriptorsDir: string | null;
}

export function catalogueSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): CatalogueSettings {
  return { configFile: env.WORKFLOWS_CONFIG_FILE || null, descriptorsDir: env.WORKFLOW_DESCRIPTORS_DIR || null };
}

/** `https://github.com/org/repo/tree/v1.4.0` → repository, tag; `…/blob/v1.0/descriptor.json` → also the path. */
export function parseRepositoryUrl(url: string): { repository: string; versionTag: string | null; descriptorPath: string | null } {
  const m = /^(https?:\/\/[^/]+\/[^/]+\/[^/]+?)(?:\.git)?(?:\/(?:tree|blob|raw)\/([^/]+)(?:\/(.+))?)?\/?$/.exec(url.trim());
  if (!m) return { repository: url.trim(), versionTag: null, descriptorPath: null };
  return { repository: m[1], versionTag: m[2] ?? null, descriptorPath: m[3] ?? null };
}

/** `<k>_job_<flag>` keys become ` --<flag>=<value>` on BIOMERO's sbatch line. */
function sbatchOptions(section: Map<string, string>, name: string): SbatchOption[] {
  const prefix = `${name}_job_`;
  return [...section.entries()]
    .filter(([k]) => k.startsWith(prefix) && k.length > prefix.length)
    .map(([k, value]) => ({ flag: k.slice(prefix.length), value }))
    .sort((a, b) => a.flag.localeCompare(b.flag));
}

export class WorkflowCatalogue {
  constructor(private readonly settings: CatalogueSettings) {}

  get configured(): boolean {
    return Boolean(this.settings.configFile);
  }

  async list(): Promise<CatalogueWorkflow[]> {
    if (!this.settings.configFile) return [];
    const ini = parseIni(await readFile(this.settings.configFile, 'utf8'));
    const models = ini.get('MODELS') ?? new Map<string, string>();
    const workflows = ini.get('WORKFLOWS') ?? new Map<string, string>();
    const merged = new Map([...models, ...workflows]);
    const names = new Set<string>();
    for (const key of merged.keys()) if (key.endsWith('_repo')) names.add(key.slice(0, -'_repo'.length));
    const result: CatalogueWorkflow[] = [];
    for (const name of [...names].sort()) {
      const repositoryUrl = merged.get(`${name}_repo`) ?? null;
      const repo = repositoryUrl ? parseRepositoryUrl(repositoryUrl) : null;
      const gpu = merged.get(`${name}_use_gpu`);
      const workflow: CatalogueWorkflow = {
        name,
        imageFolder: merged.get(name) ?? null,
        repositoryUrl,
        repository: repo?.repository ?? null,
        versionTag: repo?.versionTag ?? null,
        descriptorPath: repo?.descriptorPath ?? null,
        jobScript: merged.get(`${name}_job`) ?? null,
        sbatchOptions: sbatchOptions(merged, name),
        useGpu: gpu === undefined ? null : /^(true|yes|on|1)$/i.test(gpu),
        section: workflows.has(`${name}_repo`) ? 'WORKFLOWS' : 'MODELS',
        descriptor: null,
        descriptorError: null,
      };
      await this.attachDescriptor(workflow);
      result.push(workflow);
    }
    return result;
  }

  async get(name: string): Promise<CatalogueWorkflow | null> {
    return (await this.list()).find((w) => w.name === name.toLowerCase()) ?? null;
  }

  /** Where a descriptor may sit in the folder, most specific first. */
  candidates(workflow: CatalogueWorkflow): string[] {
    const dir = this.settings.descriptorsDir;
    if (!dir) return [];
    const paths: string[] = [];
    const m = workflow.repository ? /^https?:\/\/[^/]+\/([^/]+)\/([^/]+)$/.exec(workflow.repository) : null;
    if (m && workflow.versionTag) {
      // a cache laid out like the raw URL: <org>/<repo>/<tag>/descriptor.json
      paths.push(join(dir, m[1], m[2], workflow.versionTag, workflow.descriptorPath ?? 'descriptor.json'));
    }
    paths.push(join(dir, workflow.name, 'descriptor.json'), join(dir, `${workflow.name}.descriptor.json`), join(dir, `${workflow.name}.json`));
    return paths;
  }

  private async attachDescriptor(workflow: CatalogueWorkflow): Promise<void> {
    const paths = this.candidates(workflow);
    if (paths.length === 0) {
      workflow.descriptorError = 'no descriptor folder configured (WORKFLOW_DESCRIPTORS_DIR)';
      return;
    }
    for (const path of paths) {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        continue;
      }
      try {
        workflow.descriptor = parseDescriptor(text);
      } catch (err) {
        workflow.descriptorError = `${path.slice(this.settings.descriptorsDir!.length + 1)}: ${(err as Error).message}`;
      }
      return;
    }
    workflow.descriptorError = 'descriptor not found in the descriptor folder';
  }
}
