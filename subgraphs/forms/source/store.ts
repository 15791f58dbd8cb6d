/**
 * Where OMERO.forms' map annotations come from. The database implementation reads OMERO's
 * tables (read only); every method applies the caller's visibility itself, so what leaves a store
 * is what the caller may see — except definitions, which carry a `visible` flag because a
 * submission still needs to know whether its version exists.
 */
import type { FormObjectType, Pair, SubmissionEntry } from '../parse';

export interface DefinitionRecord {
  formId: string;
  /** the schema annotation's pairs in index order (newest version first) */
  pairs: Pair[];
  assignedGroupIds: number[];
  /** the caller owns the form, is in a group it is assigned to, or is an admin */
  visible: boolean;
}

export interface FormListFilter {
  objectType: FormObjectType | null;
  groupId: number | null;
}

export interface SubmissionFilter {
  formId: string | null;
  /** a version key (naive ISO string, as stored) */
  version: string | null;
  userId: number | null;
  /** bounds on the entry key (changedAt), as naive local strings: from inclusive, to exclusive */
  from: string | null;
  to: string | null;
  objectType: FormObjectType | null;
  /** with objectType: one object's history */
  objectId: number | null;
}

/** Keyset position in the newest-first order of submissions across objects. */
export interface SubmissionPosition {
  key: string;
  annotationId: number;
  index: number;
}

export interface ObjectRef {
  type: FormObjectType;
  id: number;
}

export interface ImageContainer extends ObjectRef {
  imageId: number;
}

export interface FormAnnotationStore {
  definitions(formIds: readonly string[]): Promise<DefinitionRecord[]>;
  /** visible form ids in id order, after `afterFormId`, at most `limit` */
  listForms(filter: FormListFilter, afterFormId: string | null, limit: number): Promise<string[]>;
  countForms(filter: FormListFilter): Promise<number>;
  /** all submission entries on these objects, for the objects the caller may see */
  objectSubmissions(objects: readonly ObjectRef[]): Promise<SubmissionEntry[]>;
  /** newest first across objects, filtered, after `after`, at most `limit` */
  submissions(filter: SubmissionFilter, after: SubmissionPosition | null, limit: number): Promise<SubmissionEntry[]>;
  countSubmissions(filter: SubmissionFilter): Promise<number>;
  /** the datasets, projects, plates and screens holding these images */
  imageContainers(imageIds: readonly number[]): Promise<ImageContainer[]>;
}
