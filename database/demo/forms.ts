/**
 * OMERO.forms data of the demo world. OMERO.forms has no tables: everything is a map
 * annotation in the OMERO DB, written by its privileged "formmaster" account and linked to
 * that Experimenter (the immutable store), except the searchable latest values (kvdata), which
 * the submitting user attaches to the object itself. New versions and submissions are
 * prepended (annotation_mapvalue.index 0 = newest). Values are Python json.dumps text; schema,
 * uiSchema and formData inside them are JSON strings again (double encoded).
 */
import { DEMO, DEMO_USERS } from './world';
import { EVENTS, link, mapAnnotation } from './omero-rows';
import { type Queryable, insertRows, pyJson } from './sql';

const F = DEMO.forms.sampleprep;
const IM = DEMO.forms.imaging;
const QC = DEMO.forms.screenqc;
const FA = DEMO.forms.annotations;
const BOB = DEMO_USERS.bob.id;
const NS = 'hms.harvard.edu/omero/forms';
const CAROL = DEMO_USERS.carol.id;
const ALICE = DEMO_USERS.alice.id;
const FORMMASTER = DEMO_USERS.formmaster.id;

const FIXATIVES = ['PFA 4%', 'Methanol', 'Glutaraldehyde 2.5%'];

// The designer (a React app) stringifies with JSON.stringify: compact.
const SCHEMA_V1 = JSON.stringify({
  title: 'Sample preparation',
  type: 'object',
  required: ['fixative'],
  properties: {
    fixative: { type: 'string', title: 'Fixative', enum: FIXATIVES },
    stainingProtocol: { type: 'string', title: 'Staining protocol' },
  },
});
const SCHEMA_V2 = JSON.stringify({
  title: 'Sample preparation',
  type: 'object',
  required: ['fixative'],
  properties: {
    fixative: { type: 'string', title: 'Fixative', enum: FIXATIVES },
    stainingProtocol: { type: 'string', title: 'Staining protocol' },
    incubationMinutes: { type: 'number', title: 'Incubation (minutes)', minimum: 0 },
  },
});
const UI_SCHEMA = JSON.stringify({ stainingProtocol: { 'ui:widget': 'textarea' } });

const [V2, V1] = F.versions;
const [SUB2, SUB1] = F.submissions;

const FORM_DATA_V1 = { fixative: 'Methanol', stainingProtocol: 'DAPI only' };
const FORM_DATA_V2 = { fixative: 'PFA 4%', stainingProtocol: 'DAPI + phalloidin', incubationMinutes: 30 };

// imaging_settings: three versions; nested object and array fields so that the diff has depth.
const OBJECTIVES = ['10x', '20x', '63x'];
const IMAGING_V1 = {
  title: 'Imaging settings',
  type: 'object',
  required: ['objective'],
  properties: {
    objective: { type: 'string', title: 'Objective', enum: OBJECTIVES },
    channels: { type: 'array', title: 'Channels', items: { type: 'string' } },
  },
};
const IMAGING_V2 = {
  ...IMAGING_V1,
  properties: {
    ...IMAGING_V1.properties,
    microscope: { type: 'object', title: 'Microscope', properties: { name: { type: 'string' }, serial: { type: 'string' } } },
  },
};
const IMAGING_V3 = {
  ...IMAGING_V2,
  required: ['objective', 'channels'],
  properties: { ...IMAGING_V2.properties, exposureMs: { type: 'number', title: 'Exposure (ms)', minimum: 0 } },
};
const IMAGING_DATA = [
  { objective: '63x', channels: ['DAPI', 'mCherry'], microscope: { name: 'Leica SP8', serial: 'SP8-0042' }, exposureMs: 120 },
  { objective: '63x', channels: ['DAPI', 'GFP'], microscope: { name: 'Leica SP8' } },
  { objective: '20x', channels: ['DAPI'] },
];
const IMAGING_PLATE_DATA = { objective: '10x', channels: ['Hoechst'], exposureMs: 50 };

// screen_qc: the newest version is valid JSON but not a JSON Schema ajv accepts ("type": "strng");
// the oldest entry's schema string is cut off (broken JSON).
const QC_V1 = JSON.stringify({
  title: 'Screen QC',
  type: 'object',
  properties: { zPrime: { type: 'number', title: "Z' factor" }, passed: { type: 'boolean' } },
});
const QC_V2 = JSON.stringify({ title: 'Screen QC', type: 'object', properties: { zPrime: { type: 'strng' } } });
const QC_BROKEN = '{"title": "Screen QC", "type": ';

function version(formId: string, timestamp: string, schema: string, author: number, message: string): string {
  return pyJson({ id: formId, schema, uiSchema: '{}', author, timestamp, message });
}

function submission(formId: string, formTimestamp: string, data: unknown, changedBy: number, changedAt: string, message: string): string {
  return pyJson({ formId, formTimestamp, formData: pyJson(data), changedBy, changedAt, message });
}

/** OMERO.forms' kvdata flattening: nested keys joined with '_', list items repeat the key, values str(). */
function flatten(data: Record<string, unknown>, prefix = ''): [string, string][] {
  return Object.entries(data).flatMap(([k, v]): [string, string][] => {
    const key = prefix ? `${prefix}_${k}` : k;
    if (Array.isArray(v)) return v.map((item): [string, string] => [key, String(item)]);
    if (v && typeof v === 'object') return flatten(v as Record<string, unknown>, key);
    return [[key, v === true ? 'True' : v === false ? 'False' : v == null ? 'None' : String(v)]];
  });
}

export async function seedFormAnnotations(q: Queryable): Promise<void> {
  const A = DEMO.annotations;
  const definition = mapAnnotation({
    id: A.formSchema,
    ns: `${NS}/schema/${F.id}`,
    event: EVENTS.formV1,
    updated: EVENTS.formV2,
    entries: [
      [V2, pyJson({ id: F.id, schema: SCHEMA_V2, uiSchema: UI_SCHEMA, author: CAROL, timestamp: V2, message: 'Add incubation time' })],
      ['id', F.id],
      ['owner', String(F.owner)],
      ['objType', 'Dataset'],
      ['objType', 'Project'],
      [V1, pyJson({ id: F.id, schema: SCHEMA_V1, uiSchema: UI_SCHEMA, author: CAROL, timestamp: V1, message: 'Initial version' })],
    ],
  });
  const assignment = mapAnnotation({
    id: A.formAssignment,
    ns: `${NS}/assignments/${F.id}/${F.assignedGroups[0]}`,
    event: EVENTS.formV1,
    entries: [
      ['formId', F.id],
      ['groupId', String(F.assignedGroups[0])],
    ],
  });
  const submissions = mapAnnotation({
    id: A.formSubmissions,
    ns: `${NS}/data/${F.objType}/${F.objId}/${F.id}`,
    event: EVENTS.submission1,
    updated: EVENTS.submission2,
    entries: [
      [SUB2, pyJson({ formId: F.id, formTimestamp: V2, formData: pyJson(FORM_DATA_V2), changedBy: ALICE, changedAt: SUB2, message: 'Added incubation time' })],
      [SUB1, pyJson({ formId: F.id, formTimestamp: V1, formData: pyJson(FORM_DATA_V1), changedBy: ALICE, changedAt: SUB1, message: 'First submission' })],
    ],
  });
  // Latest values, flattened, values as Python str(); re-created on every submission.
  const kvdata = mapAnnotation({
    id: A.formKvData,
    ns: `${NS}/kvdata/${F.id}`,
    event: EVENTS.kvdata2,
    entries: Object.entries(FORM_DATA_V2).map(([k, v]): [string, string] => [k, String(v)]),
  });

  // Project 1's sample_prep history: one good entry above three malformed ones.
  const M = F.malformed;
  const [P4, P3, P2, P1] = M.submissions;
  const projectHistory = mapAnnotation({
    id: FA.projectHistory,
    ns: `${NS}/data/${M.objType}/${M.objId}/${F.id}`,
    event: EVENTS.submission1,
    updated: EVENTS.submission2,
    entries: [
      [P4, submission(F.id, V2, { fixative: 'Glutaraldehyde 2.5%', stainingProtocol: 'EM prep' }, ALICE, P4, 'Project-wide protocol')],
      [P3, `{"formId": "${F.id}", "formTimestamp": "${V2}", "formData": "{\\"fixative\\": `],
      [P2, submission(F.id, M.unknownVersion, { fixative: 'Methanol' }, ALICE, P2, 'Filled against a deleted version')],
      [P1, pyJson({ formId: F.id, formData: pyJson({ fixative: 'PFA 4%' }), changedAt: P1 })],
    ],
  });

  const [I3, I2, I1] = IM.versions;
  const [D3, D2, D1] = IM.submissions;
  const imagingSchema = mapAnnotation({
    id: FA.imagingSchema,
    ns: `${NS}/schema/${IM.id}`,
    event: EVENTS.formV1,
    updated: EVENTS.formV2,
    entries: [
      [I3, version(IM.id, I3, JSON.stringify(IMAGING_V3), CAROL, 'Exposure time; channels required')],
      [I2, version(IM.id, I2, JSON.stringify(IMAGING_V2), CAROL, 'Add microscope')],
      ['id', IM.id],
      ['owner', String(IM.owner)],
      ...IM.objTypes.map((t): [string, string] => ['objType', t]),
      [I1, version(IM.id, I1, JSON.stringify(IMAGING_V1), CAROL, 'Initial version')],
    ],
  });
  const imagingAssignments = IM.assignedGroups.map((g, i) =>
    mapAnnotation({
      id: [FA.imagingAssign3, FA.imagingAssign5][i],
      ns: `${NS}/assignments/${IM.id}/${g}`,
      event: EVENTS.formV1,
      entries: [
        ['formId', IM.id],
        ['groupId', String(g)],
      ],
    }),
  );
  const imagingDataset = mapAnnotation({
    id: FA.imagingDataset,
    ns: `${NS}/data/${IM.objType}/${IM.objId}/${IM.id}`,
    event: EVENTS.submission1,
    updated: EVENTS.submission2,
    entries: [
      [D3, submission(IM.id, I3, IMAGING_DATA[0], ALICE, D3, 'Exposure and serial')],
      [D2, submission(IM.id, I2, IMAGING_DATA[1], CAROL, D2, 'Corrected objective')],
      [D1, submission(IM.id, I1, IMAGING_DATA[2], ALICE, D1, 'First settings')],
    ],
  });
  const imagingPlate = mapAnnotation({
    id: FA.imagingPlate,
    ns: `${NS}/data/Plate/${IM.plateId}/${IM.id}`,
    event: EVENTS.submission2,
    entries: [[IM.plateSubmission, submission(IM.id, I3, IMAGING_PLATE_DATA, ALICE, IM.plateSubmission, 'Plate settings')]],
  });
  const imagingKvDataset = mapAnnotation({ id: FA.imagingKvDataset, ns: `${NS}/kvdata/${IM.id}`, event: EVENTS.kvdata2, entries: flatten(IMAGING_DATA[0]) });
  const imagingKvPlate = mapAnnotation({ id: FA.imagingKvPlate, ns: `${NS}/kvdata/${IM.id}`, event: EVENTS.aliceScreen, entries: flatten(IMAGING_PLATE_DATA) });

  const [Q2, Q1, Q0] = QC.versions;
  const screenQcSchema = mapAnnotation({
    id: FA.screenQcSchema,
    ns: `${NS}/schema/${QC.id}`,
    event: EVENTS.formV1,
    updated: EVENTS.formV2,
    entries: [
      [Q2, version(QC.id, Q2, QC_V2, BOB, 'Typo in a type')],
      ['id', QC.id],
      ['owner', String(QC.owner)],
      ['objType', QC.objType],
      [Q1, version(QC.id, Q1, QC_V1, BOB, 'Initial version')],
      [Q0, version(QC.id, Q0, QC_BROKEN, BOB, 'Draft')],
    ],
  });
  const screenQcAssign = mapAnnotation({
    id: FA.screenQcAssign5,
    ns: `${NS}/assignments/${QC.id}/${QC.assignedGroups[0]}`,
    event: EVENTS.formV1,
    entries: [
      ['formId', QC.id],
      ['groupId', String(QC.assignedGroups[0])],
    ],
  });
  const screenQcScreen = mapAnnotation({
    id: FA.screenQcScreen,
    ns: `${NS}/data/${QC.objType}/${QC.objId}/${QC.id}`,
    event: EVENTS.submission1,
    entries: [[QC.submissions[0], submission(QC.id, Q1, { zPrime: 0.62, passed: true }, ALICE, QC.submissions[0], 'QC passed')]],
  });

  const store = [
    definition,
    assignment,
    submissions,
    projectHistory,
    imagingSchema,
    ...imagingAssignments,
    imagingDataset,
    imagingPlate,
    screenQcSchema,
    screenQcAssign,
    screenQcScreen,
  ];
  const all = [...store, kvdata, imagingKvDataset, imagingKvPlate];
  await insertRows(
    q,
    'annotation',
    all.map((a) => a.annotation),
  );
  await insertRows(
    q,
    'annotation_mapvalue',
    all.flatMap((a) => a.values),
  );
  // The first three links keep their historical ids and events; the rest of the store follows from 4.
  const storeLinks = store.map((a, i) => link(i + 1, FORMMASTER, Number(a.annotation.id), i === 2 ? EVENTS.submission1 : EVENTS.formV1));
  await insertRows(q, 'experimenterannotationlink', storeLinks);
  await insertRows(q, 'datasetannotationlink', [link(1, F.objId, A.formKvData, EVENTS.kvdata2), link(101, IM.objId, FA.imagingKvDataset, EVENTS.kvdata2)]);
  await insertRows(q, 'plateannotationlink', [link(101, IM.plateId, FA.imagingKvPlate, EVENTS.aliceScreen)]);
}
