/**
 * Starting a run: what is sent, and the one production path — OMERO.biomero's launch endpoint on
 * OMERO.web, as the caller (reference: analyzer_views.run_workflow_script). The view runs
 * SLURM_Run_Workflow.py through OMERO's script service; BIOMERO's tracker writes the run's events
 * once the script starts. The demo world's launcher (demo-runner.ts) has the same contract.
 */
import { GraphQLError } from 'graphql';
import { codedError } from '../../common/errors';
import type { Identity } from '../../common/identity';
import { logger } from '../../common/logger';
import { OmeroWebError, OmeroWebNotLoggedIn, type OmeroWebSessionCache } from '../../common/omero-web/client';
import type { InputType } from './inputs';

/** The Run tab's output options (its "Output Data" step). */
export interface LaunchOptions {
  receiveEmail: boolean;
  attachToOriginalImages: boolean;
  importAsZip: boolean;
  uploadCsv: boolean;
  useZarrFormat: boolean;
  /** import results into a new Dataset of this name */
  newDatasetName: string | null;
  /** import results into this existing Dataset */
  datasetId: number | null;
  /** rename results with this pattern */
  renamePattern: string | null;
}

/** One launch, validated: the inputs are readable by the caller, the parameters fit the schema. */
export interface LaunchRequest {
  workflow: string;
  version: string | null;
  dataType: InputType;
  ids: number[];
  /** the OMERO group the script runs in (OMERO.biomero's active_group_id) */
  groupId: number;
  parameters: Record<string, unknown>;
  options: LaunchOptions;
}

export interface LaunchWarning {
  code: string;
  message: string;
}

export interface LaunchAnswer {
  /** the OMERO script job (the view's `jobId`: a ProcessCallback proxy string) */
  jobId: string;
  message: string | null;
  warnings: LaunchWarning[];
}

export interface WorkflowLauncher {
  launch(caller: Identity, request: LaunchRequest): Promise<LaunchAnswer>;
  close(): Promise<void>;
}

/** The OMERO.biomero plugin's path on OMERO.web, as its urls.py mounts it. */
export function jobsPath(workflow: string): string {
  return `/omero_biomero/api/analyzer/workflows/${encodeURIComponent(workflow)}/jobs/`;
}

/**
 * The body the Run tab sends: `{"params": {...}}` with the view's own keys (IDs, Data_Type,
 * version, active_group_id, the output options) and every workflow parameter beside them, by
 * its descriptor name (the view passes those on as `<workflow>_|_<name>`).
 */
export function jobRequestBody(r: LaunchRequest): { params: Record<string, unknown> } {
  const o = r.options;
  const params: Record<string, unknown> = {
    IDs: r.ids,
    Data_Type: r.dataType,
    active_group_id: r.groupId,
    receiveEmail: o.receiveEmail,
    attachToOriginalImages: o.attachToOriginalImages,
    importAsZip: o.importAsZip,
    uploadCsv: o.uploadCsv,
    useZarrFormat: o.useZarrFormat,
  };
  if (r.version !== null) params.version = r.version;
  if (o.newDatasetName !== null) params.selectedDatasets = [o.newDatasetName];
  if (o.datasetId !== null) params.selectedDatasetId = o.datasetId;
  if (o.renamePattern !== null) {
    params.enableRename = true;
    params.renamePattern = o.renamePattern;
  }
  return { params: { ...params, ...r.parameters } };
}

interface JobsAnswer {
  status?: string;
  message?: string;
  jobId?: string;
  warnings?: LaunchWarning[];
}

/** POSTs the launch to OMERO.web with the caller's session; never retried once sent. */
export class OmeroWebLauncher implements WorkflowLauncher {
  constructor(private readonly sessions: OmeroWebSessionCache) {}

  async launch(caller: Identity, request: LaunchRequest): Promise<LaunchAnswer> {
    const key = caller.sessionKey;
    if (!key) throw codedError('UNAUTHENTICATED', 'Launching a workflow acts as the caller in OMERO.web and needs their OMERO session key.');
    let answer: JobsAnswer;
    try {
      // `with` repeats the call only after 403 "Not logged in": the view did not run then.
      answer = await this.sessions.with(key, (s) => s.request<JobsAnswer>('POST', jobsPath(request.workflow), { json: jobRequestBody(request) }));
    } catch (err) {
      throw launchError(err);
    }
    if (!answer || typeof answer.jobId !== 'string') {
      logger.warn({ answer }, 'runWorkflow: OMERO.biomero answered without a jobId');
      throw codedError('WORKFLOW_LAUNCH_FAILED', 'OMERO.biomero answered without a job id; the run may have started. Look for it before launching again.');
    }
    return { jobId: answer.jobId, message: answer.message ?? null, warnings: Array.isArray(answer.warnings) ? answer.warnings : [] };
  }

  async close(): Promise<void> {
    this.sessions.clear();
  }
}

function launchError(err: unknown): GraphQLError {
  if (err instanceof OmeroWebNotLoggedIn) return codedError('UNAUTHENTICATED', 'OMERO.web refused the session.');
  if (err instanceof OmeroWebError) {
    if (err.status === 400) return codedError('BAD_USER_INPUT', `OMERO.biomero refused the launch: ${err.message}`);
    if (err.status === 403) return codedError('FORBIDDEN', `OMERO.biomero refused the launch: ${err.message}`);
    const code = err.status === 404 ? 'WORKFLOW_LAUNCH_UNAVAILABLE' : 'WORKFLOW_LAUNCH_FAILED';
    logger.warn({ status: err.status, message: err.message }, 'runWorkflow: OMERO.biomero refused');
    return codedError(code, `OMERO.biomero did not start the workflow (HTTP ${err.status}): ${err.message}`);
  }
  logger.warn({ err }, 'runWorkflow: OMERO.web did not answer');
  return codedError(
    'WORKFLOW_LAUNCH_FAILED',
    'OMERO.web did not answer; the run may have started. Look for it (launchedWorkflowRun, workflowRuns) before launching again.',
  );
}
