/**
 * OMERO.biomero's launch endpoint in the local OMERO.web: `POST
 * /omero_biomero/api/analyzer/workflows/<name>/jobs/` (analyzer_views.run_workflow_script, read
 * 2026-12), parsed and answered as that view does, in this file's own words:
 *
 *  - the body is read as JSON whatever its content type; not JSON → 400 {"error": "Invalid JSON data"};
 *    a body that is not an object, or `params` that is not one, fails the view → 500 {"error": …};
 *  - the workflow name comes from the URL (older clients: `workflow_name` in the body);
 *  - `params.active_group_id` is removed from the params; a group the user cannot use → 403;
 *  - `batchEnabled` picks SLURM_Run_Workflow_Batched.py, else SLURM_Run_Workflow.py; a script
 *    that is not installed → 404 {"error": "Script <name> not found on server"};
 *  - every key that is not one of the view's own options becomes the script input
 *    `<workflow>_|_<key>`; the script also gets `<workflow>: true`, `<workflow>_Version`, `IDs`,
 *    `Data_Type`. OMERO's script service refuses inputs that do not fit the script's parameters
 *    (IDs not a list of integers, a Data_Type outside Dataset/Image/Plate/Screen, a workflow the
 *    script does not offer) → 500 {"error": "Failed to execute script …"};
 *  - success → {"status": "success", "message", "jobId": "<ProcessCallback proxy string>",
 *    "warnings": [], "effectiveOptions": {...}}.
 *
 * Every accepted launch is kept (`WorkflowJob`) so tests can check what reached the "script".
 */
import { randomUUID } from 'node:crypto';

export interface WorkflowJob {
  /** the workflow name from the URL (or the body's workflow_name) */
  workflow: string;
  script: string;
  userId: number;
  /** the session's group when the script started */
  groupId: number;
  /** the body exactly as received, parsed */
  body: unknown;
  /** the script inputs this view derives (the ones named in the header comment) */
  inputs: Record<string, unknown>;
  jobId: string;
}

export interface BiomeroScripts {
  /** SLURM_Run_Workflow.py (and its batched twin) installed on the OMERO server; default true */
  installed?: boolean;
  /** the workflows the script offers (its `<workflow>` Bool inputs); default cellpose, stardist */
  workflows?: readonly string[];
}

export interface BiomeroViewer {
  userId: number;
  admin: boolean;
  groups: Map<number, boolean>;
  activeGroup: number;
}

export class BiomeroAnswer {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {}
}

const RUN_SCRIPT = 'SLURM_Run_Workflow.py';
const RUN_BATCHED_SCRIPT = 'SLURM_Run_Workflow_Batched.py';
const DATA_TYPES = ['Dataset', 'Image', 'Plate', 'Screen'];

/** The view's own keys: never passed to the script as workflow parameters. */
const OWN_KEYS = new Set([
  'Data_Type',
  'IDs',
  'receiveEmail',
  'importAsZip',
  'uploadCsv',
  'attachToOriginalImages',
  'selectedDatasets',
  'selectedScreens',
  'selectedDatasetId',
  'selectedScreenId',
  'importPlateLabelPreview',
  'plateLabelPreviewName',
  'renamePattern',
  'enableRename',
  'workflow_name',
  'cytomine_host',
  'cytomine_id_project',
  'cytomine_id_software',
  'cytomine_private_key',
  'cytomine_public_key',
  'version',
  'useZarrFormat',
  'omeZarrVersion',
  'batchEnabled',
  'batchCount',
  'batchSize',
  'attachFileOutputs',
  'fileOutputTarget',
  'createRois',
  'deleteLabelImagesAfterRois',
  'clearExistingRois',
  'clearRoiFilter',
  'roiLabelPattern',
  'roiShape',
  'roiColor',
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Answers one POST to the jobs URL for a logged-in viewer (the caller has checked the method,
 * CSRF and the session, as Django's middleware and login_required do).
 */
export function runWorkflowScript(name: string | undefined, text: string, viewer: BiomeroViewer, scripts: BiomeroScripts, jobs: WorkflowJob[]): BiomeroAnswer {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return new BiomeroAnswer(400, { error: 'Invalid JSON data' });
  }
  if (!isObject(data))
    return new BiomeroAnswer(500, { error: `Error processing request: '${Array.isArray(data) ? 'list' : typeof data}' object has no attribute 'get'` });
  const workflow = name ?? (typeof data.workflow_name === 'string' ? data.workflow_name : '');
  if (!workflow) return new BiomeroAnswer(400, { error: 'workflow_name is required' });
  const params = data.params === undefined ? {} : data.params;
  if (!isObject(params)) return new BiomeroAnswer(500, { error: `Failed to execute workflow for ${workflow}: params is not a dict` });
  const rest = { ...params };
  const activeGroup = rest.active_group_id;
  delete rest.active_group_id;
  let groupId = viewer.activeGroup;
  if (activeGroup !== undefined && activeGroup !== null) {
    const wanted = Number(activeGroup);
    if (!Number.isSafeInteger(wanted) || !(viewer.admin || viewer.groups.has(wanted))) {
      return new BiomeroAnswer(403, { error: `Cannot access group ${String(activeGroup)}. Check group permissions.` });
    }
    groupId = wanted; // conn.setGroupForSession: the OMERO session stays in that group
    viewer.activeGroup = wanted;
  }
  const script = rest.batchEnabled ? RUN_BATCHED_SCRIPT : RUN_SCRIPT;
  if (scripts.installed === false) return new BiomeroAnswer(404, { error: `Script ${script} not found on server` });

  const ids = rest.IDs ?? [];
  const dataType = rest.Data_Type ?? 'Image';
  const offered = scripts.workflows ?? ['cellpose', 'stardist'];
  const refuse = (why: string) => new BiomeroAnswer(500, { error: `Failed to execute script ${script} for ${workflow}: ${why}` });
  if (!Array.isArray(ids) || !ids.every((i) => Number.isSafeInteger(i))) return refuse('IDs must be a list of integers (rlong)');
  if (typeof dataType !== 'string' || !DATA_TYPES.includes(dataType))
    return refuse(`Data_Type ${JSON.stringify(dataType)} is not one of ${DATA_TYPES.join(', ')}`);
  if (!offered.includes(workflow)) return refuse(`the script has no workflow ${workflow}`);
  if (rest.version !== undefined && rest.version !== null && typeof rest.version !== 'string') return refuse('version must be a string');

  const inputs: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) if (!OWN_KEYS.has(key)) inputs[`${workflow}_|_${key}`] = value;
  inputs[workflow] = true;
  if (rest.version !== undefined && rest.version !== null) inputs[`${workflow}_Version`] = rest.version;
  inputs.IDs = ids;
  inputs.Data_Type = dataType;
  const jobId = `ProcessCallback/${randomUUID()} -t -e 1.1:tcp -h 127.0.0.1 -p 4064 -t 60000`;
  jobs.push({ workflow, script, userId: viewer.userId, groupId, body: data, inputs, jobId });
  const message = `Started script 101 at ${new Date().toISOString()} with OMERO Job ID ${jobs.length}`;
  return new BiomeroAnswer(200, {
    status: 'success',
    message: `Script ${script} for ${workflow} started successfully: ${message}`,
    jobId,
    warnings: [],
    effectiveOptions: {
      createRois: false,
      deleteLabelImagesAfterRois: false,
      clearExistingRois: false,
      clearRoiFilter: '',
      importPlateLabelPreview: false,
      plateLabelPreviewName: '',
    },
  });
}
