/**
 * Every entry point of the forms subgraph goes through the caller's source: alice's submissions
 * on her objects in her private group (lab-private), and the form assigned only to that group, are
 * found by an admin (the positive control) and by no way at all by bob, who is not in that group
 * (the submissions not by dave either, a plain member who sees only his own objects there) — nor
 * by an anonymous caller; her submissions in lab-annotate and the form assigned only there likewise
 * by no way by dave, who is not in that group. The cases are checked against the SDL: a
 * new Query, Subscription or entity without a case fails here.
 */
import { DEMO } from '../../../database/demo/index';
import { entryPoints, timesShown } from '../../support/entry-points';
import { startForms, type DemoUserName, type FormsHarness } from './harness';

const SP = DEMO.forms.sampleprep; // assigned to lab-private only; submissions on alice's dataset 1 and project 1
const IM = DEMO.forms.imaging; // assigned to lab-private and lab-annotate; submissions on alice's dataset 2 and plate 1
const QC = DEMO.forms.screenqc; // assigned to lab-annotate only; a submission on alice's screen 1

/** alice's objects carrying submissions, per group. */
const LAB_PRIVATE_OBJECTS = [
  { type: 'Dataset', id: DEMO.datasets.aliceRaw },
  { type: 'Dataset', id: DEMO.datasets.aliceSegmentations },
  { type: 'Project', id: DEMO.projects.nucleiStudy },
];
const LAB_ANNOTATE_OBJECTS = [
  { type: 'Screen', id: DEMO.screens.drugScreen },
  { type: 'Plate', id: DEMO.plates.plate1 },
];
type ObjectRef = (typeof LAB_PRIVATE_OBJECTS)[number];

let h: FormsHarness;
beforeAll(async () => {
  h = await startForms();
});
afterAll(async () => {
  await h?.stop();
});

/** How often the private forms or submissions show in one answer, as `user` (null: anonymous). */
type Probe = (user: DemoUserName | null) => Promise<number>;

/** `hidden`: the error code a signed-in caller gets for what they may not see, when it is an error (as for what does not exist). */
async function query(user: DemoUserName | null, q: string, variables: Record<string, unknown>, count: (data: any) => number, hidden?: string): Promise<number> {
  return timesShown(await h.query(user, q, variables), user, count, hidden);
}

const entities =
  (representations: Record<string, string>[], selection: string, count: (e: any) => number): Probe =>
  (user) =>
    query(user, `query($r: [_Any!]!) { _entities(representations: $r) { __typename ${selection} } }`, { r: representations }, (d) =>
      d._entities.reduce((n: number, e: any) => n + (e ? count(e) : 0), 0),
    );

const onObject = (s: { object: { __typename: string; id: string } }, objects: ObjectRef[]) =>
  objects.some((o) => o.type === s.object.__typename && String(o.id) === s.object.id);
const SUBMISSION = 'formId changedAt data object { __typename ... on Project { id } ... on Dataset { id } ... on Screen { id } ... on Plate { id } }';

/** Submissions on the objects, through the cross-object list: unfiltered, and one object's history each. */
const submissionsOn =
  (objects: ObjectRef[]): Probe =>
  async (user) => {
    const q = `query($f: FormSubmissionFilter) { formSubmissions(filter: $f, first: 500) { totalCount nodes { ${SUBMISSION} } } }`;
    let found = await query(user, q, {}, (d) => d.formSubmissions.nodes.filter((s: any) => onObject(s, objects)).length);
    for (const o of objects) {
      found += await query(
        user,
        q,
        { f: { objectType: o.type.toUpperCase(), objectId: String(o.id) } },
        (d) => d.formSubmissions.totalCount + d.formSubmissions.nodes.length,
      );
    }
    return found;
  };

const formsProbe =
  (formId: string): Probe =>
  (user) =>
    query(user, '{ forms(first: 500) { nodes { id } } }', {}, (d) => d.forms.nodes.filter((f: { id: string }) => f.id === formId).length);
const formProbe =
  (formId: string): Probe =>
  (user) =>
    query(user, 'query($id: ID!) { form(id: $id) { id versions { timestamp } } }', { id: formId }, (d) => (d.form ? 1 : 0));
const validateProbe =
  (formId: string, version: string): Probe =>
  (user) =>
    query(
      user,
      'query($id: ID!, $v: String) { validateFormData(formId: $id, version: $v, data: {}) { version { timestamp } } }',
      { id: formId, v: version },
      (d) => (d.validateFormData ? 1 : 0),
      'NOT_FOUND',
    );

/** The objects' own fields: their history and their latest submission of each form. */
const objectFields = (objects: ObjectRef[]): Probe =>
  entities(
    objects.map((o) => ({ __typename: o.type, id: String(o.id) })),
    `... on Project { formSubmissions { formId } formData { formId } } ... on Dataset { formSubmissions { formId } formData { formId } }
     ... on Screen { formSubmissions { formId } formData { formId } } ... on Plate { formSubmissions { formId } formData { formId } }`,
    (e) => e.formSubmissions.length + e.formData.length,
  );

const submissionId = (formId: string, type: string, id: number, changedAt: string) => `${formId}/${type}:${id}@${changedAt}`;

/** A check of one entry point: the probe, and the demo users who must see none of what it counts. */
interface Check {
  outsiders: DemoUserName[];
  probe: Probe;
}
/** The form assigned to lab-private (which its members, dave too, may see). */
const assignedToLabPrivate = (probe: Probe): Check => ({ outsiders: ['bob'], probe });
/** Submissions on alice's objects in lab-private. */
const labPrivate = (probe: Probe): Check => ({ outsiders: ['bob', 'dave'], probe });
const labAnnotate = (probe: Probe): Check => ({ outsiders: ['dave'], probe });

const CASES: Record<string, Check[] | string> = {
  'Query.forms': [assignedToLabPrivate(formsProbe(SP.id)), labAnnotate(formsProbe(QC.id))],
  'Query.form': [assignedToLabPrivate(formProbe(SP.id)), labAnnotate(formProbe(QC.id))],
  'Query.formSubmissions': [labPrivate(submissionsOn(LAB_PRIVATE_OBJECTS)), labAnnotate(submissionsOn(LAB_ANNOTATE_OBJECTS))],
  // (screen_qc's latest version does not compile: the one before it)
  'Query.validateFormData': [assignedToLabPrivate(validateProbe(SP.id, SP.versions[0])), labAnnotate(validateProbe(QC.id, QC.versions[1]))],
  '_entities.Form': [
    assignedToLabPrivate(entities([{ __typename: 'Form', id: SP.id }], '... on Form { id }', () => 1)),
    labAnnotate(entities([{ __typename: 'Form', id: QC.id }], '... on Form { id }', () => 1)),
  ],
  '_entities.FormVersion': [
    // by either key: formId + timestamp (other subgraphs), id (node(id:))
    assignedToLabPrivate(
      entities(
        [
          { __typename: 'FormVersion', formId: SP.id, timestamp: SP.versions[0] },
          { __typename: 'FormVersion', id: `${SP.id}@${SP.versions[1]}` },
        ],
        '... on FormVersion { timestamp }',
        () => 1,
      ),
    ),
    labAnnotate(
      entities(
        [
          { __typename: 'FormVersion', formId: QC.id, timestamp: QC.versions[1] },
          { __typename: 'FormVersion', id: `${QC.id}@${QC.versions[0]}` },
        ],
        '... on FormVersion { timestamp }',
        () => 1,
      ),
    ),
  ],
  '_entities.FormSubmission': [
    labPrivate(
      entities(
        [
          { __typename: 'FormSubmission', id: submissionId(SP.id, SP.objType, SP.objId, SP.submissions[0]) },
          { __typename: 'FormSubmission', id: submissionId(IM.id, IM.objType, IM.objId, IM.submissions[0]) },
        ],
        '... on FormSubmission { changedAt }',
        () => 1,
      ),
    ),
    labAnnotate(
      entities(
        [
          { __typename: 'FormSubmission', id: submissionId(QC.id, QC.objType, QC.objId, QC.submissions[0]) },
          { __typename: 'FormSubmission', id: submissionId(IM.id, 'Plate', IM.plateId, IM.plateSubmission) },
        ],
        '... on FormSubmission { changedAt }',
        () => 1,
      ),
    ),
  ],
  '_entities.Project': [labPrivate(objectFields(LAB_PRIVATE_OBJECTS.filter((o) => o.type === 'Project')))],
  '_entities.Dataset': [labPrivate(objectFields(LAB_PRIVATE_OBJECTS.filter((o) => o.type === 'Dataset')))],
  '_entities.Screen': [labAnnotate(objectFields(LAB_ANNOTATE_OBJECTS.filter((o) => o.type === 'Screen')))],
  '_entities.Plate': [labAnnotate(objectFields(LAB_ANNOTATE_OBJECTS.filter((o) => o.type === 'Plate')))],
  '_entities.Image': [
    // an image's forms are its datasets' (and their projects') and its plate's
    labPrivate(
      entities(
        [
          { __typename: 'Image', id: String(DEMO.images.aliceRaw1) },
          { __typename: 'Image', id: String(DEMO.images.aliceSeg1) },
        ],
        '... on Image { formData { formId } }',
        (e) => e.formData.length,
      ),
    ),
    labAnnotate(entities([{ __typename: 'Image', id: String(DEMO.images.plateA1) }], '... on Image { formData { formId } }', (e) => e.formData.length)),
  ],
};

it('has a case for every entry point of the SDL', () => {
  expect(Object.keys(CASES).sort()).toEqual(entryPoints('forms'));
});

const CHECKS = Object.entries(CASES).flatMap(([name, c]) =>
  typeof c === 'string' ? [] : c.map((check) => [name, check.outsiders.join(', '), check] as const),
);

describe.each(CHECKS)('%s', (_name, names, { outsiders, probe }) => {
  it(`shows the private forms and submissions to an admin, never to ${names} or an anonymous caller`, async () => {
    expect(await probe('erin')).toBeGreaterThan(0);
    for (const outsider of outsiders) expect([outsider, await probe(outsider)]).toEqual([outsider, 0]);
    expect(await probe(null)).toBe(0);
  });
});
