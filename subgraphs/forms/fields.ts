/**
 * The fields of a form version, read from its JSON Schema for clients that render or validate:
 * object properties recursively (dotted paths), with their JSON-Schema types. `$ref`s are not
 * followed (OMERO.forms' designer does not write them).
 */
export interface FormField {
  path: string;
  title: string | null;
  description: string | null;
  types: string[];
  required: boolean;
  enum: unknown[] | null;
  format: string | null;
  /** for arrays: the types of their items */
  itemTypes: string[];
  default: unknown;
}

/** Nesting depth read (docs/limits.md). */
export const MAX_FIELD_DEPTH = 10;

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function types(schema: Record<string, unknown>): string[] {
  const t = schema.type;
  if (typeof t === 'string') return [t];
  if (Array.isArray(t)) return t.filter((x): x is string => typeof x === 'string');
  return [];
}

export function schemaFields(schema: unknown, prefix = '', depth = 0): FormField[] {
  if (!isObject(schema) || !isObject(schema.properties) || depth >= MAX_FIELD_DEPTH) return [];
  const required = Array.isArray(schema.required) ? schema.required : [];
  return Object.entries(schema.properties).flatMap(([name, prop]) => {
    if (!isObject(prop)) return [];
    const path = prefix ? `${prefix}.${name}` : name;
    const field: FormField = {
      path,
      title: typeof prop.title === 'string' ? prop.title : null,
      description: typeof prop.description === 'string' ? prop.description : null,
      types: types(prop),
      required: required.includes(name),
      enum: Array.isArray(prop.enum) ? prop.enum : null,
      format: typeof prop.format === 'string' ? prop.format : null,
      itemTypes: isObject(prop.items) ? types(prop.items) : [],
      default: prop.default ?? null,
    };
    return [field, ...schemaFields(prop, path, depth + 1)];
  });
}
