/**
 * A run's `parameters` checked against the workflow's JSON Schema (catalogue/descriptor.ts)
 * before anything is sent: every failing field is reported at once, as the Run tab's form shows
 * them, in one BAD_USER_INPUT error whose `extensions.fields` lists them.
 */
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject } from 'ajv';
import { GraphQLError } from 'graphql';
import type { CatalogueWorkflow } from '../catalogue/catalogue';
import { codedError } from '../../common/errors';

/** One refused field: `parameters.<name>` (or `parameters` for the object itself). */
export interface ParameterError {
  field: string;
  message: string;
}

/**
 * Keys OMERO.biomero's launch view reads for itself (its options, IDs, Data_Type, version, …):
 * a workflow parameter with one of these names would never reach the workflow.
 */
export const RESERVED_PARAMETER_NAMES: ReadonlySet<string> = new Set([
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
  'active_group_id',
]);

function fieldOf(e: ErrorObject): string {
  const params = e.params as { missingProperty?: string; additionalProperty?: string };
  const name = params.missingProperty ?? params.additionalProperty ?? e.instancePath.split('/')[1];
  return name === undefined ? 'parameters' : `parameters.${name}`;
}

function messageOf(e: ErrorObject): string {
  if (e.keyword === 'required') return 'is required';
  if (e.keyword === 'additionalProperties') return 'is not a parameter of this workflow';
  if (e.keyword === 'enum') return `must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
  return e.message ?? e.keyword;
}

/** The refused fields of `parameters` (empty when they fit the workflow's schema). */
export function parameterErrors(workflow: CatalogueWorkflow, parameters: unknown): ParameterError[] {
  const schema = workflow.descriptor?.schema;
  if (!schema) return [];
  // strict: false — the schema carries titles and descriptions for the form renderer
  const validate = new Ajv2020({ allErrors: true, strict: false }).compile(structuredClone(schema));
  const errors: ParameterError[] = [];
  if (!validate(parameters)) {
    for (const e of validate.errors ?? []) {
      const field = fieldOf(e);
      if (!errors.some((x) => x.field === field)) errors.push({ field, message: messageOf(e) });
    }
  }
  if (parameters && typeof parameters === 'object' && !Array.isArray(parameters)) {
    for (const key of Object.keys(parameters)) {
      if (RESERVED_PARAMETER_NAMES.has(key) && !errors.some((x) => x.field === `parameters.${key}`)) {
        errors.push({ field: `parameters.${key}`, message: 'is a name OMERO.biomero reads for itself, not a workflow parameter' });
      }
    }
  }
  return errors;
}

/** BAD_USER_INPUT naming every refused field; `extensions.field` is the first. */
export function parametersRefused(errors: ParameterError[]): GraphQLError {
  const text = errors.map((e) => `${e.field} ${e.message}`).join('; ');
  return codedError('BAD_USER_INPUT', `Invalid parameters: ${text}.`, { field: errors[0].field, fields: errors });
}
