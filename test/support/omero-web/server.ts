/**
 * A local OMERO.web for tests and the benchmark: a real node:http server on 127.0.0.1 that answers
 * the JSON API (/api/...) and /webclient/api/annotations/ the way OMERO.web documents them
 * (shared/reference/omero-api.md A.1–A.8), serving the OMERO tables of the database it is given.
 *
 * It deliberately shares no code with subgraphs/omero: its SQL, visibility rule, permission flags
 * and JSON encoding are written here again, plainly, so the contract tests really test the
 * json-api source's decoding against an independent reading of the same rows.
 *
 * Export:
 *   startFakeOmeroWeb({ omeroDatabaseUrl, passwords?, maxLimit?, defaultLimit? })
 *     → Promise<{ url: string; close(): Promise<void>; requests: number }>
 *   url is the server root, e.g. http://127.0.0.1:41234 (no trailing slash).
 *
 * Authentication (A.2): GET /api/v0/token/ sets the `csrftoken` cookie; POST /api/v0/login/ with
 * X-CSRFToken (or form field csrfmiddlewaretoken) + cookie, JSON or form body with server,
 * username, password. Credentials are checked against `passwords` (default DEMO_PASSWORDS); a
 * login whose username and password are both the uuid of an open OMERO session joins that
 * session, as OMERO's Blitz accepts a session key as username and password. A password login
 * inserts a real `session` row, so its key is one the gateway resolves; POST /webclient/logout/
 * closes that row (sets `closed`). A joined session is only detached, never closed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { DEMO_PASSWORDS } from '../../../database/demo/world';
import { formsRoutes, TextResponse, type FormsVersion } from './forms';
import { runWorkflowScript, type BiomeroScripts, type WorkflowJob } from './biomero';

export interface FakeOmeroWebOptions {
  omeroDatabaseUrl: string;
  /** omeName → password; default DEMO_PASSWORDS */
  passwords?: Record<string, string>;
  /** omero.web.api.max_limit (500) and omero.web.api.limit (200) */
  maxLimit?: number;
  defaultLimit?: number;
  /** which OMERO.forms answers under /omero_forms/ (forms.ts): '1.0', '2.1' (default, as deployed) or '2.2' */
  formsVersion?: FormsVersion;
  /** OMERO.biomero's workflow scripts behind /omero_biomero/api/analyzer/workflows/<name>/jobs/ (biomero.ts) */
  biomeroScripts?: BiomeroScripts;
}

export interface FakeOmeroWeb {
  url: string;
  /** HTTP requests served so far (the benchmark reports it) */
  readonly requests: number;
  /** workflow launches the OMERO.biomero endpoint accepted, in order (biomero.ts) */
  readonly workflowJobs: readonly WorkflowJob[];
  close(): Promise<void>;
}

const SCHEMA = 'http://www.openmicroscopy.org/Schemas/OME/2016-06';
const API_VERSION = '0.2';
const BAD_CREDENTIALS = 'Connection not available, please check your user name and password.';

// Unit symbols as stored (enum values) → the names omero-marshal writes in "Unit".
const UNIT_NAMES: Record<string, string> = {
  µm: 'MICROMETER',
  nm: 'NANOMETER',
  mm: 'MILLIMETER',
  m: 'METER',
  pixel: 'PIXEL',
  'reference frame': 'REFERENCEFRAME',
  s: 'SECOND',
  ms: 'MILLISECOND',
  min: 'MINUTE',
  h: 'HOUR',
  Å: 'ANGSTROM',
  pt: 'POINT',
};

interface Viewer {
  userId: number;
  admin: boolean;
  /** group id → leader */
  groups: Map<number, boolean>;
  /** the session's active_group, else the default group (OMERO.web's setGroupContext) */
  activeGroup: number;
}

interface WebSession {
  omeroSessionId: number;
  omeroSessionUuid: string;
  /** created by this login (closed on logout) rather than joined */
  owned: boolean;
  userId: number;
  /** request.session['active_group'], set by /webclient/active_group/ */
  activeGroup?: number;
}

class HttpFailure extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

type Row = Record<string, any>;

/** Drop null/undefined values, as omero-marshal does. */
function clean<T extends Row>(obj: T): T {
  for (const key of Object.keys(obj)) if (obj[key] === null || obj[key] === undefined) delete obj[key];
  return obj;
}

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}

function millis(v: unknown): number | null {
  if (v === null || v === undefined) return null;
  const d = v instanceof Date ? v : new Date(`${String(v).replace(' ', 'T')}Z`);
  return d.getTime();
}

function unit(value: unknown, symbol: unknown, type = 'TBD#LengthI'): Row | null {
  if (value === null || value === undefined || symbol === null || symbol === undefined) return null;
  return { '@type': type, Unit: UNIT_NAMES[String(symbol)] ?? String(symbol).toUpperCase(), Symbol: String(symbol), Value: Number(value) };
}

function colour(r: unknown, g: unknown, b: unknown, a: unknown): number | null {
  if (r === null || r === undefined) return null;
  return (Number(r) << 24) | (Number(g) << 16) | (Number(b) << 8) | Number(a ?? 255) | 0;
}

function permString(bits: number): string {
  const t = (r: number, w: number, a: number) => (bits & r ? 'r' : '-') + (bits & w ? 'w' : bits & a ? 'a' : '-');
  return t(1024, 512, 256) + t(64, 32, 16) + t(4, 2, 1);
}

function parseCookies(header: string | undefined): Map<string, string> {
  const map = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i > 0) map.set(part.slice(0, i).trim(), decodeURIComponent(part.slice(i + 1).trim()));
  }
  return map;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Django's int(): the API answers 400 with Python's message for a non-integer. */
function intParam(q: URLSearchParams, name: string, fallback: number | null): number | null {
  const raw = q.get(name);
  if (raw === null || raw === '') return fallback;
  if (!/^-?\d+$/.test(raw.trim())) throw new HttpFailure(400, `invalid literal for int() with base 10: '${raw}'`);
  return Number(raw);
}

// ---------------------------------------------------------------------------------------------

/** Object kinds of /api/v0/m/<kind>/ and how to read them. */
interface Kind {
  type: string;
  table: string;
  /** extra columns of the base table */
  columns: string;
  order: string;
}

const KINDS: Record<string, Kind> = {
  projects: { type: 'Project', table: 'project', columns: 'o.name, o.description', order: 'lower(o.name), o.id' },
  datasets: { type: 'Dataset', table: 'dataset', columns: 'o.name, o.description', order: 'lower(o.name), o.id' },
  images: {
    type: 'Image',
    table: 'image',
    columns: 'o.name, o.description, o.acquisitiondate, o.series, o.archived, o.partial, o.fileset',
    order: 'lower(o.name), o.id',
  },
  screens: {
    type: 'Screen',
    table: 'screen',
    columns: 'o.name, o.description, o.protocoldescription, o.protocolidentifier, o.reagentsetdescription, o.reagentsetidentifier, o.type',
    order: 'lower(o.name), o.id',
  },
  plates: {
    type: 'Plate',
    table: 'plate',
    columns:
      'o.name, o.description, o."rows", o."columns", o.rownamingconvention, o.columnnamingconvention, o.defaultsample, o.externalidentifier, o.status, o.welloriginx, o.welloriginxunit, o.welloriginy, o.welloriginyunit',
    order: 'lower(o.name), o.id',
  },
  plateacquisitions: {
    type: 'PlateAcquisition',
    table: 'plateacquisition',
    columns: 'o.name, o.description, o.starttime, o.endtime, o.maximumfieldcount, o.plate',
    order: 'lower(o.name), o.id',
  },
  wells: {
    type: 'Well',
    table: 'well',
    columns: 'o."row", o."column", o.externaldescription, o.externalidentifier, o.type, o.status, o.red, o.green, o.blue, o.alpha, o.plate',
    order: 'o."column", o."row", o.id',
  },
  rois: { type: 'ROI', table: 'roi', columns: 'o.name, o.description, o.image', order: 'o.id' },
};

/** Filters each kind accepts (query parameter → SQL over alias o, parameter $n). */
const FILTERS: Record<string, Record<string, (p: string) => string>> = {
  projects: { dataset: (p) => `o.id IN (SELECT parent FROM projectdatasetlink WHERE child = ${p})` },
  datasets: {
    project: (p) => `o.id IN (SELECT child FROM projectdatasetlink WHERE parent = ${p})`,
    image: (p) => `o.id IN (SELECT parent FROM datasetimagelink WHERE child = ${p})`,
  },
  images: { dataset: (p) => `o.id IN (SELECT child FROM datasetimagelink WHERE parent = ${p})` },
  screens: { plate: (p) => `o.id IN (SELECT parent FROM screenplatelink WHERE child = ${p})` },
  plates: {
    screen: (p) => `o.id IN (SELECT child FROM screenplatelink WHERE parent = ${p})`,
    well: (p) => `o.id IN (SELECT plate FROM well WHERE id = ${p})`,
  },
  plateacquisitions: { plate: (p) => `o.plate = ${p}` },
  wells: {
    plate: (p) => `o.plate = ${p}`,
    plateacquisition: (p) => `o.id IN (SELECT well FROM wellsample WHERE plateacquisition = ${p})`,
  },
  rois: { image: (p) => `o.image = ${p}` },
};

const ORPHANED: Record<string, string> = {
  datasets: 'NOT EXISTS (SELECT 1 FROM projectdatasetlink l WHERE l.child = o.id)',
  images: 'NOT EXISTS (SELECT 1 FROM datasetimagelink l WHERE l.child = o.id) AND NOT EXISTS (SELECT 1 FROM wellsample ws WHERE ws.image = o.id)',
  plates: 'NOT EXISTS (SELECT 1 FROM screenplatelink l WHERE l.child = o.id)',
};

/** /m/<parent>/<id>/<children>/ → (kind, filter parameter). */
const NESTED: Record<string, Record<string, string>> = {
  projects: { datasets: 'project' },
  datasets: { images: 'dataset', projects: 'dataset' },
  images: { datasets: 'image', rois: 'image' },
  screens: { plates: 'screen' },
  plates: { screens: 'plate', wells: 'plate', plateacquisitions: 'plate' },
  wells: { plates: 'well' },
  plateacquisitions: { wells: 'plateacquisition' },
  experimentergroups: { experimenters: 'experimentergroup' },
  experimenters: { experimentergroups: 'experimenter' },
};

export async function startFakeOmeroWeb(options: FakeOmeroWebOptions): Promise<FakeOmeroWeb> {
  const pool = new pg.Pool({ connectionString: options.omeroDatabaseUrl, max: 4, application_name: 'fake-omero-web' });
  pool.on('error', () => undefined);
  const passwords = options.passwords ?? DEMO_PASSWORDS;
  const maxLimit = options.maxLimit ?? 500;
  const defaultLimit = options.defaultLimit ?? 200;
  const webSessions = new Map<string, WebSession>();
  const workflowJobs: WorkflowJob[] = [];
  let requests = 0;
  let base = '';

  const q = async (sql: string, params: unknown[] = []): Promise<Row[]> => (await pool.query(sql, params)).rows;

  // ---- who is asking ---------------------------------------------------------------------

  async function viewerOf(s: WebSession): Promise<Viewer | null> {
    const open = await q(
      `SELECT 1 FROM session WHERE id = $1 AND closed IS NULL
          AND (timetolive = 0 OR started + timetolive * interval '1 millisecond' > now() AT TIME ZONE 'UTC')`,
      [s.omeroSessionId],
    );
    if (open.length === 0) return null;
    const rows = await q('SELECT parent, owner FROM groupexperimentermap WHERE child = $1 ORDER BY child_index', [s.userId]);
    const groups = new Map(rows.map((r) => [Number(r.parent), Boolean(r.owner)]));
    return { userId: s.userId, admin: groups.has(0), groups, activeGroup: s.activeGroup ?? (rows[0] ? Number(rows[0].parent) : -1) };
  }

  /** OMERO's read rule, in this server's own words. */
  function readable(v: Viewer, alias = 'o', p = '$1'): string {
    if (v.admin) return `${p}::bigint IS NOT NULL`;
    return `${alias}.group_id IN (SELECT m.parent FROM groupexperimentermap m JOIN experimentergroup gg ON gg.id = m.parent
      WHERE m.child = ${p} AND (m.owner OR ${alias}.owner_id = ${p} OR (gg.permissions & 64) = 64))`;
  }

  function flags(v: Viewer, ownerId: number, groupId: number, groupPerms: number): Row {
    const perm = permString(groupPerms);
    const mine = v.admin || ownerId === v.userId || v.groups.get(groupId) === true;
    const member = v.groups.has(groupId);
    const rw = member && perm[3] === 'w';
    const ra = member && perm[3] === 'a';
    return {
      '@type': 'TBD#Permissions',
      perm,
      canAnnotate: mine || rw || ra,
      canDelete: mine,
      canEdit: mine || rw,
      canLink: mine || rw,
      isUserRead: perm[0] === 'r',
      isUserWrite: perm[1] === 'w',
      isGroupRead: perm[2] === 'r',
      isGroupWrite: perm[3] === 'w',
      isGroupAnnotate: perm[3] === 'a',
      isWorldRead: perm[4] === 'r',
      isWorldWrite: perm[5] === 'w',
    };
  }

  // ---- people ----------------------------------------------------------------------------

  const groupPermsCache = new Map<number, number>();

  async function experimenterJson(ids: number[]): Promise<Map<number, Row>> {
    const rows = await q('SELECT id, omename, firstname, middlename, lastname, email, institution FROM experimenter WHERE id = ANY($1::bigint[])', [ids]);
    return new Map(
      rows.map((r) => [
        Number(r.id),
        clean({
          '@id': Number(r.id),
          '@type': `${SCHEMA}#Experimenter`,
          FirstName: r.firstname,
          MiddleName: r.middlename,
          LastName: r.lastname,
          Email: r.email,
          Institution: r.institution,
          UserName: r.omename,
          'omero:details': { '@type': 'TBD#Details', permissions: { '@type': 'TBD#Permissions', perm: 'rw----' } },
        }),
      ]),
    );
  }

  async function groupJson(ids: number[]): Promise<Map<number, Row>> {
    const rows = await q('SELECT id, name, description, permissions FROM experimentergroup WHERE id = ANY($1::bigint[])', [ids]);
    return new Map(
      rows.map((r) => {
        groupPermsCache.set(Number(r.id), Number(r.permissions));
        return [
          Number(r.id),
          clean({
            '@id': Number(r.id),
            '@type': `${SCHEMA}#ExperimenterGroup`,
            Name: r.name,
            Description: r.description,
            'omero:details': { '@type': 'TBD#Details', permissions: { '@type': 'TBD#Permissions', perm: permString(Number(r.permissions)) } },
          }),
        ];
      }),
    );
  }

  // ---- owned objects ---------------------------------------------------------------------

  async function pixelsOf(imageIds: number[], withChannels: boolean): Promise<Map<number, Row>> {
    const rows = await q(
      `SELECT p.*, pt.value AS ptype, pt.id AS ptype_id, d.value AS dorder FROM pixels p
         JOIN pixelstype pt ON pt.id = p.pixelstype JOIN dimensionorder d ON d.id = p.dimensionorder
        WHERE p.image = ANY($1::bigint[]) AND p.image_index = 0`,
      [imageIds],
    );
    const channels = new Map<number, Row[]>();
    if (withChannels && rows.length) {
      const ch = await q(
        `SELECT c.pixels, c.id, c.red, c.green, c.blue, c.alpha, l.id AS lc, l.name, l.fluor, l.emissionwave, l.emissionwaveunit,
                l.excitationwave, l.excitationwaveunit, l.samplesperpixel
           FROM channel c JOIN logicalchannel l ON l.id = c.logicalchannel
          WHERE c.pixels = ANY($1::bigint[]) ORDER BY c.pixels, c.pixels_index`,
        [rows.map((r) => r.id)],
      );
      for (const c of ch) {
        const list = channels.get(Number(c.pixels)) ?? [];
        list.push(
          clean({
            '@id': Number(c.id),
            '@type': `${SCHEMA}#Channel`,
            Name: c.name,
            Color: colour(c.red, c.green, c.blue, c.alpha),
            EmissionWavelength: unit(c.emissionwave, c.emissionwaveunit),
            ExcitationWavelength: unit(c.excitationwave, c.excitationwaveunit),
            Fluor: c.fluor,
            SamplesPerPixel: num(c.samplesperpixel),
            'omero:LogicalChannelId': Number(c.lc),
          }),
        );
        channels.set(Number(c.pixels), list);
      }
    }
    return new Map(
      rows.map((p) => [
        Number(p.image),
        clean({
          '@id': Number(p.id),
          '@type': `${SCHEMA}#Pixels`,
          SizeX: num(p.sizex),
          SizeY: num(p.sizey),
          SizeZ: num(p.sizez),
          SizeC: num(p.sizec),
          SizeT: num(p.sizet),
          PhysicalSizeX: unit(p.physicalsizex, p.physicalsizexunit),
          PhysicalSizeY: unit(p.physicalsizey, p.physicalsizeyunit),
          PhysicalSizeZ: unit(p.physicalsizez, p.physicalsizezunit),
          TimeIncrement: unit(p.timeincrement, p.timeincrementunit, 'TBD#TimeI'),
          SignificantBits: num(p.significantbits),
          Type: { '@type': 'TBD#PixelsType', '@id': Number(p.ptype_id), value: p.ptype },
          DimensionOrder: { '@type': 'TBD#DimensionOrder', value: p.dorder },
          'omero:sha1': p.sha1,
          'omero:methodology': p.methodology,
          Channels: withChannels ? (channels.get(Number(p.id)) ?? []) : null,
        }),
      ]),
    );
  }

  /** Encodes rows of one kind, with owner/group/permissions details for viewer v. */
  async function encode(kind: string, rows: Row[], v: Viewer, detail: boolean): Promise<Row[]> {
    const k = KINDS[kind];
    const owners = await experimenterJson([...new Set(rows.map((r) => Number(r.owner_id)))]);
    const groups = await groupJson([...new Set(rows.map((r) => Number(r.group_id)))]);
    const ids = rows.map((r) => Number(r.id));
    const pixels = kind === 'images' ? await pixelsOf(ids, detail) : new Map<number, Row>();
    const samples = kind === 'wells' ? await wellSamplesOf(ids, v, detail) : new Map<number, Row[]>();
    const shapes = kind === 'rois' ? await shapesOf(ids) : new Map<number, Row[]>();
    return rows.map((r) => {
      const id = Number(r.id);
      const self = `${base}/api/v0/m/${kind}/${id}/`;
      const o: Row = { '@id': id, '@type': `${SCHEMA}#${k.type}` };
      switch (kind) {
        case 'projects':
          Object.assign(o, { Name: r.name, Description: r.description }, detail ? {} : { 'url:project': self }, { 'url:datasets': `${self}datasets/` });
          break;
        case 'datasets':
          Object.assign(o, { Name: r.name, Description: r.description }, detail ? {} : { 'url:dataset': self }, {
            'url:images': `${self}images/`,
            'url:projects': `${self}projects/`,
          });
          break;
        case 'images':
          Object.assign(
            o,
            {
              Name: r.name,
              Description: r.description,
              AcquisitionDate: millis(r.acquisitiondate),
              'omero:series': num(r.series),
              'omero:archived': r.archived,
              'omero:partial': r.partial,
              Pixels: pixels.get(id),
            },
            detail ? { 'url:rois': `${self}rois/` } : { 'url:image': self },
            { 'url:datasets': `${self}datasets/` },
          );
          break;
        case 'screens':
          Object.assign(
            o,
            {
              Name: r.name,
              Description: r.description,
              ProtocolDescription: r.protocoldescription,
              ProtocolIdentifier: r.protocolidentifier,
              ReagentSetDescription: r.reagentsetdescription,
              ReagentSetIdentifier: r.reagentsetidentifier,
              Type: r.type,
            },
            detail ? {} : { 'url:screen': self },
            { 'url:plates': `${self}plates/` },
          );
          break;
        case 'plates':
          Object.assign(
            o,
            {
              Name: r.name,
              Description: r.description,
              Rows: num(r.rows),
              Columns: num(r.columns),
              RowNamingConvention: r.rownamingconvention,
              ColumnNamingConvention: r.columnnamingconvention,
              FieldIndex: num(r.defaultsample),
              ExternalIdentifier: r.externalidentifier,
              Status: r.status,
              WellOriginX: unit(r.welloriginx, r.welloriginxunit),
              WellOriginY: unit(r.welloriginy, r.welloriginyunit),
            },
            detail ? {} : { 'url:plate': self },
            {
              'url:screens': `${self}screens/`,
              'url:wells': `${self}wells/`,
              'url:plateacquisitions': `${self}plateacquisitions/`,
            },
          );
          break;
        case 'plateacquisitions':
          Object.assign(
            o,
            {
              Name: r.name,
              Description: r.description,
              MaximumFieldCount: num(r.maximumfieldcount),
              StartTime: millis(r.starttime),
              EndTime: millis(r.endtime),
            },
            detail ? {} : { 'url:plateacquisition': self },
          );
          break;
        case 'wells':
          Object.assign(
            o,
            {
              Column: num(r.column),
              Row: num(r.row),
              ExternalDescription: r.externaldescription,
              ExternalIdentifier: r.externalidentifier,
              Type: r.type,
              Color: colour(r.red, r.green, r.blue, r.alpha),
              'omero:status': r.status,
              WellSamples: samples.get(id) ?? [],
            },
            detail ? {} : { 'url:well': self },
            { 'url:plates': `${self}plates/` },
          );
          break;
        case 'rois':
          Object.assign(o, { Name: r.name, Description: r.description, shapes: shapes.get(id) ?? [] }, detail ? {} : { 'url:roi': self });
          break;
      }
      o['omero:details'] = {
        '@type': 'TBD#Details',
        owner: owners.get(Number(r.owner_id)),
        group: groups.get(Number(r.group_id)),
        permissions: flags(v, Number(r.owner_id), Number(r.group_id), Number(r.group_permissions)),
      };
      return clean(o);
    });
  }

  async function wellSamplesOf(wellIds: number[], v: Viewer, detail: boolean): Promise<Map<number, Row[]>> {
    const rows = await q(
      `SELECT ws.id, ws.well, ws.posx, ws.posxunit, ws.posy, ws.posyunit, ws.timepoint, ws.image, ws.plateacquisition
         FROM wellsample ws WHERE ws.well = ANY($1::bigint[]) ORDER BY ws.well, ws.well_index`,
      [wellIds],
    );
    const images = await fetchRows(
      'images',
      rows.map((r) => Number(r.image)),
      v,
    );
    const imageJson = new Map((await encode('images', images, v, detail)).map((i) => [i['@id'], i]));
    if (!detail) for (const i of imageJson.values()) delete i.Pixels; // the list loads no Pixels
    for (const i of imageJson.values()) {
      delete i['url:datasets'];
      delete i['url:rois'];
      i['url:image'] = `${base}/api/v0/m/images/${i['@id']}/`;
    }
    const acqs = await fetchRows('plateacquisitions', rows.map((r) => Number(r.plateacquisition)).filter(Boolean), v);
    const acqJson = new Map((await encode('plateacquisitions', acqs, v, true)).map((a) => [a['@id'], a]));
    const map = new Map<number, Row[]>();
    for (const r of rows) {
      const list = map.get(Number(r.well)) ?? [];
      list.push(
        clean({
          '@id': Number(r.id),
          '@type': `${SCHEMA}#WellSample`,
          PositionX: unit(r.posx, r.posxunit),
          PositionY: unit(r.posy, r.posyunit),
          Timepoint: millis(r.timepoint),
          Image: imageJson.get(Number(r.image)),
          PlateAcquisition: acqJson.get(Number(r.plateacquisition)),
        }),
      );
      map.set(Number(r.well), list);
    }
    return map;
  }

  async function shapesOf(roiIds: number[]): Promise<Map<number, Row[]>> {
    const rows = await q('SELECT * FROM shape WHERE roi = ANY($1::bigint[]) ORDER BY roi, roi_index', [roiIds]);
    const types: Record<string, string> = {
      rect: 'Rectangle',
      ellipse: 'Ellipse',
      point: 'Point',
      line: 'Line',
      polyline: 'Polyline',
      polygon: 'Polygon',
      text: 'Label',
      label: 'Label',
      mask: 'Mask',
    };
    const map = new Map<number, Row[]>();
    for (const s of rows) {
      const type = types[String(s.discriminator)] ?? 'Shape';
      const o: Row = {
        '@id': Number(s.id),
        '@type': `${SCHEMA}#${type}`,
        TheZ: num(s.thez),
        TheT: num(s.thet),
        TheC: num(s.thec),
        FillColor: num(s.fillcolor),
        StrokeColor: num(s.strokecolor),
        StrokeWidth: unit(s.strokewidth, s.strokewidthunit),
        Locked: s.locked,
        Text: s.textvalue,
      };
      if (type === 'Rectangle' || type === 'Mask') Object.assign(o, { X: num(s.x), Y: num(s.y), Width: num(s.width), Height: num(s.height) });
      if (type === 'Ellipse') Object.assign(o, { X: num(s.x), Y: num(s.y), RadiusX: num(s.radiusx), RadiusY: num(s.radiusy) });
      if (type === 'Point' || type === 'Label') Object.assign(o, { X: num(s.x), Y: num(s.y) });
      if (type === 'Line') Object.assign(o, { X1: num(s.x1), Y1: num(s.y1), X2: num(s.x2), Y2: num(s.y2), MarkerStart: s.markerstart, MarkerEnd: s.markerend });
      if (type === 'Polyline') Object.assign(o, { Points: s.points, MarkerStart: s.markerstart, MarkerEnd: s.markerend });
      if (type === 'Polygon') Object.assign(o, { Points: s.points });
      const list = map.get(Number(s.roi)) ?? [];
      list.push(clean(o));
      map.set(Number(s.roi), list);
    }
    return map;
  }

  function selectSql(kind: string, v: Viewer): string {
    const k = KINDS[kind];
    return `SELECT o.id, o.owner_id, o.group_id, g.permissions AS group_permissions, ${k.columns}
      FROM ${k.table} o JOIN experimentergroup g ON g.id = o.group_id WHERE ${readable(v)}`;
  }

  async function fetchRows(kind: string, ids: number[], v: Viewer): Promise<Row[]> {
    if (ids.length === 0) return [];
    return q(`${selectSql(kind, v)} AND o.id = ANY($2::bigint[])`, [v.userId, ids]);
  }

  // ---- handlers --------------------------------------------------------------------------

  function listMeta(query: URLSearchParams) {
    let offset = intParam(query, 'offset', 0)!;
    if (offset < 0) offset = 0;
    let limit = intParam(query, 'limit', defaultLimit)!;
    if (limit < 0) limit = defaultLimit;
    limit = Math.min(limit, maxLimit);
    return { offset, limit };
  }

  async function listObjects(kind: string, query: URLSearchParams, v: Viewer, forced?: [string, number]): Promise<Row> {
    const { offset, limit } = listMeta(query);
    const where: string[] = [];
    const params: unknown[] = [v.userId];
    const add = (value: unknown) => `$${params.push(value)}`;
    const owner = intParam(query, 'owner', null);
    if (owner !== null && owner !== -1) where.push(`o.owner_id = ${add(owner)}`);
    const group = intParam(query, 'group', null);
    if (group !== null && group !== -1) where.push(`o.group_id = ${add(group)}`);
    for (const [name, sql] of Object.entries(FILTERS[kind] ?? {})) {
      const value = forced?.[0] === name ? forced[1] : intParam(query, name, null);
      if (value !== null) where.push(sql(add(value)));
    }
    if (query.get('orphaned') === 'true' && ORPHANED[kind]) where.push(ORPHANED[kind]);
    const base = `${selectSql(kind, v)}${where.length ? ` AND ${where.join(' AND ')}` : ''}`;
    const total = await q(`SELECT count(*)::int AS n FROM (${base}) t`, params);
    const rows = limit === 0 ? [] : await q(`${base} ORDER BY ${KINDS[kind].order} OFFSET ${add(offset)} LIMIT ${add(limit)}`, params);
    return { data: await encode(kind, rows, v, false), meta: { offset, limit, maxLimit, totalCount: Number(total[0].n) } };
  }

  async function getObject(kind: string, id: number, v: Viewer): Promise<Row> {
    const rows = await fetchRows(kind, [id], v);
    if (rows.length === 0) throw new HttpFailure(404, `${KINDS[kind].type === 'ROI' ? 'ROI' : KINDS[kind].type} ${id} not found`);
    const [o] = await encode(kind, rows, v, true);
    if (kind === 'plates' || kind === 'plateacquisitions') {
      const idx = await q(
        `SELECT min(ws.well_index) AS lo, max(ws.well_index) AS hi FROM wellsample ws JOIN well w ON w.id = ws.well
          WHERE ${kind === 'plates' ? 'w.plate = $1' : 'ws.plateacquisition = $1'}`,
        [id],
      );
      const lo = idx[0].lo,
        hi = idx[0].hi;
      o['omero:wellsampleIndex'] = lo === null ? [] : [Number(lo), Number(hi)];
      o['url:wellsampleindex_wells'] =
        lo === null
          ? []
          : Array.from({ length: Number(hi) - Number(lo) + 1 }, (_, i) => `${base}/api/v0/m/${kind}/${id}/wellsampleindex/${Number(lo) + i}/wells/`);
    }
    return { data: o };
  }

  async function people(kind: 'experimenters' | 'experimentergroups', query: URLSearchParams, id: number | null, forced?: [string, number]): Promise<Row> {
    const isUser = kind === 'experimenters';
    const params: unknown[] = [];
    const where: string[] = [];
    if (id !== null) where.push(`x.id = $${params.push(id)}`);
    const filterName = isUser ? 'experimentergroup' : 'experimenter';
    const filter = forced?.[0] === filterName ? forced[1] : intParam(query, filterName, null);
    if (filter !== null) {
      where.push(
        isUser
          ? `x.id IN (SELECT child FROM groupexperimentermap WHERE parent = $${params.push(filter)})`
          : `x.id IN (SELECT parent FROM groupexperimentermap WHERE child = $${params.push(filter)})`,
      );
    }
    const sql = `SELECT x.id FROM ${isUser ? 'experimenter' : 'experimentergroup'} x ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
      ORDER BY ${isUser ? 'lower(x.lastname), lower(x.firstname)' : 'lower(x.name)'}, x.id`;
    const ids = (await q(sql, params)).map((r) => Number(r.id));
    const encodeAll = async (list: number[]) => {
      const map = isUser ? await experimenterJson(list) : await groupJson(list);
      return list.map((i) => {
        const o = { ...map.get(i)! };
        const self = `${base}/api/v0/m/${kind}/${i}/`;
        if (id === null) o[isUser ? 'url:experimenter' : 'url:experimentergroup'] = self;
        o[isUser ? 'url:experimentergroups' : 'url:experimenters'] = `${self}${isUser ? 'experimentergroups' : 'experimenters'}/`;
        return o;
      });
    };
    if (id !== null) {
      if (ids.length === 0) throw new HttpFailure(404, `${isUser ? 'Experimenter' : 'ExperimenterGroup'} ${id} not found`);
      return { data: (await encodeAll(ids))[0] };
    }
    const { offset, limit } = listMeta(query);
    return { data: await encodeAll(ids.slice(offset, offset + limit)), meta: { offset, limit, maxLimit, totalCount: ids.length } };
  }

  /** /webclient/api/annotations/ (A.8). */
  async function annotations(query: URLSearchParams, v: Viewer): Promise<Row> {
    const objectTypes: Record<string, { link: string; cls: string; name: string }> = {
      image: { link: 'imageannotationlink', cls: 'ImageI', name: 'p.name' },
      dataset: { link: 'datasetannotationlink', cls: 'DatasetI', name: 'p.name' },
      project: { link: 'projectannotationlink', cls: 'ProjectI', name: 'p.name' },
      screen: { link: 'screenannotationlink', cls: 'ScreenI', name: 'p.name' },
      plate: { link: 'plateannotationlink', cls: 'PlateI', name: 'p.name' },
      well: { link: 'wellannotationlink', cls: 'WellI', name: `chr(65 + p."row") || (p."column" + 1)::text` },
      acquisition: { link: 'plateacquisitionannotationlink', cls: 'PlateAcquisitionI', name: `'Run ' || p.id` },
    };
    const tables: Record<string, string> = {
      image: 'image',
      dataset: 'dataset',
      project: 'project',
      screen: 'screen',
      plate: 'plate',
      well: 'well',
      acquisition: 'plateacquisition',
    };
    const discriminators: Record<string, string[]> = {
      map: ['/map/'],
      tag: ['/basic/text/tag/'],
      comment: ['/basic/text/comment/'],
      file: ['/type/OriginalFile/'],
    };
    const classes: Record<string, string> = {
      '/map/': 'MapAnnotationI',
      '/basic/text/tag/': 'TagAnnotationI',
      '/basic/text/comment/': 'CommentAnnotationI',
      '/type/OriginalFile/': 'FileAnnotationI',
      '/basic/num/long/': 'LongAnnotationI',
      '/basic/num/double/': 'DoubleAnnotationI',
      '/basic/bool/': 'BooleanAnnotationI',
      '/basic/time/': 'TimestampAnnotationI',
      '/basic/term/': 'TermAnnotationI',
      '/basic/text/xml/': 'XmlAnnotationI',
    };
    const type = query.get('type');
    const page = Math.max(1, intParam(query, 'page', 1)!);
    const limit = intParam(query, 'limit', 20000)!;
    const parts: string[] = [];
    const params: unknown[] = [v.userId];
    const add = (value: unknown) => `$${params.push(value)}`;
    for (const [param, t] of Object.entries(objectTypes)) {
      const ids = query.getAll(param).map((raw) => {
        if (!/^\d+$/.test(raw)) throw new HttpFailure(400, `invalid literal for int() with base 10: '${raw}'`);
        return Number(raw);
      });
      if (ids.length === 0) continue;
      parts.push(`SELECT a.id, a.ns, a.name, a.description, a.owner_id, a.group_id, ag.permissions AS group_permissions, a.discriminator,
          a.textvalue, a.longvalue, a.doublevalue, a.boolvalue, a.termvalue, a.timevalue, a."file", ce.time AS created,
          l.id AS link_id, l.owner_id AS link_owner, l.group_id AS link_group, lg.permissions AS link_group_permissions, lce.time AS link_created,
          p.id AS parent_id, '${t.cls}' AS parent_class, ${t.name} AS parent_name
        FROM ${t.link} l JOIN annotation a ON a.id = l.child JOIN ${tables[param]} p ON p.id = l.parent
        JOIN experimentergroup ag ON ag.id = a.group_id JOIN experimentergroup lg ON lg.id = l.group_id
        JOIN event ce ON ce.id = a.creation_id JOIN event lce ON lce.id = l.creation_id
        WHERE l.parent = ANY(${add(ids)}::bigint[]) AND ${readable(v, 'l')} AND ${readable(v, 'a')} AND ${readable(v, 'p')}
          ${type && discriminators[type] ? `AND a.discriminator = ANY(${add(discriminators[type])}::text[])` : ''}
          ${type === 'custom' ? `AND a.discriminator <> ALL(${add(Object.values(discriminators).flat())}::text[])` : ''}
          ${query.get('ns') ? `AND a.ns = ${add(query.get('ns'))}` : ''}`);
    }
    if (parts.length === 0) return { annotations: [], experimenters: [] };
    const rows = await q(`${parts.join(' UNION ALL ')} ORDER BY ns NULLS FIRST, id, link_id OFFSET ${add((page - 1) * limit)} LIMIT ${add(limit)}`, params);
    const annIds = rows.map((r) => Number(r.id));
    const values = await q('SELECT annotation_id, name, value FROM annotation_mapvalue WHERE annotation_id = ANY($1::bigint[]) ORDER BY annotation_id, index', [
      annIds,
    ]);
    const files = await q('SELECT id, name, "size", path, mimetype FROM originalfile WHERE id = ANY($1::bigint[])', [
      rows.map((r) => r.file).filter((f) => f !== null),
    ]);
    const fileById = new Map(files.map((f) => [Number(f.id), f]));
    const iso = (d: unknown) => (d instanceof Date ? d : new Date(`${String(d).replace(' ', 'T')}Z`)).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const perms = (ownerId: number, groupId: number, gp: number) => {
      const f = flags(v, ownerId, groupId, gp);
      return { canDelete: f.canDelete, canAnnotate: f.canAnnotate, canLink: f.canLink, canEdit: f.canEdit };
    };
    const out = rows.map((r) => {
      const a: Row = {
        id: Number(r.id),
        ns: r.ns,
        name: r.name,
        description: r.description,
        owner: { id: Number(r.owner_id) },
        date: iso(r.created),
        permissions: perms(Number(r.owner_id), Number(r.group_id), Number(r.group_permissions)),
        class: classes[String(r.discriminator)] ?? 'AnnotationI',
        link: {
          id: Number(r.link_id),
          owner: { id: Number(r.link_owner) },
          date: iso(r.link_created),
          permissions: perms(Number(r.link_owner), Number(r.link_group), Number(r.link_group_permissions)),
          parent: { id: Number(r.parent_id), class: r.parent_class, name: r.parent_name },
        },
      };
      if (r.discriminator === '/map/') a.values = values.filter((x) => Number(x.annotation_id) === a.id).map((x) => [x.name, x.value]);
      else if (r.discriminator === '/type/OriginalFile/') {
        const f = fileById.get(Number(r.file));
        if (f) a.file = { id: Number(f.id), name: f.name, size: num(f.size), path: f.path, mimetype: f.mimetype };
        a.permissions.canDownload = true;
      } else {
        if (r.textvalue !== null) a.textValue = r.textvalue;
        if (r.longvalue !== null) a.longValue = Number(r.longvalue);
        if (r.doublevalue !== null) a.doubleValue = Number(r.doublevalue);
        if (r.boolvalue !== null) a.boolValue = r.boolvalue;
        if (r.termvalue !== null) a.termValue = r.termvalue;
        if (r.timevalue !== null) a.timeValue = iso(r.timevalue);
      }
      return a;
    });
    const ownerIds = [...new Set(out.flatMap((a) => [a.owner.id, a.link.owner.id]))];
    const exps = await q('SELECT id, omename, firstname, lastname FROM experimenter WHERE id = ANY($1::bigint[]) ORDER BY id', [ownerIds]);
    return { annotations: out, experimenters: exps.map((e) => ({ id: Number(e.id), omeName: e.omename, firstName: e.firstname, lastName: e.lastname })) };
  }

  /**
   * /webclient/api/paths_to_object/?image=<id> (A.8): the ways to reach an image in the tree,
   * each a list of {type, id} from its owner down: through projects/datasets, through
   * screens/plates/runs/wells, or as an orphan. Only `image` is served here.
   */
  async function pathsToObject(query: URLSearchParams, v: Viewer): Promise<Row> {
    const imageId = intParam(query, 'image', null);
    if (imageId === null) return { paths: [] };
    const image = await fetchRows('images', [imageId], v);
    if (image.length === 0) return { paths: [] };
    const owner = { type: 'experimenter', id: Number(image[0].owner_id) };
    const paths: Row[][] = [];
    const viaDatasets = await q(
      `SELECT d.id AS dataset, pl.parent AS project FROM datasetimagelink l JOIN dataset d ON d.id = l.parent
         LEFT JOIN projectdatasetlink pl ON pl.child = d.id
        WHERE l.child = $2 AND ${readable(v, 'd')} ORDER BY d.id, pl.parent`,
      [v.userId, imageId],
    );
    for (const r of viaDatasets) {
      paths.push([
        owner,
        ...(r.project === null ? [] : [{ type: 'project', id: Number(r.project) }]),
        { type: 'dataset', id: Number(r.dataset) },
        { type: 'image', id: imageId },
      ]);
    }
    const viaWells = await q(
      `SELECT w.id AS well, w.plate, ws.plateacquisition, sl.parent AS screen FROM wellsample ws JOIN well w ON w.id = ws.well
         LEFT JOIN screenplatelink sl ON sl.child = w.plate
        WHERE ws.image = $2 AND ${readable(v, 'w')} ORDER BY w.id, sl.parent`,
      [v.userId, imageId],
    );
    for (const r of viaWells) {
      paths.push([
        owner,
        ...(r.screen === null ? [] : [{ type: 'screen', id: Number(r.screen) }]),
        { type: 'plate', id: Number(r.plate) },
        ...(r.plateacquisition === null ? [] : [{ type: 'acquisition', id: Number(r.plateacquisition) }]),
        { type: 'well', id: Number(r.well) },
        { type: 'image', id: imageId },
      ]);
    }
    if (paths.length === 0) paths.push([owner, { type: 'image', id: imageId }]);
    return { paths };
  }

  // ---- authentication --------------------------------------------------------------------

  function csrfOk(req: IncomingMessage, cookies: Map<string, string>, form: Record<string, unknown>): string | null {
    const cookie = cookies.get('csrftoken');
    if (!cookie) return 'CSRF cookie not set.';
    const given = (req.headers['x-csrftoken'] as string | undefined) ?? (typeof form.csrfmiddlewaretoken === 'string' ? form.csrfmiddlewaretoken : undefined);
    if (!given) return 'CSRF token missing.';
    if (given !== cookie) return 'CSRF token incorrect.';
    return null;
  }

  async function parseForm(req: IncomingMessage): Promise<Record<string, unknown>> {
    const text = await readBody(req);
    if (!text) return {};
    if (String(req.headers['content-type'] ?? '').includes('application/json')) {
      try {
        const parsed = JSON.parse(text);
        return parsed && typeof parsed === 'object' ? parsed : {};
      } catch {
        throw new HttpFailure(400, 'Invalid JSON');
      }
    }
    return Object.fromEntries(new URLSearchParams(text));
  }

  async function eventContext(s: WebSession): Promise<Row> {
    const user = await q('SELECT omename FROM experimenter WHERE id = $1', [s.userId]);
    const groups = await q(
      `SELECT m.parent, m.owner, g.name FROM groupexperimentermap m JOIN experimentergroup g ON g.id = m.parent
        WHERE m.child = $1 ORDER BY m.child_index`,
      [s.userId],
    );
    const first = groups[0];
    return {
      sessionId: s.omeroSessionId,
      sessionUuid: s.omeroSessionUuid,
      userId: s.userId,
      userName: user[0]?.omename,
      groupId: first ? Number(first.parent) : -1,
      groupName: first?.name,
      isAdmin: groups.some((g) => Number(g.parent) === 0),
      eventId: -1,
      eventType: 'User',
      memberOfGroups: groups.map((g) => Number(g.parent)),
      leaderOfGroups: groups.filter((g) => g.owner).map((g) => Number(g.parent)),
    };
  }

  async function login(req: IncomingMessage, res: ServerResponse, cookies: Map<string, string>): Promise<Row> {
    const form = await parseForm(req);
    const csrf = csrfOk(req, cookies, form);
    if (csrf) throw new HttpFailure(403, `CSRF Failed: ${csrf}`);
    const existing = webSessions.get(cookies.get('sessionid') ?? '');
    const username = typeof form.username === 'string' ? form.username : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const server = form.server === undefined || form.server === null ? '' : String(form.server);
    if (existing && !username && !password && !server && (await viewerOf(existing))) {
      return { success: true, eventContext: await eventContext(existing) };
    }
    const errors: string[] = [];
    if (!username) errors.push('Username: This field is required.');
    else if (username === 'guest') errors.push('Username: Guest account is not supported.');
    if (!password) errors.push('Password: This field is required.');
    if (!server) errors.push('Server: This field is required.');
    else if (server !== '1') errors.push('Server: Select a valid choice. That choice is not one of the available choices.');
    if (errors.length) throw new HttpFailure(403, errors.join(' '));

    let session: WebSession | null = null;
    if (username === password) {
      const rows = await q(
        `SELECT id, uuid, owner FROM session WHERE uuid = $1 AND closed IS NULL
            AND (timetolive = 0 OR started + timetolive * interval '1 millisecond' > now() AT TIME ZONE 'UTC')`,
        [username],
      );
      if (rows[0]) session = { omeroSessionId: Number(rows[0].id), omeroSessionUuid: rows[0].uuid, owned: false, userId: Number(rows[0].owner) };
    }
    if (!session && passwords[username] !== undefined && passwords[username] === password) {
      const user = await q('SELECT id FROM experimenter WHERE omename = $1', [username]);
      if (user[0]) {
        const uuid = randomUUID();
        const inserted = await q(
          `INSERT INTO session (id, permissions, uuid, defaulteventtype, started, closed, timetolive, timetoidle, useragent, userip, node, owner, version)
           VALUES (ome_nextval('seq_session'), -52, $1, 'User', now() AT TIME ZONE 'UTC', NULL, 0, 600000, 'OMERO.web', '127.0.0.1', 0, $2, 0)
           RETURNING id`,
          [uuid, Number(user[0].id)],
        );
        session = { omeroSessionId: Number(inserted[0].id), omeroSessionUuid: uuid, owned: true, userId: Number(user[0].id) };
      }
    }
    if (!session) throw new HttpFailure(403, BAD_CREDENTIALS);
    const sid = randomBytes(16).toString('hex');
    webSessions.set(sid, session);
    res.setHeader('set-cookie', `sessionid=${sid}; HttpOnly; Max-Age=86400; Path=/; SameSite=Lax`);
    return { success: true, eventContext: await eventContext(session) };
  }

  // ---- routing ---------------------------------------------------------------------------

  async function route(req: IncomingMessage, res: ServerResponse): Promise<{ status: number; body: unknown }> {
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    const cookies = parseCookies(req.headers.cookie);
    if (path.startsWith('/api/')) res.setHeader('X-OMERO-ApiVersion', API_VERSION);

    if (path === '/api/') return { status: 200, body: { data: [{ version: '0', 'url:base': `${base}/api/v0/` }] } };
    if (path === '/api/v0/') {
      const m = (p: string) => `${base}/api/v0/${p}`;
      return {
        status: 200,
        body: {
          'url:experimenters': m('m/experimenters/'),
          'url:experimentergroups': m('m/experimentergroups/'),
          'url:projects': m('m/projects/'),
          'url:datasets': m('m/datasets/'),
          'url:images': m('m/images/'),
          'url:screens': m('m/screens/'),
          'url:plates': m('m/plates/'),
          'url:rois': m('m/rois/'),
          'url:token': m('token/'),
          'url:servers': m('servers/'),
          'url:login': m('login/'),
          'url:save': m('m/save/'),
          'url:schema': SCHEMA,
        },
      };
    }
    if (path === '/api/v0/servers/') return { status: 200, body: { data: [{ id: 1, host: '127.0.0.1', port: 4064, server: 'omero' }] } };
    if (path === '/api/v0/token/') {
      const token = cookies.get('csrftoken') ?? randomBytes(24).toString('hex');
      res.setHeader('set-cookie', `csrftoken=${token}; Max-Age=31449600; Path=/; SameSite=Lax`);
      return { status: 200, body: { data: token } };
    }
    if (path === '/api/v0/login/') {
      if (req.method !== 'POST') throw new HttpFailure(405, 'POST only with username, password, server and csrftoken');
      return { status: 200, body: await login(req, res, cookies) };
    }
    if (path === '/webclient/logout/') {
      if (req.method !== 'POST') throw new HttpFailure(405, 'POST only');
      const form = await parseForm(req);
      const csrf = csrfOk(req, cookies, form);
      if (csrf) throw new HttpFailure(403, `CSRF Failed: ${csrf}`);
      const sid = cookies.get('sessionid') ?? '';
      const s = webSessions.get(sid);
      webSessions.delete(sid);
      if (s?.owned) await q(`UPDATE session SET closed = now() AT TIME ZONE 'UTC' WHERE id = $1 AND closed IS NULL`, [s.omeroSessionId]);
      res.setHeader('set-cookie', 'sessionid=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/');
      return { status: 200, body: { success: true } };
    }

    const launch = /^\/omero_biomero\/api\/analyzer\/workflows\/([^/]+)\/jobs\/$/.exec(path);
    if (launch) {
      // Django's order: the CSRF middleware, then login_required, then require_http_methods(["POST"]).
      const text = req.method === 'POST' ? await readBody(req) : '';
      if (req.method === 'POST') {
        const csrf = csrfOk(req, cookies, {});
        if (csrf) throw new HttpFailure(403, `CSRF Failed: ${csrf}`);
      }
      const ws = webSessions.get(cookies.get('sessionid') ?? '');
      const viewer = ws ? await viewerOf(ws) : null;
      if (!viewer) throw new HttpFailure(403, 'Not logged in');
      if (req.method !== 'POST') return { status: 405, body: new TextResponse(405, '') };
      const answer = runWorkflowScript(decodeURIComponent(launch[1]), text, viewer, options.biomeroScripts ?? {}, workflowJobs);
      ws!.activeGroup = viewer.activeGroup;
      return { status: answer.status, body: answer.body };
    }

    // Everything else needs a logged-in session.
    const s = webSessions.get(cookies.get('sessionid') ?? '');
    const v = s ? await viewerOf(s) : null;
    if (!v) throw new HttpFailure(403, 'Not logged in');
    if (path.startsWith('/omero_forms/')) return { status: 200, body: await forms(path, req.method ?? 'GET', v) };
    if (path === '/webclient/active_group/') {
      // webclient's change_active_group: switch_active_group(request) from ?active_group=, then a redirect
      const group = Number(url.searchParams.get('active_group'));
      if (!Number.isSafeInteger(group)) throw new HttpFailure(500, 'invalid literal for int()');
      s!.activeGroup = group;
      res.setHeader('location', '/webclient/');
      return { status: 302, body: new TextResponse(302, '') };
    }
    if (req.method !== 'GET') throw new HttpFailure(405, 'Method not supported');

    if (path === '/webclient/api/annotations/') return { status: 200, body: await annotations(url.searchParams, v) };
    if (path === '/webclient/api/paths_to_object/') return { status: 200, body: await pathsToObject(url.searchParams, v) };

    const m = /^\/api\/v0\/m\/([a-z]+)\/(?:(\d+)\/(?:([a-z]+)\/)?)?$/.exec(path);
    if (!m) throw new HttpFailure(404, 'Not found');
    const [, kind, idText, child] = m;
    const id = idText === undefined ? null : Number(idText);
    if (kind === 'experimenters' || kind === 'experimentergroups') {
      if (child) {
        const param = NESTED[kind]?.[child];
        if (!param) throw new HttpFailure(404, 'Not found');
        return { status: 200, body: await people(child as 'experimenters' | 'experimentergroups', url.searchParams, null, [param, id!]) };
      }
      return { status: 200, body: await people(kind, url.searchParams, id) };
    }
    if (!KINDS[kind]) throw new HttpFailure(404, 'Not found');
    if (child) {
      const param = NESTED[kind]?.[child];
      if (!param || !KINDS[child]) throw new HttpFailure(404, 'Not found');
      return { status: 200, body: await listObjects(child, url.searchParams, v, [param, id!]) };
    }
    if (id !== null) return { status: 200, body: await getObject(kind, id, v) };
    if (kind === 'plateacquisitions') throw new HttpFailure(404, 'Not found'); // no top-level list
    return { status: 200, body: await listObjects(kind, url.searchParams, v) };
  }

  const forms = formsRoutes(q, options.formsVersion ?? '2.1');
  const server = createServer((req, res) => {
    requests++;
    route(req, res).then(
      ({ status, body }) => {
        if (body instanceof TextResponse) return void res.writeHead(body.status, { 'content-type': 'text/html; charset=utf-8' }).end(body.text);
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      },
      (err: unknown) => {
        const status = err instanceof HttpFailure ? err.status : 500;
        const message = err instanceof Error ? err.message : String(err);
        const body: Row = { message };
        if (status === 500) body.stacktrace = err instanceof Error ? String(err.stack) : '';
        if (!res.headersSent) res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    get requests() {
      return requests;
    },
    workflowJobs,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await pool.end();
    },
  };
}
