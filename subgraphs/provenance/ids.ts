import { badInput } from '../common/errors';
import { parseFormSubmissionId, parseFormVersionId } from '../forms/ids';
import { MAX_JOB_ID } from '../workflows/slurm/commands';

/**
 * Global ids `Type:key` of lineage nodes, and their W3C PROV kinds (../shared/DESIGN.md §5):
 *   entities    Image:42, Plate:7, SourceFile:/data/lab/alice/img_001.tif
 *   activities  ImportOrder:<uuid>, WorkflowRun:<uuid>
 *   plans       Workflow:<workflow>@<version> (an entity of type prov:Plan: the workflow descriptor)
 *   agents      Experimenter:2, Software:<preprocessing container image>@<tag>
 */
export type NodeType = 'Image' | 'Plate' | 'SourceFile' | 'ImportOrder' | 'WorkflowRun' | 'Workflow' | 'Experimenter' | 'Software';
export type ProvKind = 'ENTITY' | 'ACTIVITY' | 'AGENT';

export interface NodeRef {
  type: NodeType;
  key: string;
}

export const PROV_KIND: Record<NodeType, ProvKind> = {
  Image: 'ENTITY',
  Plate: 'ENTITY',
  SourceFile: 'ENTITY',
  ImportOrder: 'ACTIVITY',
  WorkflowRun: 'ACTIVITY',
  Workflow: 'ENTITY',
  Experimenter: 'AGENT',
  Software: 'AGENT',
};

/** Types a walk may start from and continue through; agents and plans are leaves (see walk.ts). */
export const ROOT_TYPES: readonly NodeType[] = ['Image', 'Plate', 'SourceFile', 'ImportOrder', 'WorkflowRun'];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** OMERO ids are bigint; 18 digits stay below 2^63. */
const OMERO_ID = /^\d{1,18}$/;
/** import.files entries are absolute paths on the import mount (varchar in practice; bound generously). */
const MAX_PATH = 4096;
/** Form ids and workflow names: one namespace segment / one ini key. */
const MAX_NAME = 255;

export function parseGlobalId(value: string): NodeRef {
  const idx = value.indexOf(':');
  const type = value.slice(0, idx);
  const key = value.slice(idx + 1);
  if ((type === 'Image' || type === 'Plate') && OMERO_ID.test(key)) return { type, key: String(BigInt(key)) };
  if ((type === 'ImportOrder' || type === 'WorkflowRun') && UUID.test(key)) return { type, key: key.toLowerCase() };
  if (type === 'SourceFile' && key.startsWith('/') && key.length <= MAX_PATH && !key.includes('\0')) return { type, key };
  throw badInput('`of` must be a global id such as Image:42, Plate:7, SourceFile:/path, ImportOrder:<uuid> or WorkflowRun:<uuid>.', 'of');
}

/** Types `node(id:)` resolves whose key is an OMERO id. */
const OMERO_ID_TYPES = new Set(['Image', 'Plate', 'Project', 'Dataset', 'Screen', 'PlateAcquisition', 'Well', 'Roi', 'Experimenter', 'ExperimenterGroup']);

/**
 * A `node(id:)` argument: `<__typename>:<id>` of an entity (docs/clients.md, Node). The lineage's
 * forms with a normalised key (Image:007 → Image:7, upper-case uuids lowered).
 */
export function parseNodeId(value: string): { type: string; key: string } {
  const idx = value.indexOf(':');
  const type = value.slice(0, idx);
  const key = value.slice(idx + 1);
  if (OMERO_ID_TYPES.has(type) && OMERO_ID.test(key)) return { type, key: String(BigInt(key)) };
  if ((type === 'ImportOrder' || type === 'WorkflowRun' || type === 'Task') && UUID.test(key)) return { type, key: key.toLowerCase() };
  if (type === 'SourceFile' && key.startsWith('/') && key.length <= MAX_PATH && !key.includes('\0')) return { type, key };
  if (type === 'SlurmJob' && (key === '-1' || (/^\d{1,10}$/.test(key) && Number(key) >= 1 && Number(key) <= MAX_JOB_ID)))
    return { type, key: String(Number(key)) };
  // catalogue names are lower-case (Query.workflow(name) lowers them too)
  if (type === 'Workflow' && key.length > 0 && key.length <= MAX_NAME && !/[\0\s]/.test(key)) return { type, key: key.toLowerCase() };
  if (type === 'Form' && key.length > 0 && key.length <= MAX_NAME && !key.includes('\0')) return { type, key };
  if (type === 'FormVersion' && key.length <= MAX_PATH && !key.includes('\0') && parseFormVersionId(key)) return { type, key };
  if (type === 'FormSubmission' && key.length <= MAX_PATH && !key.includes('\0') && parseFormSubmissionId(key)) return { type, key };
  throw badInput('id must be a global id `<__typename>:<id>` such as Image:42, Dataset:3, ImportOrder:<uuid> or SourceFile:/path.', 'id');
}

export function globalId(ref: NodeRef): string {
  return `${ref.type}:${ref.key}`;
}

export function refOf(id: string): NodeRef {
  const idx = id.indexOf(':');
  return { type: id.slice(0, idx) as NodeType, key: id.slice(idx + 1) };
}
