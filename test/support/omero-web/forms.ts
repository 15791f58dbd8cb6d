/**
 * OMERO.forms' read endpoints (`/omero_forms/...`) for the local OMERO.web, answered from the OMERO
 * tables with this module's own SQL. Shapes, checks and error responses follow OMERO.forms'
 * `omero_forms/views.py` (NL-BioImaging/OMERO.forms 0a27b84), `utils.py` (4b03640) and `urls.py`
 * (ef39f9b); see docs/forms.md "JSON-API source". Visibility is OMERO.forms' own, not ours:
 *   - list_forms / get_form / get_formid_editable answer every logged-in user about every form;
 *   - list_applicable_forms: forms assigned to the session's active group;
 *   - get_form_assignments: assignments of the groups the user manages (leader; admins: all);
 *   - get_form_data(_history): "not found" unless `conn.getObject` finds the object, which with
 *     `login_required(setGroupContext=True)` looks only in the session's active group (admins
 *     too: an admin whose active group is `system` finds no object at all).
 * The active group is the session's `active_group` (set by /webclient/active_group/), else the
 * user's default group (the eventContext's groupId).
 * Entry values are parsed as views.py does (json.loads, KeyError, strptime), so a malformed entry
 * makes the endpoint fail as the real one does.
 *
 * What differs between OMERO.forms versions (`version`):
 *   - '1.0': a view's Http404 is Django's 404 page, any other exception Django's 500 page;
 *   - '2.1' (2.1.0 on): `with_su` wraps every view but get_managed_groups in
 *     `except Exception`, so every exception — Http404 included — is a 500 whose text/html body
 *     is "OMERO.forms admin connection error: <str(exception)>";
 *   - '2.2' (after 2.2.0): as 2.1, and payloads are read through the storage codec (manifest +
 *     `__ofchunk__` entries reassembled; a broken chunked payload fails the request).
 * Only read endpoints are served (no save_* — the subgraph never writes).
 */
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';

export type FormsVersion = '1.0' | '2.1' | '2.2';
export interface FormsViewer {
  userId: number;
  admin: boolean;
  /** group id → leader */
  groups: Map<number, boolean>;
  /** the session's active group (OMERO.web's setGroupContext) */
  activeGroup: number;
}

/** A non-JSON response (Django's HttpResponse* with text/html). */
export class TextResponse {
  constructor(
    readonly status: number,
    readonly text: string,
  ) {}
}

const PREFIX = 'hms.harvard.edu/omero/forms';
const OBJ_TYPES = ['Project', 'Dataset', 'Plate', 'Screen'];
const RESERVED = new Set(['id', 'owner', 'objType']);
const SOURCE_URL = /from (https:\/\/\S+)$/;
// Django's production pages (DEBUG = False).
const NOT_FOUND_PAGE = '<h1>Not Found</h1><p>The requested resource was not found on this server.</p>';
const SERVER_ERROR_PAGE = '<h1>Server Error (500)</h1>';
/** with_su's HttpResponseServerError (2.1.0 on) */
export const WRAPPED_ERROR = 'OMERO.forms admin connection error: ';

type Row = Record<string, any>;
type Pair = [string, string];

/** Raised where views.py would raise (json.loads, KeyError, ValueError): Django answers 500. */
class PythonError extends Error {}

/** Django's Http404, raised by a view: its message is str(exception). */
class Http404 extends Error {}

// Messages are str(exception), as the 2.1 wrapper puts them in its body.
function loads(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    throw new PythonError('Expecting value: line 1 column 1 (char 0)');
  }
}

function key(obj: any, name: string): any {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj) || !(name in obj)) throw new PythonError(`'${name}'`);
  return obj[name];
}

/** int() of a Python string: surrounding whitespace allowed, digits only. */
function pyInt(text: string): number {
  if (!/^\s*[-+]?\d+\s*$/.test(text)) throw new PythonError(`invalid literal for int() with base 10: '${text}'`);
  return Number(text.trim());
}

/**
 * storage_codec.iter_payload_entries (2.2): the payload entries in stored order, chunk entries
 * skipped, manifests reassembled; any inconsistency raises (PayloadCodecError), failing the view.
 */
function payloadEntries(pairs: Pair[], reserved: ReadonlySet<string>): Pair[] {
  const CHUNK = '__ofchunk__';
  const manifestOf = (value: string): any => {
    let m: any;
    try {
      m = JSON.parse(value);
    } catch {
      return null;
    }
    if (m === null || typeof m !== 'object' || Array.isArray(m) || !('_omero_forms_storage' in m)) return null;
    if (m._omero_forms_storage !== 'chunked-zlib-base64-v1') throw new PythonError(`unsupported OMERO.forms payload format: '${m._omero_forms_storage}'`);
    if (typeof m.prefix !== 'string' || !/^__ofchunk__[0-9a-f]{32}$/.test(m.prefix)) throw new PythonError('chunk manifest has an invalid prefix');
    if (!Number.isInteger(m.chunks) || m.chunks < 1) throw new PythonError('chunk manifest has an invalid chunk count');
    return m;
  };
  const stored = new Set<string>();
  const referenced = new Set<string>();
  for (const [name, value] of pairs) {
    if (reserved.has(name)) continue;
    if (name.startsWith(CHUNK)) {
      const i = name.lastIndexOf(':');
      if (i < 0 || !/^__ofchunk__[0-9a-f]{32}$/.test(name.slice(0, i)) || !/^\d+$/.test(name.slice(i + 1)))
        throw new PythonError('annotation contains a malformed chunk key');
      stored.add(name.slice(0, i));
    } else {
      const m = manifestOf(value);
      if (m) referenced.add(m.prefix);
    }
  }
  if ([...stored].some((p) => !referenced.has(p))) throw new PythonError('annotation contains chunks without a manifest');
  return pairs
    .filter(([name]) => !reserved.has(name) && !name.startsWith(CHUNK))
    .map(([name, value]): Pair => {
      const m = manifestOf(value);
      if (!m) return [name, value];
      const parts = new Map<number, string>();
      for (const [n, v] of pairs) if (n.startsWith(`${m.prefix}:`)) parts.set(Number(n.slice(m.prefix.length + 1)), v);
      const missing = Array.from({ length: m.chunks }, (_, i) => i).filter((i) => !parts.has(i));
      if (missing.length) throw new PythonError(`chunk payload is missing chunk(s): ${missing.join(', ')}`);
      const encoded = Array.from({ length: m.chunks }, (_, i) => parts.get(i)).join('');
      if (encoded.length !== m.encoded_bytes) throw new PythonError('chunk payload has an invalid encoded byte count');
      let raw: Buffer;
      try {
        raw = inflateSync(Buffer.from(encoded, 'base64'));
      } catch {
        throw new PythonError('chunk payload contains invalid zlib data');
      }
      if (raw.length !== m.raw_bytes) throw new PythonError('chunk payload has an invalid raw byte count');
      if (createHash('sha256').update(raw).digest('hex') !== m.sha256) throw new PythonError('chunk payload failed its SHA-256 checksum');
      return [name, raw.toString('utf8')];
    });
}

/**
 * datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f") serialised by Django's JSON encoder:
 * isoformat(), microseconds cut to milliseconds, no fraction at all when they are zero.
 */
function djangoDatetime(text: unknown): string {
  const m = typeof text === 'string' ? /^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})\.(\d{1,6})$/.exec(text) : null;
  if (!m) throw new PythonError(`time data '${String(text)}' does not match format '%Y-%m-%dT%H:%M:%S.%f'`);
  const two = (s: string) => s.padStart(2, '0');
  const micro = m[7].padEnd(6, '0');
  const base = `${m[1]}-${two(m[2])}-${two(m[3])}T${two(m[4])}:${two(m[5])}:${two(m[6])}`;
  return Number(micro) === 0 ? base : `${base}.${micro.slice(0, 3)}`;
}

/** utils._normalise_form_version: a sourceUrl for versions stored before it existed. */
function normaliseVersion(d: any): any {
  if (d !== null && typeof d === 'object' && !('sourceUrl' in d)) {
    const m = typeof d.message === 'string' ? SOURCE_URL.exec(d.message) : null;
    d.sourceUrl = m ? m[1] : '';
  }
  return d;
}

export function formsRoutes(query: (sql: string, params?: unknown[]) => Promise<Row[]>, version: FormsVersion = '2.1', formsUser = 'formmaster') {
  /** The version and submission entries of an annotation as this version of utils.py reads them. */
  const payloads = (pairs: Pair[], reserved: ReadonlySet<string>): Pair[] =>
    version === '2.2' ? payloadEntries(pairs, reserved) : pairs.filter(([name]) => !reserved.has(name));

  /** Map annotations linked to the forms account whose namespace matches (LIKE), with their pairs. */
  async function storeAnnotations(nsLike: string): Promise<{ id: number; ns: string; pairs: Pair[] }[]> {
    const rows = await query(
      `SELECT a.id, a.ns, COALESCE(json_agg(json_build_array(mv.name, mv.value) ORDER BY mv.index) FILTER (WHERE mv.index IS NOT NULL), '[]') AS pairs
         FROM experimenter e
         JOIN experimenterannotationlink l ON l.parent = e.id
         JOIN annotation a ON a.id = l.child AND a.discriminator = '/map/'
         LEFT JOIN annotation_mapvalue mv ON mv.annotation_id = a.id
        WHERE e.omename = $1 AND a.ns LIKE $2
        GROUP BY a.id, a.ns ORDER BY a.id`,
      [formsUser, nsLike],
    );
    return rows.map((r) => ({ id: Number(r.id), ns: String(r.ns), pairs: r.pairs as Pair[] }));
  }

  async function formAnnotation(formId: string) {
    const rows = (await storeAnnotations(`${PREFIX}/schema/%`)).filter((a) => a.ns === `${PREFIX}/schema/${formId}`);
    return rows[0] ?? null;
  }

  /** utils.list_forms: every form, or those assigned to a group, optionally of one object type. */
  async function listForms(groupId: number | null, objType: string | null): Promise<Row[]> {
    let annos = await storeAnnotations(`${PREFIX}/schema/%`);
    if (groupId !== null) {
      const assigned = new Set<string>();
      for (const a of await storeAnnotations(`${PREFIX}/assignments/%/${groupId}`)) {
        for (const [name, value] of a.pairs) if (name === 'formId') assigned.add(value);
      }
      if (assigned.size === 0) return [];
      annos = annos.filter((a) => [...assigned].some((f) => a.ns === `${PREFIX}/schema/${f}`));
    }
    const forms: Row[] = [];
    for (const a of annos) {
      let id: string | null = null;
      const objTypes: string[] = [];
      for (const [name, value] of a.pairs) {
        if (name === 'id') id = value;
        else if (name === 'objType') objTypes.push(value);
      }
      if (objType === null || objTypes.includes(objType)) forms.push({ id, objTypes });
    }
    return forms;
  }

  /** utils.get_form_version with no timestamp: the newest version entry plus the form's keys. */
  async function getForm(formId: string, v: FormsViewer): Promise<Row | null> {
    const anno = await formAnnotation(formId);
    if (!anno) return null;
    let id: string | null = null;
    const owners: number[] = [];
    const objTypes: string[] = [];
    for (const [name, value] of anno.pairs) {
      if (name === 'id') id = value;
      else if (name === 'owner') owners.push(pyInt(value));
      else if (name === 'objType') objTypes.push(value);
    }
    const latest = payloads(anno.pairs, RESERVED)[0];
    if (!latest) throw new PythonError('the JSON object must be str, bytes or bytearray, not NoneType');
    const d = normaliseVersion(loads(latest[1]));
    return {
      id,
      schema: key(d, 'schema'),
      uiSchema: key(d, 'uiSchema'),
      author: key(d, 'author'),
      timestamp: key(d, 'timestamp'),
      message: key(d, 'message'),
      sourceUrl: key(d, 'sourceUrl'),
      objTypes,
      owners,
      editable: v.admin || owners.includes(v.userId),
    };
  }

  /** utils.get_form_versions: every version entry, parsed; null when the form does not exist. */
  async function formVersions(formId: string): Promise<Row[] | null> {
    const anno = await formAnnotation(formId);
    if (!anno) return null;
    return payloads(anno.pairs, RESERVED).map(([, value]) => normaliseVersion(loads(value)));
  }

  /** utils.get_form_data_history: the data annotation's entries, newest first. */
  async function history(formId: string, objType: string, objId: number): Promise<Row[]> {
    const ns = `${PREFIX}/data/${objType}/${objId}/${formId}`;
    const anno = (await storeAnnotations(`${PREFIX}/data/%`)).find((a) => a.ns === ns);
    if (!anno) return [];
    return payloads(anno.pairs, new Set()).map(([, value]) => {
      const d = loads(value);
      return {
        formId: key(d, 'formId'),
        formTimestamp: key(d, 'formTimestamp'),
        formData: key(d, 'formData'),
        changedBy: key(d, 'changedBy'),
        changedAt: djangoDatetime(key(d, 'changedAt')),
        message: key(d, 'message'),
      };
    });
  }

  /** conn.getObject(obj_type, obj_id) is not None: OMERO's read rule within the active group, written here again. */
  async function canRead(v: FormsViewer, objType: string, objId: number): Promise<boolean> {
    const table = objType.toLowerCase();
    const rows = await query(
      `SELECT 1 FROM ${table} o
        WHERE o.id = $2 AND o.group_id = $4
          AND ($3::boolean OR o.group_id IN (
                SELECT m.parent FROM groupexperimentermap m JOIN experimentergroup g ON g.id = m.parent
                 WHERE m.child = $1 AND (m.owner OR o.owner_id = $1 OR (g.permissions & 64) = 64)))`,
      [v.userId, objId, v.admin, v.activeGroup],
    );
    return rows.length > 0;
  }

  /** utils.get_managed_groups: all groups for admins, else those the user leads (not 'user'). */
  async function managedGroups(v: FormsViewer): Promise<Row[]> {
    const rows = v.admin
      ? await query('SELECT g.id, g.name, g.permissions FROM experimentergroup g ORDER BY g.id')
      : await query(
          `SELECT g.id, g.name, g.permissions FROM experimentergroup g JOIN groupexperimentermap m ON m.parent = g.id
            WHERE g.name <> 'user' AND m.child = $1 AND m.owner ORDER BY lower(g.name)`,
          [v.userId],
        );
    const perm = (bits: number) => {
      const t = (r: number, w: number, a: number) => (bits & r ? 'r' : '-') + (bits & w ? 'w' : bits & a ? 'a' : '-');
      return t(1024, 512, 256) + t(64, 32, 16) + t(4, 2, 1);
    };
    return rows.map((r) => ({ id: Number(r.id), name: r.name, perm: perm(Number(r.permissions)) }));
  }

  const badRequest = (text: string) => new TextResponse(400, text);
  // urls.py: form ids are `[\w ]+` (other ids do not match a route: Django's 404 page)
  const FORM = '([\\w ]+)';
  const OBJECT = `${FORM}/(\\w+)/([\\w ]+)`;

  async function dispatch(path: string, method: string, v: FormsViewer): Promise<unknown> {
    const rest = path.slice('/omero_forms/'.length);
    const match = (pattern: string) => new RegExp(`^${pattern}$`).exec(rest);
    const getOnly = () => (method !== 'GET' ? new TextResponse(405, '') : null);
    let m: RegExpExecArray | null;

    if (rest === 'list_forms/') return getOnly() ?? { forms: await listForms(null, null) };
    if ((m = match('list_applicable_forms/(\\w+)/'))) {
      if (getOnly()) return getOnly();
      if (!OBJ_TYPES.includes(m[1])) return badRequest(`${m[1]} not a valid obj_type`);
      return { forms: await listForms(v.activeGroup, m[1]) };
    }
    if ((m = match(`get_form/${FORM}/`))) {
      if (getOnly()) return getOnly();
      const form = await getForm(decodeURIComponent(m[1]), v);
      if (form === null) throw new Http404(`Form: ${decodeURIComponent(m[1])}, not found`);
      return { form };
    }
    if ((m = match(`get_formid_editable/${FORM}/`))) {
      if (getOnly()) return getOnly();
      const form = await getForm(decodeURIComponent(m[1]), v);
      return { exists: form !== null, editable: form ? form.editable : true, owners: form ? form.owners : [] };
    }
    if ((m = match(`get_form_data/${OBJECT}/`))) {
      if (getOnly()) return getOnly();
      if (!/^\s*[-+]?\d+\s*$/.test(m[3])) return badRequest('Object ID must be a long integer');
      if (!OBJ_TYPES.includes(m[2])) return badRequest(`${m[2]} not a valid obj_type`);
      const objId = Number(m[3].trim());
      if (!(await canRead(v, m[2], objId))) throw new Http404('If this form exists, this user does not have permissions to read it');
      const entries = await history(decodeURIComponent(m[1]), m[2], objId);
      return { data: entries[0] ?? null };
    }
    if ((m = match(`get_form_data_history/${OBJECT}/`))) {
      if (getOnly()) return getOnly();
      if (!OBJ_TYPES.includes(m[2])) return badRequest(`${m[2]} not a valid obj_type`);
      if (!/^\s*[-+]?\d+\s*$/.test(m[3])) return badRequest('Object ID must be a long integer');
      const objId = Number(m[3].trim());
      if (!(await canRead(v, m[2], objId))) throw new Http404('If this data exists, this user does not have permissions to read it');
      const formId = decodeURIComponent(m[1]);
      const data = await history(formId, m[2], objId);
      return { data, versions: await formVersions(formId) };
    }
    if (rest === 'get_managed_groups/') return getOnly() ?? { groups: await managedGroups(v) };
    if (rest.endsWith('get_form_assignments/')) {
      if (getOnly()) return getOnly();
      const managed = new Set((await managedGroups(v)).map((g) => g.id as number));
      const byGroup = new Map<number, Set<string>>();
      for (const a of await storeAnnotations(`${PREFIX}/assignments/%/%`)) {
        let formId: string | null = null;
        let groupId: number | null = null;
        for (const [name, value] of a.pairs) {
          if (name === 'formId') formId = value;
          else if (name === 'groupId') groupId = pyInt(value);
        }
        if (groupId === null) throw new PythonError("int() argument must be a string, a bytes-like object or a real number, not 'NoneType'");
        const set = byGroup.get(groupId) ?? new Set<string>();
        set.add(formId as string);
        byGroup.set(groupId, set);
      }
      const assignments: Record<string, string[]> = {};
      for (const g of managed) if (byGroup.has(g)) assignments[String(g)] = [...byGroup.get(g)!];
      return { assignments };
    }
    return new TextResponse(404, NOT_FOUND_PAGE);
  }

  /** Answers a `/omero_forms/` request for a logged-in viewer: a JSON body or a TextResponse. */
  return async function route(path: string, method: string, v: FormsViewer): Promise<unknown> {
    try {
      return await dispatch(path, method, v);
    } catch (err) {
      if (!(err instanceof PythonError || err instanceof Http404)) throw err;
      // 2.1.0 on: with_su turns every exception of the views it wraps (all but get_managed_groups) into this 500
      if (version !== '1.0' && path !== '/omero_forms/get_managed_groups/') return new TextResponse(500, `${WRAPPED_ERROR}${err.message}`);
      return err instanceof Http404 ? new TextResponse(404, NOT_FOUND_PAGE) : new TextResponse(500, SERVER_ERROR_PAGE);
    }
  };
}

export type FormsRoute = ReturnType<typeof formsRoutes>;
