/**
 * The OMERO half of the demo world: users, groups, sessions, events, projects/datasets/images
 * (with pixels, channels, filesets), a screen with a plate, a ROI and some annotations.
 * Annotations written by BIOMERO and OMERO.forms live in imports.ts, workflows.ts and forms.ts.
 */
import { DEMO, DEMO_GROUPS, DEMO_MANAGED_REPO, DEMO_SESSIONS, DEMO_USERS } from './world';
import { EVENTS, type DemoEvent, details, eventRows, link, mapAnnotation } from './omero-rows';
import { type Queryable, type Row, fakeSha1, insertRows } from './sql';

// Enumeration ids as OMERO's footer creates them (database/omero.sql).
const PIXELSTYPE_UINT16 = 6;
const DIMENSIONORDER_XYZCT = 1;
const CHECKSUM_SHA1 = 6;
// `format` starts empty in OMERO; the server adds reader names on first import.
const FORMATS = [
  { id: 1, permissions: -52, value: 'TIFF' },
  { id: 2, permissions: -52, value: 'OMETiff' },
];
const FORMAT_TIFF = 1;
const FORMAT_OMETIFF = 2;

export async function seedOmeroCore(q: Queryable): Promise<void> {
  await seedPeople(q);
  await insertRows(q, 'event', eventRows());
  await insertRows(q, 'format', FORMATS);
  await seedContainers(q);
  await seedImages(q);
  await seedScreen(q);
  await seedRoi(q);
  await seedUserAnnotations(q);
}

// ---------------------------------------------------------------------------------------------
// Users, groups, memberships, sessions

async function seedPeople(q: Queryable): Promise<void> {
  const demoGroups = [DEMO_GROUPS.labPrivate, DEMO_GROUPS.labReadOnly, DEMO_GROUPS.labAnnotate, DEMO_GROUPS.labReadWrite];
  await insertRows(
    q,
    'experimentergroup',
    demoGroups.map((g) => ({
      id: g.id,
      permissions: g.permissions,
      version: 0,
      name: g.name,
      ldap: false,
      description: `Demo group with ${g.perm} permissions`,
    })),
  );

  const users = Object.values(DEMO_USERS);
  await insertRows(
    q,
    'experimenter',
    users.map((u) => ({
      id: u.id,
      permissions: 0,
      version: 0,
      omename: u.omeName,
      firstname: u.firstName,
      lastname: u.lastName,
      email: u.email,
      institution: 'Demo Imaging Facility',
      ldap: false,
    })),
  );

  // Memberships in child_index order; ids continue after the three bootstrap rows (0-2).
  const memberships: Row[] = [];
  let mapId = 3;
  for (const u of users) {
    u.memberOf.forEach((groupId, childIndex) => {
      memberships.push({
        id: mapId++,
        permissions: -52,
        version: 0,
        parent: groupId,
        child: u.id,
        child_index: childIndex,
        owner: (u.leaderOf as readonly number[]).includes(groupId),
      });
    });
  }
  await insertRows(q, 'groupexperimentermap', memberships);

  const open = users.map((u) => ({
    id: u.sessionId,
    permissions: -52,
    uuid: u.sessionUuid,
    defaulteventtype: 'User',
    started: '2026-03-01 08:00:00',
    closed: null,
    // timetolive 0 = no absolute expiry; timetoidle 0 so idle rules never end demo sessions.
    timetolive: 0,
    timetoidle: 0,
    useragent: u.omeName === 'formmaster' ? 'OMERO.web' : 'OMERO.py',
    userip: '127.0.0.1',
    node: 0,
    owner: u.id,
    version: 0,
  }));
  const closed = {
    id: DEMO_SESSIONS.aliceClosed.id,
    permissions: -52,
    uuid: DEMO_SESSIONS.aliceClosed.uuid,
    defaulteventtype: 'User',
    started: '2026-02-20 08:00:00',
    closed: '2026-02-20 17:00:00',
    timetolive: 0,
    timetoidle: 0,
    useragent: 'OMERO.web',
    userip: '127.0.0.1',
    node: 0,
    owner: DEMO_SESSIONS.aliceClosed.owner,
    version: 0,
  };
  const expired = {
    id: DEMO_SESSIONS.aliceExpired.id,
    permissions: -52,
    uuid: DEMO_SESSIONS.aliceExpired.uuid,
    defaulteventtype: 'User',
    started: '2025-01-01 08:00:00',
    closed: null,
    timetolive: 60000,
    timetoidle: 0,
    useragent: 'OMERO.py',
    userip: '127.0.0.1',
    node: 0,
    owner: DEMO_SESSIONS.aliceExpired.owner,
    version: 0,
  };
  await insertRows(q, 'session', [...open, closed, expired]);
}

// ---------------------------------------------------------------------------------------------
// Projects and datasets

async function seedContainers(q: Queryable): Promise<void> {
  const { projects: P, datasets: D } = DEMO;
  await insertRows(q, 'project', [
    { id: P.nucleiStudy, name: 'Nuclei study', description: 'Nuclear segmentation of HeLa cells', ...details(EVENTS.aliceProject) },
    { id: P.bobMito, name: 'Mitochondria dynamics', description: 'Live imaging of mitochondrial networks', ...details(EVENTS.bobProject) },
  ]);
  await insertRows(q, 'dataset', [
    { id: D.aliceRaw, name: 'Raw acquisitions', description: 'Confocal stacks, DAPI + GFP', ...details(EVENTS.aliceProject) },
    { id: D.aliceSegmentations, name: 'Segmentations', description: 'cellpose nuclei masks', ...details(EVENTS.aliceProject) },
    { id: D.bobLive, name: 'Live imaging day 1', description: null, ...details(EVENTS.bobProject) },
    { id: D.bobReadOnly, name: 'Reference beads', description: 'Calibration images', ...details(EVENTS.bobReadOnly) },
  ]);
  await insertRows(q, 'projectdatasetlink', [
    link(1, P.nucleiStudy, D.aliceRaw, EVENTS.aliceProject),
    link(2, P.nucleiStudy, D.aliceSegmentations, EVENTS.aliceProject),
    link(3, P.bobMito, D.bobLive, EVENTS.bobProject),
  ]);
}

// ---------------------------------------------------------------------------------------------
// Images with pixels, channels and filesets

interface ChannelSpec {
  name: string;
  emission?: number;
  excitation?: number;
  rgba: readonly [number, number, number, number];
}

const DAPI: ChannelSpec = { name: 'DAPI', emission: 461, excitation: 405, rgba: [0, 0, 255, 255] };
const GFP: ChannelSpec = { name: 'GFP', emission: 510, excitation: 488, rgba: [0, 255, 0, 255] };
const MASK: ChannelSpec = { name: 'mask', rgba: [255, 255, 255, 255] };

interface ImageSpec {
  id: number;
  name: string;
  event: DemoEvent;
  dataset?: number;
  channels: ChannelSpec[];
  size: { x: number; y: number; z: number; t: number };
  format: number;
  acquired?: string;
  /** fileset id; images of one multi-image file share it */
  fileset: number;
  series?: number;
}

interface FilesetSpec {
  id: number;
  event: DemoEvent;
  /** server-side directory in the ManagedRepository */
  templatePrefix: string;
  /** client paths as the importer saw them */
  clientPaths: string[];
}

const I = DEMO.images;
const D = DEMO.datasets;
const RAW = { x: 1024, y: 1024, z: 5, t: 1 };

const IMAGES: ImageSpec[] = [
  {
    id: I.aliceRaw1,
    name: 'img_001.tif',
    event: EVENTS.importCompleted,
    dataset: D.aliceRaw,
    channels: [DAPI, GFP],
    size: RAW,
    format: FORMAT_TIFF,
    acquired: '2026-02-27 14:02:11',
    fileset: 1,
  },
  {
    id: I.aliceRaw2,
    name: 'img_002.tif',
    event: EVENTS.importCompleted,
    dataset: D.aliceRaw,
    channels: [DAPI, GFP],
    size: RAW,
    format: FORMAT_TIFF,
    acquired: '2026-02-27 14:05:43',
    fileset: 2,
  },
  {
    id: I.aliceRaw3,
    name: 'experiment2_pos1.ome.tiff',
    event: EVENTS.importPreprocessed,
    dataset: D.aliceRaw,
    channels: [DAPI, GFP],
    size: RAW,
    format: FORMAT_OMETIFF,
    acquired: '2026-02-28 10:15:00',
    fileset: 3,
  },
  {
    id: I.aliceRaw4,
    name: 'experiment2_pos2.ome.tiff',
    event: EVENTS.importPreprocessed,
    dataset: D.aliceRaw,
    channels: [DAPI, GFP],
    size: RAW,
    format: FORMAT_OMETIFF,
    acquired: '2026-02-28 10:16:30',
    fileset: 4,
  },
  {
    id: I.aliceSeg1,
    name: 'img_001_cp_masks.tif',
    event: EVENTS.workflowResults,
    dataset: D.aliceSegmentations,
    channels: [MASK],
    size: { x: 1024, y: 1024, z: 1, t: 1 },
    format: FORMAT_TIFF,
    fileset: 5,
  },
  {
    id: I.aliceSeg2,
    name: 'img_002_cp_masks.tif',
    event: EVENTS.workflowResults,
    dataset: D.aliceSegmentations,
    channels: [MASK],
    size: { x: 1024, y: 1024, z: 1, t: 1 },
    format: FORMAT_TIFF,
    fileset: 6,
  },
  {
    id: I.bobLive1,
    name: 'mito_t01.tif',
    event: EVENTS.bobImport,
    dataset: D.bobLive,
    channels: [GFP],
    size: { x: 512, y: 512, z: 1, t: 20 },
    format: FORMAT_TIFF,
    acquired: '2026-02-25 16:00:00',
    fileset: 7,
  },
  {
    id: I.bobLive2,
    name: 'mito_t02.tif',
    event: EVENTS.bobImport,
    dataset: D.bobLive,
    channels: [GFP],
    size: { x: 512, y: 512, z: 1, t: 20 },
    format: FORMAT_TIFF,
    acquired: '2026-02-25 16:30:00',
    fileset: 8,
  },
  {
    id: I.bobReadOnly,
    name: 'reference_beads.tif',
    event: EVENTS.bobReadOnly,
    dataset: D.bobReadOnly,
    channels: [DAPI, GFP],
    size: { x: 512, y: 512, z: 10, t: 1 },
    format: FORMAT_TIFF,
    acquired: '2026-02-20 09:00:00',
    fileset: 9,
  },
  ...(['A1', 'A2', 'A3', 'B1', 'B2', 'B3'] as const).map((well, i) => ({
    id: I[`plate${well}` as const],
    name: `Plate 1 [Well ${well}, Field 1]`,
    event: EVENTS.importScreen,
    channels: [DAPI, GFP],
    size: { x: 2048, y: 2048, z: 1, t: 1 },
    format: FORMAT_OMETIFF,
    acquired: '2026-03-03 08:00:00',
    fileset: 10,
    series: i,
  })),
];

const FILESETS: FilesetSpec[] = [
  { id: 1, event: EVENTS.importCompleted, templatePrefix: 'alice_2/2026-03/02/09-00-05.113/', clientPaths: ['/data/lab-private/alice/exp1/img_001.tif'] },
  { id: 2, event: EVENTS.importCompleted, templatePrefix: 'alice_2/2026-03/02/09-00-35.402/', clientPaths: ['/data/lab-private/alice/exp1/img_002.tif'] },
  {
    id: 3,
    event: EVENTS.importPreprocessed,
    templatePrefix: 'alice_2/2026-03/02/09-33-12.871/',
    clientPaths: ['/data/lab-private/alice/exp2/.processed/experiment2_pos1.ome.tiff'],
  },
  {
    id: 4,
    event: EVENTS.importPreprocessed,
    templatePrefix: 'alice_2/2026-03/02/09-33-58.090/',
    clientPaths: ['/data/lab-private/alice/exp2/.processed/experiment2_pos2.ome.tiff'],
  },
  {
    id: 5,
    event: EVENTS.workflowResults,
    templatePrefix: 'alice_2/2026-03/05/12-39-40.551/',
    clientPaths: ['/tmp/biomero/4102/data/out/img_001_cp_masks.tif'],
  },
  {
    id: 6,
    event: EVENTS.workflowResults,
    templatePrefix: 'alice_2/2026-03/05/12-39-51.208/',
    clientPaths: ['/tmp/biomero/4102/data/out/img_002_cp_masks.tif'],
  },
  { id: 7, event: EVENTS.bobImport, templatePrefix: 'bob_3/2026-03/01/09-09-30.004/', clientPaths: ['/home/bob/microscope/mito_t01.tif'] },
  { id: 8, event: EVENTS.bobImport, templatePrefix: 'bob_3/2026-03/01/09-09-45.781/', clientPaths: ['/home/bob/microscope/mito_t02.tif'] },
  { id: 9, event: EVENTS.bobReadOnly, templatePrefix: 'bob_3/2026-03/01/09-19-02.377/', clientPaths: ['/home/bob/calibration/reference_beads.tif'] },
  {
    id: 10,
    event: EVENTS.importScreen,
    templatePrefix: 'alice_2/2026-03/03/13-55-06.640/',
    clientPaths: [
      '/data/lab-annotate/alice/drugscreen/Plate1/Plate1.companion.ome',
      ...['A1', 'A2', 'A3', 'B1', 'B2', 'B3'].map((w) => `/data/lab-annotate/alice/drugscreen/Plate1/Plate1_${w}.ome.tiff`),
    ],
  },
];

function rgbaToInt([r, g, b, a]: readonly [number, number, number, number]): number {
  // OMERO stores colours as a signed 32-bit RGBA integer.
  return (r << 24) | (g << 16) | (b << 8) | a | 0;
}

async function seedImages(q: Queryable): Promise<void> {
  // Filesets and their original files first: images point at filesets.
  const filesets: Row[] = [];
  const files: Row[] = [];
  const entries: Row[] = [];
  for (const fs of FILESETS) {
    filesets.push({ id: fs.id, templateprefix: fs.templatePrefix, ...details(fs.event) });
    fs.clientPaths.forEach((clientPath, index) => {
      const fileId = fs.id * 10 + index + 1;
      const name = clientPath.slice(clientPath.lastIndexOf('/') + 1);
      files.push({
        id: fileId,
        name,
        path: fs.templatePrefix + clientPath.slice(1, clientPath.lastIndexOf('/') + 1),
        repo: DEMO_MANAGED_REPO,
        size: 10_485_760 + fileId * 4096,
        hash: fakeSha1(clientPath),
        hasher: CHECKSUM_SHA1,
        mimetype: name.endsWith('.ome') ? 'application/xml' : 'image/tiff',
        ctime: fs.event.time,
        mtime: fs.event.time,
        atime: null,
        ...details(fs.event),
      });
      entries.push({ id: fileId, fileset: fs.id, fileset_index: index, originalfile: fileId, clientpath: clientPath, ...details(fs.event) });
    });
  }
  await insertRows(q, 'fileset', filesets);
  await insertRows(q, 'originalfile', files);
  await insertRows(q, 'filesetentry', entries);

  const images: Row[] = [];
  const pixels: Row[] = [];
  const logical: Row[] = [];
  const channels: Row[] = [];
  const dsLinks: Row[] = [];
  const eventlog: Row[] = [];
  for (const img of IMAGES) {
    images.push({
      id: img.id,
      name: img.name,
      description: null,
      acquisitiondate: img.acquired ?? null,
      archived: false,
      partial: false,
      series: img.series ?? 0,
      fileset: img.fileset,
      format: img.format,
      ...details(img.event),
    });
    pixels.push({
      id: img.id,
      image: img.id,
      image_index: 0,
      sizex: img.size.x,
      sizey: img.size.y,
      sizez: img.size.z,
      sizec: img.channels.length,
      sizet: img.size.t,
      physicalsizex: 0.65,
      physicalsizexunit: 'µm',
      physicalsizey: 0.65,
      physicalsizeyunit: 'µm',
      physicalsizez: img.size.z > 1 ? 2.0 : null,
      physicalsizezunit: img.size.z > 1 ? 'µm' : null,
      timeincrement: img.size.t > 1 ? 30 : null,
      timeincrementunit: img.size.t > 1 ? 's' : null,
      significantbits: 16,
      pixelstype: PIXELSTYPE_UINT16,
      dimensionorder: DIMENSIONORDER_XYZCT,
      sha1: fakeSha1(`pixels:${img.id}`),
      methodology: null,
      ...details(img.event),
    });
    img.channels.forEach((ch, index) => {
      const id = img.id * 10 + index + 1;
      logical.push({
        id,
        name: ch.name,
        fluor: ch.emission ? ch.name : null,
        emissionwave: ch.emission ?? null,
        emissionwaveunit: ch.emission ? 'nm' : null,
        excitationwave: ch.excitation ?? null,
        excitationwaveunit: ch.excitation ? 'nm' : null,
        samplesperpixel: 1,
        ...details(img.event),
      });
      channels.push({
        id,
        pixels: img.id,
        pixels_index: index,
        logicalchannel: id,
        red: ch.rgba[0],
        green: ch.rgba[1],
        blue: ch.rgba[2],
        alpha: ch.rgba[3],
        lookuptable: null,
        ...details(img.event),
      });
    });
    if (img.dataset) dsLinks.push(link(img.id, img.dataset, img.id, img.event));
    eventlog.push({ id: img.id, action: 'INSERT', permissions: -52, entitytype: 'ome.model.core.Image', entityid: img.id, event: img.event.id });
  }
  await insertRows(q, 'image', images);
  await insertRows(q, 'pixels', pixels);
  await insertRows(q, 'logicalchannel', logical);
  await insertRows(q, 'channel', channels);
  await insertRows(q, 'datasetimagelink', dsLinks);
  await insertRows(q, 'eventlog', eventlog);
}

// ---------------------------------------------------------------------------------------------
// Screen, plate, plate acquisition, wells

async function seedScreen(q: Queryable): Promise<void> {
  const e = EVENTS.importScreen;
  await insertRows(q, 'screen', [
    {
      id: DEMO.screens.drugScreen,
      name: 'Drug screen',
      description: 'Compound library A, 2 concentrations',
      protocoldescription: 'Fix after 24 h, stain DAPI + GFP reporter',
      type: 'Drug',
      ...details(EVENTS.aliceScreen),
    },
  ]);
  await insertRows(q, 'plate', [
    {
      id: DEMO.plates.plate1,
      name: 'Plate 1',
      description: null,
      rows: 2,
      columns: 3,
      rownamingconvention: 'letter',
      columnnamingconvention: 'number',
      defaultsample: 0,
      externalidentifier: 'PLT-0001',
      status: null,
      ...details(e),
    },
  ]);
  await insertRows(q, 'screenplatelink', [link(1, DEMO.screens.drugScreen, DEMO.plates.plate1, e)]);
  await insertRows(q, 'plateacquisition', [
    {
      id: DEMO.plateAcquisitions.run1,
      plate: DEMO.plates.plate1,
      name: 'Run 1',
      description: null,
      starttime: '2026-03-03 08:00:00',
      endtime: '2026-03-03 08:45:00',
      maximumfieldcount: 1,
      ...details(e),
    },
  ]);
  const wells: Row[] = [];
  const samples: Row[] = [];
  (['A1', 'A2', 'A3', 'B1', 'B2', 'B3'] as const).forEach((name, i) => {
    const wellId = DEMO.wells[name];
    wells.push({
      id: wellId,
      plate: DEMO.plates.plate1,
      row: Math.floor(i / 3),
      column: i % 3,
      externaldescription: i % 3 === 0 ? 'DMSO control' : `Compound ${i}`,
      type: i % 3 === 0 ? 'Control' : 'Treatment',
      red: null,
      green: null,
      blue: null,
      alpha: null,
      status: null,
      externalidentifier: null,
      ...details(e),
    });
    samples.push({
      id: wellId,
      well: wellId,
      well_index: 0,
      image: DEMO.images[`plate${name}` as const],
      plateacquisition: DEMO.plateAcquisitions.run1,
      posx: 0,
      posxunit: 'µm',
      posy: 0,
      posyunit: 'µm',
      timepoint: '2026-03-03 08:00:00',
      ...details(e),
    });
  });
  await insertRows(q, 'well', wells);
  await insertRows(q, 'wellsample', samples);
}

// ---------------------------------------------------------------------------------------------
// ROI and the annotations a user adds by hand

async function seedRoi(q: Queryable): Promise<void> {
  const e = EVENTS.aliceAnnotate;
  const S = DEMO.shapes;
  await insertRows(q, 'roi', [
    { id: DEMO.rois.aliceRaw1, image: DEMO.images.aliceRaw1, name: 'Nuclei outlines', description: null, source: null, ...details(e) },
  ]);
  const common = {
    roi: DEMO.rois.aliceRaw1,
    thez: 0,
    thet: 0,
    thec: null,
    locked: false,
    strokecolor: rgbaToInt([255, 255, 0, 255]),
    strokewidth: 1,
    strokewidthunit: 'pixel',
    fillcolor: rgbaToInt([255, 255, 0, 0]),
    ...details(e),
  };
  await insertRows(q, 'shape', [
    { discriminator: 'rect', id: S.rect, roi_index: 0, x: 100, y: 120, width: 80, height: 60, textvalue: 'nucleus 1', ...common },
    { discriminator: 'ellipse', id: S.ellipse, roi_index: 1, x: 300, y: 300, radiusx: 40, radiusy: 25, textvalue: 'nucleus 2', ...common },
    { discriminator: 'point', id: S.point, roi_index: 2, x: 512, y: 512, textvalue: 'seed', ...common },
    { discriminator: 'polygon', id: S.polygon, roi_index: 3, points: '600,600 680,610 690,690 610,700', textvalue: 'nucleus 3', ...common },
  ]);
  // A second ROI with the other shape kinds (image 2).
  await insertRows(q, 'roi', [
    { id: DEMO.rois.aliceRaw2, image: DEMO.images.aliceRaw2, name: 'Measurements', description: 'Line profile and outlines', source: null, ...details(e) },
  ]);
  const second = { ...common, roi: DEMO.rois.aliceRaw2 };
  await insertRows(q, 'shape', [
    { discriminator: 'line', id: S.line, roi_index: 0, x1: 10, y1: 20, x2: 300, y2: 40, markerend: 'Arrow', textvalue: 'profile', ...second },
    { discriminator: 'polyline', id: S.polyline, roi_index: 1, points: '5,5 50,60 120,80', markerstart: null, markerend: null, textvalue: null, ...second },
    { discriminator: 'text', id: S.label, roi_index: 2, x: 400, y: 30, textvalue: 'scale bar 10 µm', ...second },
    { discriminator: 'mask', id: S.mask, roi_index: 3, x: 600, y: 600, width: 16, height: 8, bytes: Buffer.alloc(16, 0xff), ...second, thec: 0 },
  ]);
}

async function seedUserAnnotations(q: Queryable): Promise<void> {
  const e = EVENTS.aliceAnnotate;
  const A = DEMO.annotations;
  const map = mapAnnotation({
    id: A.clientMap,
    ns: 'openmicroscopy.org/omero/client/mapAnnotation',
    event: e,
    entries: [
      ['Cell line', 'HeLa'],
      ['Treatment', 'DMSO'],
      ['Objective', '63x/1.4 Oil'],
    ],
  });
  await insertRows(q, 'annotation', [
    { discriminator: '/basic/text/tag/', id: A.tag, textvalue: 'nuclei', description: 'Nuclear stain', ns: null, ...details(e) },
    { discriminator: '/basic/text/comment/', id: A.comment, textvalue: 'Good focus, use as reference image.', ns: null, ...details(e) },
    map.annotation,
  ]);
  await insertRows(q, 'annotation_mapvalue', map.values);
  // An attachment: a FileAnnotation pointing at an original file outside any fileset.
  await insertRows(q, 'originalfile', [
    {
      id: 900,
      name: 'analysis_notes.pdf',
      path: 'alice_2/2026-03/04/attachments/',
      repo: null,
      size: 48_213,
      hash: fakeSha1('analysis_notes.pdf'),
      hasher: CHECKSUM_SHA1,
      mimetype: 'application/pdf',
      ctime: e.time,
      mtime: e.time,
      atime: null,
      ...details(e),
    },
  ]);
  await insertRows(q, 'annotation', [
    {
      discriminator: '/type/OriginalFile/',
      id: A.attachment,
      file: 900,
      ns: null,
      description: 'Analysis notes',
      ...details(e),
    },
  ]);
  await insertRows(q, 'imageannotationlink', [
    link(1, DEMO.images.aliceRaw1, A.tag, e),
    link(2, DEMO.images.aliceRaw1, A.comment, e),
    link(3, DEMO.images.aliceRaw1, A.clientMap, e),
    link(4, DEMO.images.aliceRaw1, A.attachment, e),
  ]);
}

// ---------------------------------------------------------------------------------------------

/** Tables whose ids come from seq_<table>; advanced past the demo ids after seeding. */
export const OMERO_SEQUENCED_TABLES = [
  'node',
  'session',
  'experimenter',
  'experimentergroup',
  'groupexperimentermap',
  'eventtype',
  'event',
  'eventlog',
  'pixelstype',
  'dimensionorder',
  'format',
  'checksumalgorithm',
  'originalfile',
  'fileset',
  'filesetentry',
  'project',
  'dataset',
  'image',
  'projectdatasetlink',
  'datasetimagelink',
  'pixels',
  'logicalchannel',
  'channel',
  'screen',
  'plate',
  'plateacquisition',
  'screenplatelink',
  'well',
  'wellsample',
  'roi',
  'shape',
  'annotation',
  'imageannotationlink',
  'projectannotationlink',
  'datasetannotationlink',
  'screenannotationlink',
  'plateannotationlink',
  'plateacquisitionannotationlink',
  'wellannotationlink',
  'roiannotationlink',
  'experimenterannotationlink',
  'experimentergroupannotationlink',
  'filesetannotationlink',
  'originalfileannotationlink',
] as const;
