/**
 * runWorkflow: every check made before anything is sent — the inputs (count, ids, the caller's
 * right to read each), the parameters (size, the workflow's JSON Schema), the group — then one
 * launch through the configured launcher (OMERO.biomero on OMERO.web, or the demo runner), and
 * later the WorkflowRun the launch became (launched-run.ts). docs/workflows.md, "Launching a run".
 */
import { GraphQLError } from 'graphql';
import { intFromEnv } from '../../common/config';
import type { Pool } from '../../common/db';
import { badInput, codedError } from '../../common/errors';
import type { Caller, Identity } from '../../common/identity';
import { logger } from '../../common/logger';
import type { CatalogueWorkflow, WorkflowCatalogue } from '../catalogue/catalogue';
import type { WorkflowRun } from '../fold';
import { readableInputs, type InputType } from './inputs';
import { decodeLaunch, encodeLaunch, runMatches, runsInitiatedAfter, storePosition, type Launch } from './launched-run';
import type { LaunchOptions, LaunchRequest, LaunchWarning, WorkflowLauncher } from './launcher';
import { parameterErrors, parametersRefused } from './parameters';

export interface LaunchLimits {
  /** RUN_WORKFLOW_MAX_INPUTS: OMERO objects per run */
  maxInputs: number;
  /** RUN_WORKFLOW_MAX_PARAMETERS_BYTES: the parameters object as JSON */
  maxParameterBytes: number;
}

export function launchLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): LaunchLimits {
  return { maxInputs: intFromEnv(env, 'RUN_WORKFLOW_MAX_INPUTS', 500), maxParameterBytes: intFromEnv(env, 'RUN_WORKFLOW_MAX_PARAMETERS_BYTES', 65_536) };
}

/** The GraphQL input RunWorkflowOptions. */
export interface RunWorkflowOptionsArg {
  inputType?: 'IMAGE' | 'DATASET' | 'PLATE' | null;
  groupId?: string | null;
  receiveEmail?: boolean | null;
  attachToOriginalImages?: boolean | null;
  importAsZip?: boolean | null;
  uploadCsv?: boolean | null;
  useZarrFormat?: boolean | null;
  newDatasetName?: string | null;
  datasetId?: string | null;
  renamePattern?: string | null;
}

export interface RunWorkflowArgs {
  workflow: string;
  version?: string | null;
  inputs: string[];
  parameters?: unknown;
  options?: RunWorkflowOptionsArg | null;
}

/** What runWorkflow answers (the RunWorkflowResult type). */
export interface LaunchResult {
  jobId: string;
  message: string | null;
  warnings: LaunchWarning[];
  workflow: string;
  version: string | null;
  groupId: number;
  submittedAt: Date;
  launchId: string;
  /** the store position before the launch: `after` for workflowRunUpdated */
  position: number;
}

const INPUT_TYPES: Record<string, InputType> = { IMAGE: 'Image', DATASET: 'Dataset', PLATE: 'Plate' };

function objectId(value: string | null | undefined, field: string): number | null {
  if (value === null || value === undefined) return null;
  if (!/^\d{1,18}$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < 1)
    throw badInput(`${field} must be an OMERO id (a positive integer).`, field);
  return Number(value);
}

function launchUnavailable(why: string): GraphQLError {
  return codedError('WORKFLOW_LAUNCH_UNAVAILABLE', `Workflows cannot be launched here: ${why}`);
}

export class RunLauncher {
  constructor(
    private readonly deps: {
      /** BIOMERO's database (the event store) */
      pool: Pool;
      /** OMERO's database, for the input check; null: launching is unavailable */
      omero: Pool | null;
      catalogue: WorkflowCatalogue;
      /** null: no OMERO.web configured and no demo runner */
      launcher: WorkflowLauncher | null;
      limits: LaunchLimits;
    },
  ) {}

  private inputIds(values: readonly string[]): number[] {
    const { maxInputs } = this.deps.limits;
    if (values.length === 0) throw badInput('inputs must name at least one OMERO object.', 'inputs');
    if (values.length > maxInputs) throw badInput(`At most ${maxInputs} inputs per run (RUN_WORKFLOW_MAX_INPUTS).`, 'inputs');
    return [...new Set(values.map((v) => objectId(v, 'inputs')!))];
  }

  private parameters(value: unknown): Record<string, unknown> {
    if (value === null || value === undefined) return {};
    if (typeof value !== 'object' || Array.isArray(value)) throw badInput('parameters must be a JSON object of the workflow’s parameters.', 'parameters');
    const bytes = Buffer.byteLength(JSON.stringify(value), 'utf8');
    if (bytes > this.deps.limits.maxParameterBytes)
      throw badInput(`parameters is ${bytes} bytes of JSON; at most ${this.deps.limits.maxParameterBytes} (RUN_WORKFLOW_MAX_PARAMETERS_BYTES).`, 'parameters');
    return value as Record<string, unknown>;
  }

  private async workflow(name: string): Promise<CatalogueWorkflow> {
    let workflow: CatalogueWorkflow | null;
    try {
      workflow = await this.deps.catalogue.get(name);
    } catch (err) {
      logger.warn({ err }, 'workflow catalogue unreadable');
      throw codedError('CATALOGUE_UNAVAILABLE', 'The workflow catalogue (slurm-config.ini) could not be read; see the service log.');
    }
    if (!workflow) throw badInput(`No workflow "${name}" in the catalogue.`, 'workflow');
    if (!workflow.descriptor)
      throw badInput(
        `Workflow "${workflow.name}" has no readable descriptor (${workflow.descriptorError ?? 'unknown'}), so its parameters cannot be checked.`,
        'workflow',
      );
    return workflow;
  }

  private options(o: RunWorkflowOptionsArg): LaunchOptions {
    const newDatasetName = o.newDatasetName ?? null;
    const datasetId = objectId(o.datasetId, 'options.datasetId');
    if (newDatasetName !== null && (newDatasetName.trim() === '' || newDatasetName.length > 255))
      throw badInput('options.newDatasetName must be 1 to 255 characters.', 'options.newDatasetName');
    if (newDatasetName !== null && datasetId !== null) throw badInput('Give options.newDatasetName or options.datasetId, not both.', 'options.newDatasetName');
    const renamePattern = o.renamePattern ?? null;
    if (renamePattern !== null && (renamePattern === '' || renamePattern.length > 255))
      throw badInput('options.renamePattern must be 1 to 255 characters.', 'options.renamePattern');
    return {
      receiveEmail: o.receiveEmail ?? false,
      attachToOriginalImages: o.attachToOriginalImages ?? false,
      importAsZip: o.importAsZip ?? true,
      uploadCsv: o.uploadCsv ?? true,
      useZarrFormat: o.useZarrFormat ?? false,
      newDatasetName,
      datasetId,
      renamePattern,
    };
  }

  /** The group the script runs in: the one asked for (the caller's own), else the first input's. */
  private group(identity: Identity, asked: number | null, inputGroup: number): number {
    if (asked === null) return inputGroup;
    if (!identity.isAdmin && !identity.groups.some((g) => g.id === asked))
      throw codedError('FORBIDDEN', `You are not a member of group ${asked}.`, { field: 'options.groupId' });
    return asked;
  }

  async run(identity: Identity, args: RunWorkflowArgs): Promise<LaunchResult> {
    const launcher = this.deps.launcher;
    if (!launcher) throw launchUnavailable('no OMERO.web is configured (OMERO_WEB_URL).');
    const omero = this.deps.omero;
    if (!omero) throw launchUnavailable('the OMERO database is not configured (OMERO_DATABASE_URL), so inputs cannot be checked.');
    const o = args.options ?? {};
    const dataType = INPUT_TYPES[o.inputType ?? 'IMAGE'];
    const ids = this.inputIds(args.inputs);
    const parameters = this.parameters(args.parameters);
    const options = this.options(o);
    const askedGroup = objectId(o.groupId, 'options.groupId');
    const workflow = await this.workflow(args.workflow);
    const errors = parameterErrors(workflow, parameters);
    if (errors.length) throw parametersRefused(errors);
    const version = args.version ?? workflow.versionTag;
    if (version !== null && !/^[\w.+-]{1,64}$/.test(version)) throw badInput('version must be a version tag such as v1.4.0.', 'version');

    const readable = await readableInputs(omero, identity, dataType, ids);
    const missing = ids.find((id) => !readable.has(id));
    // the same answer for a missing object and one the caller may not read
    if (missing !== undefined) throw codedError('NOT_FOUND', `No ${dataType} with id ${missing}.`, { field: 'inputs' });
    const groupId = this.group(identity, askedGroup, readable.get(ids[0])!);
    // the results' destination: the same answer for a Dataset that is missing or hidden
    if (options.datasetId !== null && !(await readableInputs(omero, identity, 'Dataset', [options.datasetId])).has(options.datasetId)) {
      throw codedError('NOT_FOUND', `No Dataset with id ${options.datasetId}.`, { field: 'options.datasetId' });
    }

    const request: LaunchRequest = { workflow: workflow.name, version, dataType, ids, groupId, parameters, options };
    const position = await storePosition(this.deps.pool);
    const submittedAt = new Date();
    const answer = await launcher.launch(identity, request);
    logger.info({ workflow: workflow.name, inputs: ids.length, dataType, group: groupId, by: identity.userName, jobId: answer.jobId }, 'runWorkflow');
    return { ...answer, workflow: workflow.name, version, groupId, submittedAt, launchId: encodeLaunch(position, dataType, ids), position };
  }

  /** The run a launch became, once BIOMERO's tracker has written it; null until then. */
  async launchedRun(caller: Caller, launchId: string, load: (runId: string) => Promise<WorkflowRun | null>): Promise<WorkflowRun | null> {
    const launch: Launch = decodeLaunch(launchId);
    if (!caller) return null;
    for (const runId of await runsInitiatedAfter(this.deps.pool, launch, caller.userId)) {
      const run = await load(runId);
      if (run && runMatches(run, launch)) return run;
    }
    return null;
  }

  async close(): Promise<void> {
    await this.deps.launcher?.close();
  }
}
