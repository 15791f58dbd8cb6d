/**
 * Writes OMERO.forms map annotations into a test OMERO database the way OMERO.forms' utils.py
 * writes them (NL-BioImaging/OMERO.forms 0a27b84): Python json.dumps payloads, new entries
 * prepended, and — after 2.2.0 — payloads over 1,024 UTF-8 bytes stored by its storage codec as
 * a compact sorted-key manifest under the entry key followed by `__ofchunk__<32 hex>:NNNNNN`
 * entries holding the Base64 text of zlib(payload) in 1,024-character pieces.
 * Our own code, written from the format; only tests use it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { deflateSync } from 'node:zlib';
import { DEMO_USERS } from '../../database/demo/index';
import { EVENTS, link, mapAnnotation } from '../../database/demo/omero-rows';
import { insertRows, pyJson, type Queryable } from '../../database/demo/sql';

export const FORMS_NS = 'hms.harvard.edu/omero/forms';
const MAX_VALUE_BYTES = 1024;

export type Entry = readonly [string, string];

/**
 * The rows storing `payload` under `key`: itself when small, else manifest + chunks.
 * `prefixHex` fixes the 32-hex chunk prefix (OMERO.forms draws a uuid4).
 */
export function encodePayload(key: string, payload: string, prefixHex = randomUUID().replace(/-/g, '')): Entry[] {
  const raw = Buffer.from(payload, 'utf8');
  if (raw.length <= MAX_VALUE_BYTES) return [[key, payload]];
  const encoded = deflateSync(raw).toString('base64'); // zlib.compress: level 6, zlib header
  const chunks: string[] = [];
  for (let i = 0; i < encoded.length; i += MAX_VALUE_BYTES) chunks.push(encoded.slice(i, i + MAX_VALUE_BYTES));
  const prefix = `__ofchunk__${prefixHex}`;
  // json.dumps(..., separators=(",", ":"), sort_keys=True)
  const manifest = JSON.stringify({
    _omero_forms_storage: 'chunked-zlib-base64-v1',
    chunks: chunks.length,
    encoded_bytes: encoded.length,
    prefix,
    raw_bytes: raw.length,
    sha256: createHash('sha256').update(raw).digest('hex'),
  });
  return [[key, manifest], ...chunks.map((c, i): Entry => [`${prefix}:${String(i).padStart(6, '0')}`, c])];
}

/** add_form_version's payload: json.dumps of the version dict (schema and uiSchema are strings). */
export function versionPayload(v: { formId: string; schema: string; uiSchema: string; author: number; timestamp: string; message: string }): string {
  return pyJson({ id: v.formId, schema: v.schema, uiSchema: v.uiSchema, author: v.author, timestamp: v.timestamp, message: v.message, sourceUrl: '' });
}

/** add_form_data's payload: json.dumps of the submission dict (formData is the client's JSON string). */
export function submissionPayload(s: {
  formId: string;
  formTimestamp: string;
  formData: string;
  changedBy: number;
  changedAt: string;
  message: string;
}): string {
  return pyJson({ formId: s.formId, formTimestamp: s.formTimestamp, formData: s.formData, changedBy: s.changedBy, changedAt: s.changedAt, message: s.message });
}

/** One map annotation of the store, linked to the formmaster experimenter. Ids must be free. */
export async function writeStoreAnnotation(q: Queryable, spec: { id: number; linkId: number; ns: string; entries: readonly Entry[] }): Promise<void> {
  const a = mapAnnotation({ id: spec.id, ns: spec.ns, event: EVENTS.formV2, entries: spec.entries });
  await insertRows(q, 'annotation', [a.annotation]);
  if (a.values.length) await insertRows(q, 'annotation_mapvalue', a.values);
  await insertRows(q, 'experimenterannotationlink', [link(spec.linkId, DEMO_USERS.formmaster.id, spec.id, EVENTS.formV2)]);
}
