/**
 * Workflow descriptors (reference/biomero-models.md 1.9): BIAFLOWS `cytomine-0.1` and
 * `biomero-0.1` `descriptor.json`, normalised to the parameter records BIOMERO itself derives
 * (name, type, default, optional, command-line flag, description) plus a JSON Schema
 * (draft 2020-12) that a frontend can render as a form.
 */
export type ParameterType = 'string' | 'integer' | 'float' | 'boolean' | 'image' | 'file' | 'list';

export interface WorkflowParameter {
  name: string;
  title: string;
  type: ParameterType;
  /** the type as the descriptor wrote it, e.g. `Number` */
  typeRaw: string;
  default: unknown;
  choices: unknown[] | null;
  optional: boolean;
  description: string | null;
  commandLineFlag: string | null;
  format: string | null;
}

export interface Descriptor {
  format: 'cytomine-0.1' | 'biomero-0.1' | string;
  name: string | null;
  description: string | null;
  containerImage: string | null;
  containerType: string | null;
  commandLine: string | null;
  parameters: WorkflowParameter[];
  /** JSON Schema (draft 2020-12) of the parameters */
  schema: Record<string, unknown>;
}

export class DescriptorError extends Error {}

const JSON_SCHEMA_DRAFT = 'https://json-schema.org/draft/2020-12/schema';

/** Parses descriptor text; numbers written with a decimal point stay floats (Python's json keeps 0.0 a float). */
export function parseDescriptor(text: string): Descriptor {
  const floatDefaults = new WeakSet<object>();
  let raw: unknown;
  try {
    raw = JSON.parse(text, function reviver(this: object, key: string, value: unknown, context?: { source?: string }) {
      if ((key === 'default-value' || key === 'default') && typeof value === 'number' && /[.eE]/.test(context?.source ?? '')) floatDefaults.add(this);
      return value;
    });
  } catch (err) {
    throw new DescriptorError(`descriptor is not valid JSON: ${(err as Error).message}`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new DescriptorError('descriptor must be a JSON object');
  const d = raw as Record<string, unknown>;
  const format = String(d['schema-version'] ?? '');
  if (!format.startsWith('cytomine') && !format.startsWith('biomero')) {
    throw new DescriptorError(`unsupported descriptor schema-version "${format}" (expected cytomine-0.1 or biomero-0.1)`);
  }
  const inputs = Array.isArray(d.inputs) ? (d.inputs as Record<string, unknown>[]) : [];
  const parameters = inputs
    .filter((i) => i && typeof i === 'object' && typeof i.id === 'string')
    // BIOMERO hides what the server sets and the Cytomine plumbing parameters.
    .filter((i) => !(i.id as string).startsWith('cytomine') && i['set-by-server'] !== true)
    .map((i) => parameter(i, floatDefaults.has(i)));
  const container = (d['container-image'] ?? {}) as Record<string, unknown>;
  return {
    format,
    name: str(d.name),
    description: str(d.description),
    containerImage: str(container.image),
    containerType: str(container.type),
    commandLine: str(d['command-line']),
    parameters,
    schema: jsonSchema(str(d.name), str(d.description), parameters),
  };
}

function str(v: unknown): string | null {
  return v == null ? null : String(v);
}

function parameter(input: Record<string, unknown>, floatDefault: boolean): WorkflowParameter {
  const typeRaw = String(input.type ?? 'String');
  const hasDefault = 'default-value' in input || 'default' in input;
  const def = 'default-value' in input ? input['default-value'] : input.default;
  const type = normaliseType(typeRaw, def, floatDefault);
  const choices = input['value-choices'] ?? input.choices ?? input.enum;
  return {
    name: input.id as string,
    title: str(input.name) ?? (input.id as string),
    type,
    typeRaw,
    default: hasDefault ? coerce(type, def) : null,
    choices: Array.isArray(choices) ? choices.map((c) => coerce(type, c)) : null,
    optional: input.optional === true,
    description: str(input.description),
    commandLineFlag: str(input['command-line-flag'])?.replace('@id', input.id as string) ?? null,
    format: str(input.format),
  };
}

/** BIOMERO's rule: `Number` is a float when its default is one, else an integer. */
function normaliseType(raw: string, def: unknown, floatDefault: boolean): ParameterType {
  switch (raw.toLowerCase()) {
    case 'number':
      return floatDefault || (typeof def === 'number' && !Number.isInteger(def)) || (typeof def === 'string' && /[.eE]/.test(def)) ? 'float' : 'integer';
    case 'integer':
    case 'int':
      return 'integer';
    case 'float':
    case 'double':
      return 'float';
    case 'boolean':
    case 'bool':
      return 'boolean';
    case 'image':
      return 'image';
    case 'file':
      return 'file';
    case 'list':
    case 'array':
    case 'listdomain':
      return 'list';
    default:
      return 'string';
  }
}

/** Defaults written as strings ("0.4", "true") become the parameter's type, as BIOMERO casts them. */
function coerce(type: ParameterType, value: unknown): unknown {
  if (value == null || value === '') return value ?? null;
  if ((type === 'integer' || type === 'float') && typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value))) return Number(value);
  if (type === 'boolean' && typeof value === 'string') return /^(true|1|yes)$/i.test(value);
  return value;
}

function schemaType(p: WorkflowParameter): Record<string, unknown> {
  switch (p.type) {
    case 'integer':
      return { type: 'integer' };
    case 'float':
      return { type: 'number' };
    case 'boolean':
      return { type: 'boolean' };
    case 'list':
      return { type: 'array' };
    default:
      return { type: 'string' };
  }
}

export function jsonSchema(title: string | null, description: string | null, parameters: WorkflowParameter[]): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const p of parameters) {
    const prop: Record<string, unknown> = { ...schemaType(p), title: p.title };
    if (p.description) prop.description = p.description;
    if (p.default !== null && p.default !== undefined) prop.default = p.default;
    if (p.choices) prop.enum = p.choices;
    properties[p.name] = prop;
  }
  return {
    $schema: JSON_SCHEMA_DRAFT,
    type: 'object',
    ...(title ? { title } : {}),
    ...(description ? { description } : {}),
    properties,
    // A parameter with a default can be left out: BIOMERO fills it in.
    required: parameters.filter((p) => !p.optional && (p.default === null || p.default === undefined)).map((p) => p.name),
    additionalProperties: false,
  };
}
