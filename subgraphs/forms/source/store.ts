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

/**
 * A keyset page: up to `limit` items strictly between `after` and `before` in list order, the
 * first ones, or — `backward` — the last ones, returned nearest `before` first (fetch order).
 */
export interface PageBounds<K> {
  after: K | null;
  before: K | null;
  limit: number;
  backward: boolean;
}

/** The page of a list already in list order; `order(item, key)` is negative when the item comes before the key. */
export function pageOfOrdered<T, K>(items: readonly T[], bounds: PageBounds<K>, order: (item: T, key: K) => number): T[] {
  const inside = items.filter((i) => (bounds.after === null || order(i, bounds.after) > 0) && (bounds.before === null || order(i, bounds.before) < 0));
  return bounds.backward ? inside.slice(Math.max(0, inside.length - bounds.limit)).reverse() : inside.slice(0, bounds.limit);
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
  /** visible form ids in id order (code points), one keyset page of them in fetch order */
  listForms(filter: FormListFilter, page: PageBounds<string>): Promise<string[]>;
  countForms(filter: FormListFilter): Promise<number>;
  /** all submission entries on these objects, for the objects the caller may see */
  objectSubmissions(objects: readonly ObjectRef[]): Promise<SubmissionEntry[]>;
  /** newest first across objects, filtered, one keyset page of them in fetch order */
  submissions(filter: SubmissionFilter, page: PageBounds<SubmissionPosition>): Promise<SubmissionEntry[]>;
  countSubmissions(filter: SubmissionFilter): Promise<number>;
  /** the datasets, projects, plates and screens holding these images */
  imageContainers(imageIds: readonly number[]): Promise<ImageContainer[]>;
}
