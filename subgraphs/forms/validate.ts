/**
 * validateFormData: the check a frontend runs before saving, with ajv against the version's
 * JSON Schema. Compiled validators are cached per (form, version) — versions are immutable —
 * in a bounded least-recently-used map (docs/limits.md).
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { badInput } from '../common/errors';
import type { FormVersion } from './parse';

export const VALIDATOR_CACHE_SIZE = 200;

export interface ValidationError {
  path: string;
  message: string;
  keyword: string;
  params: unknown;
}

export interface ValidationResult {
  valid: boolean;
  errors: ValidationError[];
}

const cache = new Map<string, ValidateFunction>();

function invalidSchema(version: FormVersion, reason: string) {
  return badInput(`Form ${version.formId} version ${version.timestamp} has a schema that cannot be used for validation: ${reason}`, 'version');
}

function compiled(version: FormVersion): ValidateFunction {
  const key = `${version.formId}\u0000${version.timestamp}`;
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  if (version.error || version.schema === null || typeof version.schema !== 'object') throw invalidSchema(version, version.error ?? 'no schema');
  let validate: ValidateFunction;
  try {
    // One ajv per schema: versions of a form may share an $id, which a shared instance refuses.
    // strict: false — form designers write keys ajv does not know (e.g. "enumNames" for the renderer).
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(ajv);
    validate = ajv.compile(structuredClone(version.schema) as object);
  } catch (error) {
    throw invalidSchema(version, (error as Error).message);
  }
  cache.set(key, validate);
  if (cache.size > VALIDATOR_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return validate;
}

function toError(e: ErrorObject): ValidationError {
  // "required" errors point at the parent object; name the missing property instead.
  const missing = e.keyword === 'required' ? (e.params as { missingProperty?: string }).missingProperty : undefined;
  const path = missing === undefined ? e.instancePath : `${e.instancePath}/${missing.replace(/~/g, '~0').replace(/\//g, '~1')}`;
  return { path, message: e.message ?? e.keyword, keyword: e.keyword, params: e.params };
}

export function validateFormData(version: FormVersion, data: unknown): ValidationResult {
  const validate = compiled(version);
  const valid = validate(data) as boolean;
  return { valid, errors: valid ? [] : (validate.errors ?? []).map(toError) };
}
