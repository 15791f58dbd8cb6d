/**
 * OMERO.forms storage (reference/biomero-models.md 4.1): everything is map annotations, entries
 * prepended newest first, values double-encoded JSON, timestamps naive server-local ISO strings.
 * Payloads over 1,024 bytes (OMERO.forms after 2.2.0) are a manifest plus chunk entries
 * (chunks.ts): chunk entries are never versions or submissions, manifests read as their payload.
 *
 * Parsing never throws: a broken entry becomes a version or submission with `error` set and
 * null payload, so one bad entry cannot fail a query for the whole form.
 */
import { decodePayload, isChunkKey } from './chunks';

export const FORMS_NS = 'hms.harvard.edu/omero/forms';
export const SCHEMA_NS = `${FORMS_NS}/schema/`;
export const ASSIGNMENTS_NS = `${FORMS_NS}/assignments/`;
export const DATA_NS = `${FORMS_NS}/data/`;
export const KVDATA_NS = `${FORMS_NS}/kvdata/`;

export const FORM_OBJECT_TYPES = ['Project', 'Dataset', 'Screen', 'Plate'] as const;
export type FormObjectType = (typeof FORM_OBJECT_TYPES)[number];

export function isFormObjectType(value: unknown): value is FormObjectType {
  return typeof value === 'string' && (FORM_OBJECT_TYPES as readonly string[]).includes(value);
}

/** Keys of the schema annotation that are not versions. */
const META_KEYS = new Set(['id', 'owner', 'objType']);

export interface Pair {
  key: string;
  value: string;
}

export interface FormVersion {
  formId: string;
  /** the entry key: naive server-local ISO time, the version's identity */
  timestamp: string;
  schema: unknown;
  uiSchema: unknown;
  authorId: number | null;
  message: string | null;
  /** why this entry could not be read (schema is then null) */
  error: string | null;
}

export interface FormDefinition {
  id: string;
  title: string | null;
  objectTypes: FormObjectType[];
  ownerIds: number[];
  assignedGroupIds: number[];
  /** newest first, in stored order */
  versions: FormVersion[];
  /** problems with the definition itself and with single entries */
  errors: string[];
}

export interface FormSubmission {
  formId: string;
  objectType: FormObjectType;
  objectId: number;
  /** the version key the data was filled against, as written */
  formTimestamp: string | null;
  data: unknown;
  changedById: number | null;
  /** the entry's changedAt (or its key when missing): naive server-local ISO time */
  changedAt: string;
  message: string | null;
  error: string | null;
  /** the previous (older) submission on the same object and form, for `changes`; null for the first */
  previous: { data: unknown; error: string | null } | null;
  /** position in the store, for cursors: the entry key, its annotation and index */
  entryKey: string;
  annotationId: number;
  index: number;
}

type Parsed = { ok: true; value: unknown } | { ok: false };

function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch {
    return { ok: false };
  }
}

/** schema / uiSchema / formData: a JSON string (as OMERO.forms writes it) or, tolerated, the value itself. */
function parseInner(value: unknown): Parsed {
  return typeof value === 'string' ? parseJson(value) : { ok: true, value };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function toId(value: unknown): number | null {
  if (value === null || value === undefined || value === '') return null;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : null;
}

function text(value: unknown): string | null {
  return value === null || value === undefined ? null : String(value);
}

/** `chunks`: the chunk entries of the schema annotation, for a version stored as a manifest. */
export function parseVersion(formId: string, pair: Pair, chunks: readonly Pair[] = []): FormVersion {
  const broken = (error: string): FormVersion => ({ formId, timestamp: pair.key, schema: null, uiSchema: null, authorId: null, message: null, error });
  const payload = decodePayload(pair.value, chunks);
  if (!payload.ok) return broken(payload.error);
  const entry = parseJson(payload.text);
  if (!entry.ok) return broken('version entry is not valid JSON');
  if (!isObject(entry.value)) return broken('version entry is not a JSON object');
  const v = entry.value;
  const base = { formId, timestamp: pair.key, authorId: toId(v.author), message: text(v.message) };
  if (!('schema' in v) || v.schema === null) return { ...base, schema: null, uiSchema: null, error: 'version entry has no schema' };
  const schema = parseInner(v.schema);
  if (!schema.ok) return { ...base, schema: null, uiSchema: null, error: 'schema is not valid JSON' };
  // save_form stores "" when a client leaves uiSchema out (OMERO.forms 2.1.1): no UI hints
  const uiSchema =
    v.uiSchema === undefined || v.uiSchema === null
      ? { ok: true as const, value: null }
      : v.uiSchema === ''
        ? { ok: true as const, value: {} }
        : parseInner(v.uiSchema);
  if (!uiSchema.ok) return { ...base, schema: schema.value, uiSchema: null, error: 'uiSchema is not valid JSON' };
  return { ...base, schema: schema.value, uiSchema: uiSchema.value, error: null };
}

/** A definition from its schema annotation's pairs (index order) and the groups it is assigned to. */
export function parseFormDefinition(formId: string, pairs: Pair[], assignedGroupIds: number[]): FormDefinition {
  const errors: string[] = [];
  const versions: FormVersion[] = [];
  const objectTypes: FormObjectType[] = [];
  const ownerIds: number[] = [];
  let idSeen = false;
  const chunks = pairs.filter((p) => isChunkKey(p.key));
  for (const pair of pairs) {
    if (isChunkKey(pair.key)) continue;
    if (!META_KEYS.has(pair.key)) {
      const version = parseVersion(formId, pair, chunks);
      if (version.error) errors.push(`version ${pair.key}: ${version.error}`);
      versions.push(version);
    } else if (pair.key === 'id') {
      idSeen = true;
      if (pair.value !== formId) errors.push(`id "${pair.value}" does not match the namespace's form id "${formId}"`);
    } else if (pair.key === 'owner') {
      const id = toId(pair.value);
      if (id === null) errors.push(`owner "${pair.value}" is not a user id`);
      else ownerIds.push(id);
    } else if (isFormObjectType(pair.value)) {
      if (!objectTypes.includes(pair.value)) objectTypes.push(pair.value);
    } else {
      errors.push(`objType "${pair.value}" is not one of ${FORM_OBJECT_TYPES.join(', ')}`);
    }
  }
  if (!idSeen) errors.push('the definition has no id key');
  const titled = versions.find((v) => isObject(v.schema) && typeof v.schema.title === 'string');
  return {
    id: formId,
    title: titled ? (titled.schema as { title: string }).title : null,
    objectTypes,
    ownerIds,
    assignedGroupIds,
    versions,
    errors,
  };
}

/** The fields a submission entry must carry (changedAt falls back to the entry key). */
const SUBMISSION_KEYS = ['formTimestamp', 'formData', 'changedBy'] as const;

export interface SubmissionEntry {
  formId: string;
  objectType: FormObjectType;
  objectId: number;
  annotationId: number;
  index: number;
  key: string;
  value: string;
  /** the next older entry in the same annotation, if any */
  previousValue: string | null;
  /** the annotation's chunk entries, when `value` or `previousValue` is a manifest (else empty) */
  chunks: Pair[];
}

function parseSubmissionValue(formId: string, key: string, value: string, chunks: readonly Pair[]) {
  const payload = decodePayload(value, chunks);
  if (!payload.ok) return { formTimestamp: null, data: null, changedById: null, changedAt: key, message: null, error: payload.error };
  const entry = parseJson(payload.text);
  if (!entry.ok || !isObject(entry.value)) {
    return {
      formTimestamp: null,
      data: null,
      changedById: null,
      changedAt: key,
      message: null,
      error: entry.ok ? 'submission entry is not a JSON object' : 'submission entry is not valid JSON',
    };
  }
  const s = entry.value;
  const problems: string[] = [];
  const missing = SUBMISSION_KEYS.filter((k) => s[k] === undefined || s[k] === null);
  if (missing.length) problems.push(`missing ${missing.join(', ')}`);
  if (s.formId !== undefined && String(s.formId) !== formId) problems.push(`formId "${String(s.formId)}" does not match the namespace's form id "${formId}"`);
  let data: unknown = null;
  if (s.formData !== undefined && s.formData !== null) {
    const parsed = parseInner(s.formData);
    if (parsed.ok) data = parsed.value;
    else problems.push('formData is not valid JSON');
  }
  return {
    formTimestamp: text(s.formTimestamp),
    data,
    changedById: toId(s.changedBy),
    changedAt: text(s.changedAt) ?? key,
    message: text(s.message),
    error: problems.length ? problems.join('; ') : null,
  };
}

export function parseSubmission(entry: SubmissionEntry): FormSubmission {
  const current = parseSubmissionValue(entry.formId, entry.key, entry.value, entry.chunks);
  const previous = entry.previousValue === null ? null : parseSubmissionValue(entry.formId, '', entry.previousValue, entry.chunks);
  return {
    formId: entry.formId,
    objectType: entry.objectType,
    objectId: entry.objectId,
    entryKey: entry.key,
    annotationId: entry.annotationId,
    index: entry.index,
    ...current,
    previous: previous && { data: previous.data, error: previous.error },
  };
}
