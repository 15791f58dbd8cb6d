/**
 * OMERO.forms data for one request: per-request DataLoaders over a FormAnnotationStore, and the
 * parsing of what it returns. Every fan-out (forms by id, submissions by object, containers by
 * image) is one store call per batch.
 */
import DataLoader from 'dataloader';
import { badInput } from '../../common/errors';
import { decodeCursor, encodeCursor } from '../../common/cursor';
import { cursorsOf, pageArgs, type Connection, type PageArgs } from '../../common/pagination';
import type { FormSubmissionKey, FormVersionKey } from '../ids';
import { parseFormDefinition, parseSubmission, type FormDefinition, type FormObjectType, type FormSubmission, type FormVersion } from '../parse';
import type { FormAnnotationStore, FormListFilter, ImageContainer, PageBounds, SubmissionFilter, SubmissionPosition } from './store';

export interface LoadedDefinition {
  form: FormDefinition;
  visible: boolean;
}

const FORM_CURSOR = 'Form';
const SUBMISSION_CURSOR = 'FormSubmission';

function decodePosition(cursor: string, argument: 'after' | 'before'): SubmissionPosition {
  const raw = decodeCursor(SUBMISSION_CURSOR, cursor, argument);
  try {
    const [key, annotationId, index] = JSON.parse(raw) as unknown[];
    if (typeof key === 'string' && Number.isSafeInteger(annotationId) && Number.isSafeInteger(index))
      return { key, annotationId: annotationId as number, index: index as number };
  } catch {
    // fall through
  }
  throw badInput(`Invalid cursor for ${SUBMISSION_CURSOR}.`, argument);
}

/** The keyset bounds of a page (`first`/`after` or `last`/`before`), fetching one row more than the page. */
function bounds<K>(kind: string, args: PageArgs, decode: (cursor: string, argument: 'after' | 'before') => K): PageBounds<K> & { size: number } {
  const { limit, backward } = pageArgs(kind, { first: args.first, last: args.last });
  return {
    after: args.after ? decode(args.after, 'after') : null,
    before: args.before ? decode(args.before, 'before') : null,
    limit: limit + 1,
    backward,
    size: limit,
  };
}

/**
 * A connection from rows in fetch order (reversed when paging backwards), one more than the
 * page when more follow. As the Relay spec allows, the side not paged towards is answered from
 * the bounds alone: a page after a cursor has a previous page, one before a cursor a next page.
 */
function build<T, K>(rows: T[], page: PageBounds<K> & { size: number }, cursor: (node: T) => string, totalCount: () => Promise<number>): Connection<T> {
  const more = rows.length > page.size;
  const fetched = rows.slice(0, page.size);
  const nodes = page.backward ? fetched.reverse() : fetched;
  const edges = nodes.map((node) => ({ cursor: cursor(node), node }));
  return {
    edges,
    nodes,
    pageInfo: {
      hasNextPage: page.backward ? page.before !== null : more,
      hasPreviousPage: page.backward ? more : page.after !== null,
      ...cursorsOf(edges),
    },
    totalCount,
  };
}

export class FormsSource {
  constructor(private readonly store: FormAnnotationStore) {}

  /** Every definition by id, with whether the caller may see it. */
  readonly definitions = new DataLoader<string, LoadedDefinition | null>(async (ids) => {
    const records = await this.store.definitions(ids);
    return ids.map((id) => {
      const r = records.find((x) => x.formId === id);
      return r ? { form: parseFormDefinition(id, r.pairs, r.assignedGroupIds), visible: r.visible } : null;
    });
  });

  /** The definition if the caller may see it. */
  async form(id: string): Promise<FormDefinition | null> {
    const d = await this.definitions.load(id);
    return d?.visible ? d.form : null;
  }

  /** Submission history per object, newest first within each form; empty for objects the caller may not see. */
  readonly objectSubmissions = new DataLoader<string, FormSubmission[]>(async (keys) => {
    const refs = keys.map((k) => {
      const [type, id] = k.split(':');
      return { type: type as FormObjectType, id: Number(id) };
    });
    const entries = await this.store.objectSubmissions(refs);
    const byObject = new Map<string, FormSubmission[]>();
    for (const entry of entries) {
      const key = `${entry.objectType}:${entry.objectId}`;
      const list = byObject.get(key) ?? [];
      list.push(parseSubmission(entry));
      byObject.set(key, list);
    }
    // Newest first by changedAt key across forms (plain code-point order, as in SQL's COLLATE "C").
    const order = (a: FormSubmission, b: FormSubmission) =>
      a.entryKey < b.entryKey ? 1 : a.entryKey > b.entryKey ? -1 : b.annotationId - a.annotationId || a.index - b.index;
    return keys.map((k) => (byObject.get(k) ?? []).sort(order));
  });

  /** A version of a form the caller may see; null when either is missing or hidden. */
  async version(key: FormVersionKey): Promise<FormVersion | null> {
    return (await this.form(key.formId))?.versions.find((v) => v.timestamp === key.timestamp) ?? null;
  }

  /** A submission on an object the caller may see; null when missing or hidden. */
  async submission(key: FormSubmissionKey): Promise<FormSubmission | null> {
    const history = await this.submissionsOf(key.objectType, key.objectId);
    return history.find((s) => s.formId === key.formId && s.changedAt === key.changedAt) ?? null;
  }

  submissionsOf(type: FormObjectType, id: number): Promise<FormSubmission[]> {
    return this.objectSubmissions.load(`${type}:${id}`);
  }

  /** Latest submission per form on an object (the newest entry of each form's history). */
  async latestOf(type: FormObjectType, id: number): Promise<FormSubmission[]> {
    // The newest entry is the first of its annotation (OMERO.forms prepends).
    const latest = (await this.submissionsOf(type, id)).filter((s) => s.index === 0);
    return latest.sort((a, b) => (a.formId < b.formId ? -1 : a.formId > b.formId ? 1 : a.annotationId - b.annotationId));
  }

  readonly imageContainers = new DataLoader<number, ImageContainer[]>(async (imageIds) => {
    const rows = await this.store.imageContainers(imageIds);
    return imageIds.map((id) => rows.filter((r) => r.imageId === id));
  });

  async listForms(filter: FormListFilter, args: PageArgs): Promise<Connection<FormDefinition>> {
    const page = bounds(FORM_CURSOR, args, (cursor, argument) => decodeCursor(FORM_CURSOR, cursor, argument));
    const ids = await this.store.listForms(filter, page);
    const loaded = await this.definitions.loadMany(ids);
    const forms = loaded.flatMap((d) => (d && !(d instanceof Error) && d.visible ? [d.form] : []));
    return build(
      forms,
      page,
      (f) => encodeCursor(FORM_CURSOR, f.id),
      () => this.store.countForms(filter),
    );
  }

  async submissions(filter: SubmissionFilter, args: PageArgs): Promise<Connection<FormSubmission>> {
    const page = bounds(SUBMISSION_CURSOR, args, decodePosition);
    const entries = await this.store.submissions(filter, page);
    const cursor = (s: FormSubmission) => encodeCursor(SUBMISSION_CURSOR, JSON.stringify([s.entryKey, s.annotationId, s.index]));
    return build(entries.map(parseSubmission), page, cursor, () => this.store.countSubmissions(filter));
  }
}
