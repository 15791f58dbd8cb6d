/**
 * OMERO.forms storage (reference/biomero-models.md 4.1): everything is map annotations, entries
 * prepended newest first, values double-encoded JSON, timestamps naive server-local ISO strings.
 */
export const FORMS_NS = 'hms.harvard.edu/omero/forms';
export const SCHEMA_NS = `${FORMS_NS}/schema/`;
export const ASSIGNMENTS_NS = `${FORMS_NS}/assignments/`;
export const DATA_NS = `${FORMS_NS}/data/`;

/** Keys of the schema annotation that are not versions. */
const META_KEYS = new Set(['id', 'owner', 'objType']);

export type FormObjectType = 'Project' | 'Dataset' | 'Screen' | 'Plate';

export interface FormVersion {
  formId: string;
  timestamp: string;
  schema: unknown;
  uiSchema: unknown;
  authorId: number | null;
  message: string | null;
}

export interface FormDefinition {
  id: string;
  title: string | null;
  objectTypes: string[];
  ownerIds: number[];
  versions: FormVersion[];
}

export interface FormSubmission {
  formId: string;
  formTimestamp: string | null;
  data: unknown;
  changedById: number | null;
  changedAt: string;
  message: string | null;
}

type Pair = { key: string; value: string };

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string') return text ?? null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

function toId(value: unknown): number | null {
  const n = Number(value);
  return Number.isInteger(n) ? n : null;
}

/** Versions in stored order (index 0 = newest), skipping entries that are not valid JSON objects. */
export function parseFormDefinition(formId: string, pairs: Pair[]): FormDefinition {
  const versions: FormVersion[] = [];
  for (const pair of pairs) {
    if (META_KEYS.has(pair.key)) continue;
    const entry = parseJson(pair.value);
    if (!entry || typeof entry !== 'object') continue;
    const v = entry as Record<string, unknown>;
    versions.push({
      formId,
      timestamp: pair.key,
      schema: parseJson(v.schema),
      uiSchema: parseJson(v.uiSchema),
      authorId: toId(v.author),
      message: v.message == null ? null : String(v.message),
    });
  }
  const latestSchema = versions[0]?.schema as { title?: unknown } | null | undefined;
  return {
    id: formId,
    title: typeof latestSchema?.title === 'string' ? latestSchema.title : null,
    objectTypes: pairs.filter((p) => p.key === 'objType').map((p) => p.value),
    ownerIds: pairs.filter((p) => p.key === 'owner').map((p) => toId(p.value)).filter((n): n is number => n !== null),
    versions,
  };
}

export function parseSubmissions(formId: string, pairs: Pair[]): FormSubmission[] {
  const out: FormSubmission[] = [];
  for (const pair of pairs) {
    const entry = parseJson(pair.value);
    if (!entry || typeof entry !== 'object') continue;
    const s = entry as Record<string, unknown>;
    out.push({
      formId: String(s.formId ?? formId),
      formTimestamp: s.formTimestamp == null ? null : String(s.formTimestamp),
      data: parseJson(s.formData),
      changedById: toId(s.changedBy),
      changedAt: String(s.changedAt ?? pair.key),
      message: s.message == null ? null : String(s.message),
    });
  }
  return out;
}
