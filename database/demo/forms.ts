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

export async function seedFormAnnotations(q: Queryable): Promise<void> {
  const A = DEMO.annotations;
  const definition = mapAnnotation({
    id: A.formSchema, ns: `${NS}/schema/${F.id}`, event: EVENTS.formV1, updated: EVENTS.formV2,
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
    id: A.formAssignment, ns: `${NS}/assignments/${F.id}/${F.assignedGroups[0]}`, event: EVENTS.formV1,
    entries: [['formId', F.id], ['groupId', String(F.assignedGroups[0])]],
  });
  const submissions = mapAnnotation({
    id: A.formSubmissions, ns: `${NS}/data/${F.objType}/${F.objId}/${F.id}`, event: EVENTS.submission1, updated: EVENTS.submission2,
    entries: [
      [SUB2, pyJson({ formId: F.id, formTimestamp: V2, formData: pyJson(FORM_DATA_V2), changedBy: ALICE, changedAt: SUB2, message: 'Added incubation time' })],
      [SUB1, pyJson({ formId: F.id, formTimestamp: V1, formData: pyJson(FORM_DATA_V1), changedBy: ALICE, changedAt: SUB1, message: 'First submission' })],
    ],
  });
  // Latest values, flattened, values as Python str(); re-created on every submission.
  const kvdata = mapAnnotation({
    id: A.formKvData, ns: `${NS}/kvdata/${F.id}`, event: EVENTS.kvdata2,
    entries: Object.entries(FORM_DATA_V2).map(([k, v]): [string, string] => [k, String(v)]),
  });
  const all = [definition, assignment, submissions, kvdata];
  await insertRows(q, 'annotation', all.map((a) => a.annotation));
  await insertRows(q, 'annotation_mapvalue', all.flatMap((a) => a.values));
  await insertRows(q, 'experimenterannotationlink', [
    link(1, FORMMASTER, A.formSchema, EVENTS.formV1),
    link(2, FORMMASTER, A.formAssignment, EVENTS.formV1),
    link(3, FORMMASTER, A.formSubmissions, EVENTS.submission1),
  ]);
  await insertRows(q, 'datasetannotationlink', [link(1, F.objId, A.formKvData, EVENTS.kvdata2)]);
}
