/**
 * OMERO.forms' chunked payloads (OMERO.forms after 2.2.0, `omero_forms/storage_codec.py`,
 * NL-BioImaging/OMERO.forms 0a27b84). A payload over 1,024 UTF-8 bytes is stored as
 *   - a manifest under the entry's own key: compact sorted JSON
 *     {"_omero_forms_storage":"chunked-zlib-base64-v1","chunks":N,"encoded_bytes":…,
 *      "prefix":"__ofchunk__<32 hex>","raw_bytes":…,"sha256":"<64 hex>"}
 *   - N entries `<prefix>:000000`, `<prefix>:000001`, … right after it, each ≤ 1,024 characters
 *     of the Base64 text of zlib(payload).
 * Chunk entries are never entries of their own. A manifest is read back as its payload; what
 * the real reader refuses (missing, duplicate or extra chunk, wrong sizes, bad Base64 or zlib,
 * checksum) is an error on that one entry here, where OMERO.forms fails the whole annotation.
 */
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import type { Pair } from './parse';

export const CHUNK_KEY_PREFIX = '__ofchunk__';
const MARKER = '_omero_forms_storage';
const FORMAT = 'chunked-zlib-base64-v1';
const MAX_VALUE_BYTES = 1024;
const PREFIX_RE = /^__ofchunk__[0-9a-f]{32}$/;

export function isChunkKey(name: string): boolean {
  return name.startsWith(CHUNK_KEY_PREFIX);
}

/** Whether a stored value names chunks (cheap test; `decodePayload` does the real reading). */
export function isManifest(value: string): boolean {
  return value.includes(`"${MARKER}"`);
}

export type Decoded = { ok: true; text: string } | { ok: false; error: string };

interface Manifest {
  prefix: string;
  chunks: number;
  rawBytes: number;
  encodedBytes: number;
  sha256: string;
}

const isCount = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= min;

/** The manifest in a value, null when the value is an ordinary payload; throws a message when it is a bad manifest. */
function manifestOf(value: string): Manifest | null {
  let m: unknown;
  try {
    m = JSON.parse(value);
  } catch {
    return null;
  }
  if (m === null || typeof m !== 'object' || Array.isArray(m) || !(MARKER in m)) return null;
  const o = m as Record<string, unknown>;
  if (o[MARKER] !== FORMAT) throw new Error(`unsupported OMERO.forms payload format: ${JSON.stringify(o[MARKER])}`);
  if (typeof o.prefix !== 'string' || !PREFIX_RE.test(o.prefix)) throw new Error('chunk manifest has an invalid prefix');
  if (!isCount(o.chunks, 1)) throw new Error('chunk manifest has an invalid chunk count');
  if (!isCount(o.raw_bytes, 0)) throw new Error('chunk manifest has an invalid raw byte count');
  if (!isCount(o.encoded_bytes, 1)) throw new Error('chunk manifest has an invalid encoded byte count');
  if (typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(o.sha256)) throw new Error('chunk manifest has an invalid SHA-256 checksum');
  return { prefix: o.prefix, chunks: o.chunks, rawBytes: o.raw_bytes, encodedBytes: o.encoded_bytes, sha256: o.sha256 };
}

function reassemble(manifest: Manifest, chunks: readonly Pair[]): string {
  const parts = new Map<number, string>();
  for (const { key, value } of chunks) {
    if (!key.startsWith(`${manifest.prefix}:`)) continue;
    const suffix = key.slice(manifest.prefix.length + 1);
    if (!/^\d+$/.test(suffix)) throw new Error('chunk payload has a malformed chunk key');
    const index = Number(suffix);
    if (index >= manifest.chunks) throw new Error('chunk payload contains an unexpected chunk');
    if (parts.has(index)) throw new Error('chunk payload contains a duplicate chunk');
    if (Buffer.byteLength(value, 'utf8') > MAX_VALUE_BYTES) throw new Error('chunk payload exceeds the safe value size');
    parts.set(index, value);
  }
  const missing = Array.from({ length: manifest.chunks }, (_, i) => i).filter((i) => !parts.has(i));
  if (missing.length) throw new Error(`chunk payload is missing chunk(s): ${missing.join(', ')}`);
  const encoded = Array.from({ length: manifest.chunks }, (_, i) => parts.get(i)!).join('');
  if (encoded.length !== manifest.encodedBytes) throw new Error('chunk payload has an invalid encoded byte count');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(encoded) || encoded.length % 4 !== 0) throw new Error('chunk payload contains invalid Base64 data');
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.from(encoded, 'base64'));
  } catch {
    throw new Error('chunk payload contains invalid zlib data');
  }
  if (raw.length !== manifest.rawBytes) throw new Error('chunk payload has an invalid raw byte count');
  if (createHash('sha256').update(raw).digest('hex') !== manifest.sha256) throw new Error('chunk payload failed its SHA-256 checksum');
  const text = new TextDecoder('utf-8', { fatal: true });
  try {
    return text.decode(raw);
  } catch {
    throw new Error('chunk payload is not valid UTF-8');
  }
}

/**
 * A stored value read as OMERO.forms reads it: an ordinary payload as it is, a manifest as the
 * payload its chunks hold. `chunks` are the chunk entries of the same annotation (any order).
 */
export function decodePayload(value: string, chunks: readonly Pair[]): Decoded {
  try {
    const manifest = manifestOf(value);
    return { ok: true, text: manifest ? reassemble(manifest, chunks) : value };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}
