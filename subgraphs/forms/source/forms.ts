/**
 * OMERO.forms data for one request: per-request DataLoaders over a FormAnnotationStore, and the
 * parsing of what it returns. Every fan-out (forms by id, submissions by object, containers by
 * image) is one store call per batch.
 */
import DataLoader from 'dataloader';
import { badInput } from '../../common/errors';
import { decodeCursor, encodeCursor } from '../../common/cursor';
import { cursorsOf, pageArgs, type Connection, type PageArgs } from '../../common/pagination';
import { parseFormDefinition, parseSubmission, type FormDefinition, type FormObjectType, type FormSubmission } from '../parse';
import type { FormAnnotationStore, FormListFilter, ImageContainer, SubmissionFilter, SubmissionPosition } from './store';

export interface LoadedDefinition {
  form: FormDefinition;
  visible: boolean;
}

const FORM_CURSOR = 'Form';
const SUBMISSION_CURSOR = 'FormSubmission';

function decodePosition(cursor: string): SubmissionPosition {
  const raw = decodeCursor(SUBMISSION_CURSOR, cursor);
  try {
    const [key, annotationId, index] = JSON.parse(raw) as unknown[];
    if (typeof key === 'string' && Number.isSafeInteger(annotationId) && Number.isSafeInteger(index)) return { key, annotationId: annotationId as number, index: index as number };
  } catch {
    // fall through
  }
  throw badInput(`Invalid cursor for ${SUBMISSION_CURSOR}.`, 'after');
}

/** Forms page forwards only (docs/limits.md); a page after a cursor has a previous page. */
function build<T>(nodes: T[], limit: number, afterGiven: boolean, cursor: (node: T) => string, totalCount: () => Promise<number>): Connection<T> {
  const hasNextPage = nodes.length > limit;
  const page = hasNextPage ? nodes.slice(0, limit) : nodes;
  const edges = page.map((node) => ({ cursor: cursor(node), node }));
  return { edges, nodes: page, pageInfo: { hasNextPage, hasPreviousPage: afterGiven, ...cursorsOf(edges) }, totalCount };
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
    const { limit } = pageArgs(FORM_CURSOR, { first: args.first });
    const after = args.after ? decodeCursor(FORM_CURSOR, args.after) : null;
    const ids = await this.store.listForms(filter, after, limit + 1);
    const loaded = await this.definitions.loadMany(ids);
    const forms = loaded.flatMap((d) => (d && !(d instanceof Error) && d.visible ? [d.form] : []));
    return build(forms, limit, after !== null, (f) => encodeCursor(FORM_CURSOR, f.id), () => this.store.countForms(filter));
  }

  async submissions(filter: SubmissionFilter, args: PageArgs): Promise<Connection<FormSubmission>> {
    const { limit } = pageArgs(SUBMISSION_CURSOR, { first: args.first });
    const after = args.after ? decodePosition(args.after) : null;
    const entries = await this.store.submissions(filter, after, limit + 1);
    const cursor = (s: FormSubmission) => encodeCursor(SUBMISSION_CURSOR, JSON.stringify([s.entryKey, s.annotationId, s.index]));
    return build(entries.map(parseSubmission), limit, after !== null, cursor, () => this.store.countSubmissions(filter));
  }
}
