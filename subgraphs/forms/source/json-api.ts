/**
 * OMERO.forms' annotations read over HTTP, through OMERO.forms' own endpoints in OMERO.web
 * (`/omero_forms/...`, reference/biomero-models.md §4.2), with the caller's OMERO.web session
 * (their OMERO session key joins their OMERO session; sessions cached per key as in the omero
 * subgraph's json-api source). OMERO.web's generic annotation API cannot reach the store, which
 * is linked to the privileged forms account.
 *
 * The endpoints answer per form and per object, so nothing here is one request per batch: every
 * store call counts its requests against `requestLimit` (FORMS_WEB_REQUEST_LIMIT) and refuses,
 * with a clear error, a call that would need more. Responses are turned back into the store's
 * records (pairs and entries) so that the same parsing runs on both sources; what the endpoints
 * cannot tell is listed in docs/forms.md ("JSON-API source").
 */
import type { Caller } from '../../common/identity';
import { codedError } from '../../common/errors';
import { OmeroWebError, OmeroWebNotFound, type EventContext, type OmeroWebSession, type OmeroWebSessionCache } from '../../common/omero-web/client';
import { FORM_OBJECT_TYPES, isFormObjectType, type FormObjectType, type Pair, type SubmissionEntry } from '../parse';
import {
  pageOfOrdered,
  type DefinitionRecord,
  type FormAnnotationStore,
  type FormListFilter,
  type ImageContainer,
  type ObjectRef,
  type PageBounds,
  type SubmissionFilter,
  type SubmissionPosition,
} from './store';

/** Most OMERO.web requests one store call may send (FORMS_WEB_REQUEST_LIMIT). */
export const FORMS_WEB_REQUEST_LIMIT = 500;
/** Requests in flight at once for one store call. */
const PARALLEL = 8;

const PLURAL: Record<FormObjectType, string> = { Project: 'projects', Dataset: 'datasets', Screen: 'screens', Plate: 'plates' };

/** with_su's answer to any exception of a view, from OMERO.forms 2.1.0 on: HTTP 500, text/html. */
const WRAPPED_ERROR = 'OMERO.forms admin connection error: ';
/** The views' Http404 messages (views.py): the form, or the caller's object, is not there. */
const NOT_FOUND_MESSAGES = [/^Form: .*, not found$/s, /^If this (form|data) exists, this user does not have permissions to read it$/];

/** An Http404 of OMERO.forms: Django's 404 (1.x), or the same message wrapped in with_su's 500 (2.1.0 on). */
export function isNotFound(err: unknown): boolean {
  if (err instanceof OmeroWebNotFound) return true;
  if (!(err instanceof OmeroWebError) || err.status !== 500 || !err.text.startsWith(WRAPPED_ERROR)) return false;
  const message = err.text.slice(WRAPPED_ERROR.length);
  return NOT_FOUND_MESSAGES.some((re) => re.test(message));
}

type Json = Record<string, any>;

/** get_form's answer: the newest version plus the form's keys. */
interface FormMeta {
  id: string;
  objTypes: string[];
  owners: number[];
  editable: boolean;
  latest: Json;
}

async function mapLimit<T, R>(items: readonly T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  return out;
}

/** Code-point order, as the database source's COLLATE "C". */
function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The entry key back from Django's JSON encoding of changedAt: OMERO.forms parses it with
 * "%Y-%m-%dT%H:%M:%S.%f" and Django writes isoformat() cut to milliseconds (no fraction at all
 * for whole seconds), so the six-digit fraction is restored; digits below a millisecond are lost.
 */
export function entryKeyOf(changedAt: string): string {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?$/.exec(changedAt);
  return m ? `${m[1]}.${(m[2] ?? '').padEnd(6, '0')}` : changedAt;
}

/** A stable stand-in for the data annotation's id (the endpoints do not return it), for cursors and ties. */
function annotationIdOf(ns: string): number {
  let h = 2166136261;
  for (let i = 0; i < ns.length; i++) h = Math.imul(h ^ ns.charCodeAt(i), 16777619);
  return (h >>> 0) % 2_000_000_000;
}

/** Newest first: by entry key descending, then annotation id descending, then index. */
const newestFirstFrom = (e: SubmissionEntry, p: SubmissionPosition) => cmp(p.key, e.key) || p.annotationId - e.annotationId || e.index - p.index;
const newestFirst = (a: SubmissionEntry, b: SubmissionEntry) => newestFirstFrom(a, b);

export class JsonApiFormStore implements FormAnnotationStore {
  private readonly metas = new Map<string, Promise<FormMeta | null>>();
  private readonly versionLists = new Map<string, Promise<Json[] | null>>();
  private readonly histories = new Map<string, Promise<SubmissionEntry[]>>();
  private readonly historyResponses = new Map<string, Promise<{ data: Json[]; versions: Json[] | null } | null>>();
  private readonly objectGroups = new Map<string, Promise<number | null>>();
  private readonly scans = new Map<string, Promise<SubmissionEntry[]>>();
  private formIds: Promise<{ id: string; objTypes: string[] }[]> | null = null;
  private assignments: Promise<{ byForm: Map<string, Set<number>>; context: EventContext }> | null = null;
  private probe: Promise<ObjectRef | null> | null = null;

  constructor(
    private readonly sessions: OmeroWebSessionCache,
    private readonly caller: Caller,
    private readonly options: { requestLimit?: number } = {},
  ) {}

  private get requestLimit(): number {
    return this.options.requestLimit ?? FORMS_WEB_REQUEST_LIMIT;
  }

  /** `group`: in an OMERO.web session whose active group is that group (OMERO.forms reads objects there only). */
  private call<T>(fn: (s: OmeroWebSession) => Promise<T>, group?: number): Promise<T> {
    const key = this.caller?.sessionKey;
    if (!key) throw codedError('UNAUTHENTICATED', 'This source reads OMERO.forms as the caller and needs their OMERO session key.');
    return this.sessions.with(key, fn, group).catch((err: unknown) => {
      if (err instanceof OmeroWebError && err.status === 403) throw codedError('UNAUTHENTICATED', `OMERO.web refused the session: ${err.message}`);
      throw err;
    });
  }

  private get<T>(path: string, query?: Record<string, string | number>): Promise<T> {
    return this.call((s) => s.get<T>(path, query));
  }

  /** Refuses a store call that would send more than the limit. */
  private budget(needed: number, what: string): void {
    if (needed > this.requestLimit) {
      throw codedError(
        'BAD_USER_INPUT',
        `Reading ${what} through OMERO.forms' endpoints needs ${needed} requests, more than the limit of ${this.requestLimit} (FORMS_WEB_REQUEST_LIMIT); narrow the query.`,
      );
    }
  }

  private unreadable(what: string, err: unknown): never {
    const status = err instanceof OmeroWebError ? err.status : 0;
    throw codedError('INTERNAL_SERVER_ERROR', `OMERO.forms could not read ${what} (HTTP ${status || 'error'}).`);
  }

  private listAllForms(): Promise<{ id: string; objTypes: string[] }[]> {
    this.formIds ??= this.get<{ forms: { id: string | null; objTypes: string[] }[] }>('/omero_forms/list_forms/').then((r) =>
      r.forms.flatMap((f) => (typeof f.id === 'string' ? [{ id: f.id, objTypes: f.objTypes ?? [] }] : [])),
    );
    return this.formIds;
  }

  /**
   * Which groups each form is assigned to, as far as the endpoints tell: the groups the caller
   * manages (get_form_assignments) and their active group (list_applicable_forms, per object type).
   */
  private knownAssignments(): Promise<{ byForm: Map<string, Set<number>>; context: EventContext }> {
    this.assignments ??= (async () => {
      const context = await this.call(async (s) => s.eventContext!);
      const managed = await this.get<{ assignments: Record<string, string[]> }>('/omero_forms/get_form_assignments/');
      const byForm = new Map<string, Set<number>>();
      const add = (formId: string, groupId: number) => byForm.set(formId, (byForm.get(formId) ?? new Set()).add(groupId));
      for (const [groupId, forms] of Object.entries(managed.assignments)) for (const f of forms) add(f, Number(groupId));
      const applicable = await Promise.all(
        FORM_OBJECT_TYPES.map((t) => this.get<{ forms: { id: string | null }[] }>(`/omero_forms/list_applicable_forms/${t}/`)),
      );
      for (const r of applicable) for (const f of r.forms) if (typeof f.id === 'string') add(f.id, context.groupId);
      return { byForm, context };
    })();
    return this.assignments;
  }

  private meta(formId: string): Promise<FormMeta | null> {
    let p = this.metas.get(formId);
    if (!p) {
      p = this.get<{ form: Json }>(`/omero_forms/get_form/${encodeURIComponent(formId)}/`).then(
        ({ form }) => ({
          id: String(form.id),
          objTypes: form.objTypes ?? [],
          owners: (form.owners ?? []).map(Number),
          editable: !!form.editable,
          latest: {
            id: form.id,
            schema: form.schema,
            uiSchema: form.uiSchema,
            author: form.author,
            timestamp: form.timestamp,
            message: form.message,
            sourceUrl: form.sourceUrl,
          },
        }),
        (err: unknown) => (isNotFound(err) ? null : this.unreadable(`form ${formId}`, err)),
      );
      this.metas.set(formId, p);
    }
    return p;
  }

  /** One object the caller can read, for get_form_data_history's `versions` (the only list of all versions). */
  private probeObject(): Promise<ObjectRef | null> {
    this.probe ??= (async () => {
      for (const type of FORM_OBJECT_TYPES) {
        const page = await this.call((s) => s.listPage<Json>(`/api/v0/m/${PLURAL[type]}/`, { limit: 1 }));
        this.rememberGroups(type, page.data);
        if (page.data[0]) return { type, id: Number(page.data[0]['@id']) };
      }
      return null;
    })();
    return this.probe;
  }

  private versions(formId: string): Promise<Json[] | null> {
    let p = this.versionLists.get(formId);
    if (!p) {
      p = this.probeObject().then(async (probe) => {
        if (!probe) return null;
        try {
          return (await this.historyResponse(formId, probe.type, probe.id))?.versions ?? null;
        } catch (err) {
          return this.unreadable(`the versions of form ${formId}`, err);
        }
      });
      this.versionLists.set(formId, p);
    }
    return p;
  }

  /** Keeps the groups of objects a JSON API list returned (`omero:details`), for historyResponse. */
  private rememberGroups(type: FormObjectType, objects: Json[]): void {
    for (const o of objects) {
      const group = o?.['omero:details']?.group?.['@id'];
      const memo = `${type}:${Number(o['@id'])}`;
      if (Number.isSafeInteger(group) && !this.objectGroups.has(memo)) this.objectGroups.set(memo, Promise.resolve(group as number));
    }
  }

  /** The group of an object the caller can read (the JSON API reads across groups), else null. */
  private groupOf(type: FormObjectType, id: number): Promise<number | null> {
    const memo = `${type}:${id}`;
    let p = this.objectGroups.get(memo);
    if (!p) {
      p = this.call((s) => s.getObject<Json>(`/api/v0/m/${PLURAL[type]}/${id}/`)).then((o) => {
        const group = o?.['omero:details']?.group?.['@id'];
        return Number.isSafeInteger(group) ? (group as number) : null;
      });
      this.objectGroups.set(memo, p);
    }
    return p;
  }

  /**
   * get_form_data_history on one object; null when the caller cannot read it. OMERO.forms looks
   * for the object in the session's active group only, so an object it does not find there is
   * asked for again in a session whose active group is the object's own.
   */
  private historyResponse(formId: string, type: FormObjectType, id: number): Promise<{ data: Json[]; versions: Json[] | null } | null> {
    const memo = `${type}/${id}/${formId}`;
    let p = this.historyResponses.get(memo);
    if (!p) {
      const path = `/omero_forms/get_form_data_history/${encodeURIComponent(formId)}/${type}/${id}/`;
      const inGroup = async (group: number) => {
        try {
          return await this.call((s) => s.get<{ data: Json[]; versions: Json[] | null }>(path), group);
        } catch (err) {
          if (isNotFound(err)) return null;
          throw err;
        }
      };
      p = (async () => {
        const { groupId: active } = await this.call(async (s) => s.eventContext!);
        // An object listed earlier in this call has its group known: no attempt that must fail.
        const known = await this.objectGroups.get(`${type}:${id}`);
        if (known !== undefined && known !== null && known !== active) return inGroup(known);
        try {
          return await this.get<{ data: Json[]; versions: Json[] | null }>(path);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        const group = await this.groupOf(type, id);
        return group === null || group === active ? null : inGroup(group);
      })();
      this.historyResponses.set(memo, p);
    }
    return p;
  }

  async definitions(formIds: readonly string[]): Promise<DefinitionRecord[]> {
    this.budget(formIds.length * 2, `${formIds.length} forms`);
    const { byForm, context } = await this.knownAssignments();
    const records = await mapLimit(formIds, async (formId): Promise<DefinitionRecord | null> => {
      const meta = await this.meta(formId);
      if (!meta) return null;
      // Without a readable object the newest version (from get_form) is all the endpoints give.
      const versions = (await this.versions(formId)) ?? [meta.latest];
      const pairs: Pair[] = [
        { key: 'id', value: meta.id },
        ...versions.map((v) => ({ key: String(v.timestamp), value: JSON.stringify(v) })),
        ...meta.owners.map((o) => ({ key: 'owner', value: String(o) })),
        ...meta.objTypes.map((t) => ({ key: 'objType', value: t })),
      ];
      const assigned = [...(byForm.get(formId) ?? [])].sort((a, b) => a - b);
      const member = assigned.some((g) => context.memberOfGroups.includes(g));
      return { formId, pairs, assignedGroupIds: assigned, visible: meta.editable || member };
    });
    return records.filter((r): r is DefinitionRecord => r !== null);
  }

  private async visibleForms(filter: FormListFilter): Promise<string[]> {
    const all = await this.listAllForms();
    const candidates = all.filter((f) => filter.objectType === null || f.objTypes.includes(filter.objectType)).map((f) => f.id);
    const records = await this.definitions(candidates);
    return records
      .filter((r) => r.visible && (filter.groupId === null || r.assignedGroupIds.includes(filter.groupId)))
      .map((r) => r.formId)
      .sort(cmp);
  }

  async listForms(filter: FormListFilter, page: PageBounds<string>): Promise<string[]> {
    return pageOfOrdered(await this.visibleForms(filter), page, cmp);
  }

  async countForms(filter: FormListFilter): Promise<number> {
    return (await this.visibleForms(filter)).length;
  }

  /** One form's history on one object, as entries; empty when the caller may not read the object. */
  private history(formId: string, type: FormObjectType, id: number): Promise<SubmissionEntry[]> {
    const ns = `${type}/${id}/${formId}`;
    let p = this.histories.get(ns);
    if (!p) {
      p = this.historyResponse(formId, type, id).then(
        (response) => {
          const values = (response?.data ?? []).map((d) => {
            const key = entryKeyOf(String(d.changedAt));
            return { key, value: JSON.stringify({ ...d, changedAt: key }) };
          });
          return values.map((v, index) => ({
            formId,
            objectType: type,
            objectId: id,
            annotationId: annotationIdOf(ns),
            index,
            key: v.key,
            value: v.value,
            previousValue: values[index + 1]?.value ?? null,
            chunks: [], // OMERO.forms reassembles chunked payloads itself
          }));
        },
        (err: unknown) => this.unreadable(`the history of form ${formId} on ${type} ${id}`, err),
      );
      this.histories.set(ns, p);
    }
    return p;
  }

  private async historiesOf(objects: readonly ObjectRef[], formIds: readonly string[], what: string): Promise<SubmissionEntry[]> {
    const pairs = objects.flatMap((o) => formIds.map((f) => ({ o, f })));
    this.budget(pairs.length, what);
    return (await mapLimit(pairs, ({ o, f }) => this.history(f, o.type, o.id))).flat();
  }

  async objectSubmissions(objects: readonly ObjectRef[]): Promise<SubmissionEntry[]> {
    if (objects.length === 0) return [];
    const forms = (await this.listAllForms()).map((f) => f.id);
    const entries = await this.historiesOf(objects, forms, `the submissions of ${objects.length} objects × ${forms.length} forms`);
    return entries.sort((a, b) => a.annotationId - b.annotationId || a.index - b.index);
  }

  /** Every submission the filter selects: the objects the caller can list × the forms, one request each. */
  private scan(filter: SubmissionFilter): Promise<SubmissionEntry[]> {
    const memo = JSON.stringify(filter);
    let p = this.scans.get(memo);
    if (!p) {
      p = (async () => {
        const types = filter.objectType ? [filter.objectType] : [...FORM_OBJECT_TYPES];
        let objects: ObjectRef[];
        if (filter.objectId !== null) objects = types.map((type) => ({ type, id: filter.objectId! }));
        else {
          const lists = await Promise.all(
            types.map((type) =>
              this.call((s) => s.listAll<Json>(`/api/v0/m/${PLURAL[type]}/`, {}, this.requestLimit + 1)).then((r) => {
                this.rememberGroups(type, r.items);
                return r.items.map((o) => ({ type, id: Number(o['@id']) }));
              }),
            ),
          );
          objects = lists.flat();
        }
        const forms = filter.formId !== null ? [filter.formId] : (await this.listAllForms()).map((f) => f.id);
        const entries = await this.historiesOf(objects, forms, `submissions across ${objects.length} objects × ${forms.length} forms`);
        return entries
          .filter((e) => {
            let v: Json | null = null;
            try {
              v = JSON.parse(e.value) as Json;
            } catch {
              v = null;
            }
            if (filter.version !== null && v?.formTimestamp !== filter.version) return false;
            if (filter.userId !== null && String(v?.changedBy ?? '') !== String(filter.userId)) return false;
            if (filter.from !== null && cmp(e.key, filter.from) < 0) return false;
            if (filter.to !== null && cmp(e.key, filter.to) >= 0) return false;
            return true;
          })
          .sort(newestFirst);
      })();
      this.scans.set(memo, p);
    }
    return p;
  }

  async submissions(filter: SubmissionFilter, page: PageBounds<SubmissionPosition>): Promise<SubmissionEntry[]> {
    return pageOfOrdered(await this.scan(filter), page, newestFirstFrom);
  }

  async countSubmissions(filter: SubmissionFilter): Promise<number> {
    return (await this.scan(filter)).length;
  }

  async imageContainers(imageIds: readonly number[]): Promise<ImageContainer[]> {
    this.budget(imageIds.length, `the containers of ${imageIds.length} images`);
    const found = await mapLimit(imageIds, async (imageId) => {
      const { paths } = await this.get<{ paths: { type: string; id: number }[][] }>('/webclient/api/paths_to_object/', { image: imageId });
      const out = new Map<string, ImageContainer>();
      for (const path of paths) {
        for (const node of path) {
          const type = node.type.charAt(0).toUpperCase() + node.type.slice(1);
          if (isFormObjectType(type)) out.set(`${type}:${node.id}`, { imageId, type, id: Number(node.id) });
        }
      }
      return [...out.values()];
    });
    return found.flat().sort((a, b) => a.imageId - b.imageId || cmp(a.type, b.type) || a.id - b.id);
  }
}
