/**
 * OMERO.forms' read endpoints (`/omero_forms/...`) for the local OMERO.web, answered from the OMERO
 * tables with this module's own SQL. Shapes, checks and error responses follow OMERO.forms'
 * `omero_forms/views.py` (NL-BioImaging/OMERO.forms 0a27b84), `utils.py` (4b03640) and `urls.py`
 * (ef39f9b); see docs/forms.md "JSON-API source". Visibility is OMERO.forms' own, not ours:
 *   - list_forms / get_form / get_formid_editable answer every logged-in user about every form;
 *   - list_applicable_forms: forms assigned to the session's active group (the first group of the
 *     user, as this fake's eventContext reports it);
 *   - get_form_assignments: assignments of the groups the user manages (leader; admins: all);
 *   - get_form_data(_history): 404 unless the user can read the object (`conn.getObject`).
 *     Here that is OMERO's read rule over all the user's groups; real OMERO.web, with
 *     `setGroupContext`, looks only in the session's active group.
 * Entry values are parsed as views.py does (json.loads, KeyError, strptime), so a malformed entry
 * makes the endpoint answer Django's 500 page, as the real one does.
 * Only read endpoints are served (no save_* — the subgraph never writes).
 */
export interface FormsViewer {
  userId: number;
  admin: boolean;
  /** group id → leader */
  groups: Map<number, boolean>;
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

type Row = Record<string, any>;
type Pair = [string, string];

/** Raised where views.py would raise (json.loads, KeyError, ValueError): Django answers 500. */
class PythonError extends Error {}

function loads(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    throw new PythonError('json.decoder.JSONDecodeError');
  }
}

function key(obj: any, name: string): any {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj) || !(name in obj)) throw new PythonError(`KeyError: '${name}'`);
  return obj[name];
}

/** int() of a Python string: surrounding whitespace allowed, digits only. */
function pyInt(text: string): number {
  if (!/^\s*[-+]?\d+\s*$/.test(text)) throw new PythonError(`ValueError: invalid literal for int(): '${text}'`);
  return Number(text.trim());
}

/**
 * datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%f") serialised by Django's JSON encoder:
 * isoformat(), microseconds cut to milliseconds, no fraction at all when they are zero.
 */
function djangoDatetime(text: unknown): string {
  const m = typeof text === 'string' ? /^(\d{4})-(\d{1,2})-(\d{1,2})T(\d{1,2}):(\d{1,2}):(\d{1,2})\.(\d{1,6})$/.exec(text) : null;
  if (!m) throw new PythonError(`ValueError: time data '${String(text)}' does not match format`);
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

export function formsRoutes(query: (sql: string, params?: unknown[]) => Promise<Row[]>, formsUser = 'formmaster') {
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
    const latest = anno.pairs.find(([name]) => !RESERVED.has(name));
    if (!latest) throw new PythonError('TypeError: the JSON object must be str, not NoneType');
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
    return anno.pairs.filter(([name]) => !RESERVED.has(name)).map(([, value]) => normaliseVersion(loads(value)));
  }

  /** utils.get_form_data_history: the data annotation's entries, newest first. */
  async function history(formId: string, objType: string, objId: number): Promise<Row[]> {
    const ns = `${PREFIX}/data/${objType}/${objId}/${formId}`;
    const anno = (await storeAnnotations(`${PREFIX}/data/%`)).find((a) => a.ns === ns);
    if (!anno) return [];
    return anno.pairs.map(([, value]) => {
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

  /** conn.getObject(obj_type, obj_id) is not None: OMERO's read rule, written here again. */
  async function canRead(v: FormsViewer, objType: string, objId: number): Promise<boolean> {
    const table = objType.toLowerCase();
    const rows = await query(
      `SELECT 1 FROM ${table} o
        WHERE o.id = $2
          AND ($3::boolean OR o.group_id IN (
                SELECT m.parent FROM groupexperimentermap m JOIN experimentergroup g ON g.id = m.parent
                 WHERE m.child = $1 AND (m.owner OR o.owner_id = $1 OR (g.permissions & 64) = 64)))`,
      [v.userId, objId, v.admin],
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

  async function activeGroup(v: FormsViewer): Promise<number | null> {
    const rows = await query('SELECT parent FROM groupexperimentermap WHERE child = $1 ORDER BY child_index LIMIT 1', [v.userId]);
    return rows[0] ? Number(rows[0].parent) : null;
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
      const group = await activeGroup(v);
      return { forms: await listForms(group, m[1]) };
    }
    if ((m = match(`get_form/${FORM}/`))) {
      if (getOnly()) return getOnly();
      const form = await getForm(decodeURIComponent(m[1]), v);
      return form === null ? new TextResponse(404, NOT_FOUND_PAGE) : { form };
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
      if (!(await canRead(v, m[2], objId))) return new TextResponse(404, NOT_FOUND_PAGE);
      const entries = await history(decodeURIComponent(m[1]), m[2], objId);
      return { data: entries[0] ?? null };
    }
    if ((m = match(`get_form_data_history/${OBJECT}/`))) {
      if (getOnly()) return getOnly();
      if (!OBJ_TYPES.includes(m[2])) return badRequest(`${m[2]} not a valid obj_type`);
      if (!/^\s*[-+]?\d+\s*$/.test(m[3])) return badRequest('Object ID must be a long integer');
      const objId = Number(m[3].trim());
      if (!(await canRead(v, m[2], objId))) return new TextResponse(404, NOT_FOUND_PAGE);
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
        if (groupId === null) throw new PythonError("TypeError: int() argument must be a string, not 'NoneType'");
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
      if (err instanceof PythonError) return new TextResponse(500, SERVER_ERROR_PAGE);
      throw err;
    }
  };
}

export type FormsRoute = ReturnType<typeof formsRoutes>;
