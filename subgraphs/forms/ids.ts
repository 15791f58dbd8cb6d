/**
 * The ids forms gives objects without one of their own, one format each, read back by the forms
 * subgraph (entity references) and by `node(id:)` (provenance): `FormVersion.id` is
 * `<formId>@<timestamp>`, `FormSubmission.id` `<formId>/<objectType>:<objectId>@<changedAt>`.
 */
import { FORM_OBJECT_TYPES, type FormObjectType } from './parse';

export interface FormVersionKey {
  formId: string;
  timestamp: string;
}

export interface FormSubmissionKey {
  formId: string;
  objectType: FormObjectType;
  objectId: number;
  changedAt: string;
}

export function formVersionId(v: FormVersionKey): string {
  return `${v.formId}@${v.timestamp}`;
}

export function formSubmissionId(s: FormSubmissionKey): string {
  return `${s.formId}/${s.objectType}:${s.objectId}@${s.changedAt}`;
}

/** A FormVersion id, or null when it is not one (the timestamp holds no `@`; a form id may). */
export function parseFormVersionId(id: string): FormVersionKey | null {
  const at = id.lastIndexOf('@');
  return at > 0 && at < id.length - 1 ? { formId: id.slice(0, at), timestamp: id.slice(at + 1) } : null;
}

const SUBMISSION_ID = new RegExp(`^(.+)/(${FORM_OBJECT_TYPES.join('|')}):(\\d{1,18})@([^@]+)$`);

/** A FormSubmission id, or null when it is not one. */
export function parseFormSubmissionId(id: string): FormSubmissionKey | null {
  const m = SUBMISSION_ID.exec(id);
  return m ? { formId: m[1], objectType: m[2] as FormObjectType, objectId: Number(m[3]), changedAt: m[4] } : null;
}
