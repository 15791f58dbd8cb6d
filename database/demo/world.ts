/**
 * The demo world: every fixed id, uuid and session key that the demo seed writes and the
 * tests rely on. All values are deterministic; seeding twice changes nothing.
 *
 * OMERO side (database `omero`), permissions = the group's value on every object:
 *   groups      0 system (-120), 1 user (-52), 2 guest (-120) [bootstrap];
 *               3 lab-private (-120 rw----), 4 lab-readonly (-56 rwr---),
 *               5 lab-annotate (-40 rwra--), 6 lab-readwrite (-8 rwrw--)
 *   users       0 root, 1 guest [bootstrap]; 2 alice (3, 5), 3 bob (5, 4), 4 carol (leader of 3
 *               and 5), 5 dave (3), 6 erin (admin: system), 7 formmaster (admin, owns the
 *               OMERO.forms store); everyone is also in group 1 'user'
 *   sessions    one open session per demo user (id = user id, uuid in DEMO_USERS), plus
 *               alice's closed (8) and expired (9) sessions in DEMO_SESSIONS
 *   group 3     project 1 'Nuclei study' → dataset 1 'Raw acquisitions' (images 1-4),
 *               dataset 2 'Segmentations' (images 5-6, cellpose results of images 1-2)
 *   group 5     bob: project 2 → dataset 3 (images 7-8); alice: screen 1 'Drug screen' →
 *               plate 1 (2×3, plate acquisition 1, wells 1-6 = A1..B3, images 10-15)
 *   group 4     bob: dataset 4 (image 9)
 *   image 1     ROI 1 (rect, ellipse, point, polygon), tag 1, comment 2, client map annotation 3,
 *               file annotation 4 (original file 900)
 *   image 2     ROI 2 (line, polyline, label, mask)
 *
 * BIOMERO side (database `biomero`):
 *   import orders (imports.uuid) in DEMO.importOrders, preprocessing rows in DEMO.preprocessing,
 *   workflow runs / tasks / Slurm jobs (workflowtracker_events) in DEMO.workflows;
 *   OMERO.forms forms 'sample_prep' (two versions, two submissions, malformed entries on project 1),
 *   'imaging_settings' (three versions, one submission against each) and 'screen_qc' (group 5
 *   only, an uncompilable and a broken version) in DEMO.forms.
 */

export interface DemoGroup {
  id: number;
  name: string;
  /** experimentergroup.permissions */
  permissions: number;
  /** ome_perms() string form */
  perm: string;
}

export const DEMO_GROUPS = {
  system: { id: 0, name: 'system', permissions: -120, perm: 'rw----' },
  user: { id: 1, name: 'user', permissions: -52, perm: 'rwr-r-' },
  guest: { id: 2, name: 'guest', permissions: -120, perm: 'rw----' },
  labPrivate: { id: 3, name: 'lab-private', permissions: -120, perm: 'rw----' },
  labReadOnly: { id: 4, name: 'lab-readonly', permissions: -56, perm: 'rwr---' },
  labAnnotate: { id: 5, name: 'lab-annotate', permissions: -40, perm: 'rwra--' },
  labReadWrite: { id: 6, name: 'lab-readwrite', permissions: -8, perm: 'rwrw--' },
} as const satisfies Record<string, DemoGroup>;

export interface DemoUser {
  id: number;
  omeName: string;
  firstName: string;
  lastName: string;
  email: string;
  /** uuid of the user's open session: the OMERO session key clients send as Bearer token */
  sessionUuid: string;
  sessionId: number;
  /** groupexperimentermap rows in child_index order (the first is the default group) */
  memberOf: readonly number[];
  leaderOf: readonly number[];
  isAdmin: boolean;
}

export const DEMO_USERS = {
  alice: {
    id: 2,
    omeName: 'alice',
    firstName: 'Alice',
    lastName: 'Andersen',
    email: 'alice@example.org',
    sessionUuid: 'a11ce000-0000-4000-8000-000000000002',
    sessionId: 2,
    memberOf: [3, 5, 1],
    leaderOf: [],
    isAdmin: false,
  },
  bob: {
    id: 3,
    omeName: 'bob',
    firstName: 'Bob',
    lastName: 'Brouwer',
    email: 'bob@example.org',
    sessionUuid: 'b0b00000-0000-4000-8000-000000000003',
    sessionId: 3,
    memberOf: [5, 4, 1],
    leaderOf: [],
    isAdmin: false,
  },
  carol: {
    id: 4,
    omeName: 'carol',
    firstName: 'Carol',
    lastName: 'Claes',
    email: 'carol@example.org',
    sessionUuid: 'ca201000-0000-4000-8000-000000000004',
    sessionId: 4,
    memberOf: [3, 5, 1],
    leaderOf: [3, 5],
    isAdmin: false,
  },
  dave: {
    id: 5,
    omeName: 'dave',
    firstName: 'Dave',
    lastName: 'Dekker',
    email: 'dave@example.org',
    sessionUuid: 'da7e0000-0000-4000-8000-000000000005',
    sessionId: 5,
    memberOf: [3, 1],
    leaderOf: [],
    isAdmin: false,
  },
  erin: {
    id: 6,
    omeName: 'erin',
    firstName: 'Erin',
    lastName: 'Evers',
    email: 'erin@example.org',
    sessionUuid: 'e2170000-0000-4000-8000-000000000006',
    sessionId: 6,
    memberOf: [0, 1],
    leaderOf: [],
    isAdmin: true,
  },
  formmaster: {
    id: 7,
    omeName: 'formmaster',
    firstName: 'Forms',
    lastName: 'Master',
    email: 'forms@example.org',
    sessionUuid: 'f0e30000-0000-4000-8000-000000000007',
    sessionId: 7,
    memberOf: [0, 1],
    leaderOf: [],
    isAdmin: true,
  },
} as const satisfies Record<string, DemoUser>;

/** Sessions that must NOT authenticate. */
export const DEMO_SESSIONS = {
  /** alice's session closed on 2026-02-20 (closed IS NOT NULL) */
  aliceClosed: { id: 8, uuid: 'a11ce000-c105-4000-8000-000000000008', owner: 2 },
  /** alice's session with timetolive 60000 ms started on 2025-01-01: long expired */
  aliceExpired: { id: 9, uuid: 'a11ce000-e4b1-4000-8000-000000000009', owner: 2 },
} as const;

/** OMERO ManagedRepository uuid written to originalfile.repo. */
export const DEMO_MANAGED_REPO = '5e1f0c4a-7b2d-4c3e-9a8f-0d1e2f3a4b5c';

export const DEMO = {
  projects: { nucleiStudy: 1, bobMito: 2 },
  datasets: { aliceRaw: 1, aliceSegmentations: 2, bobLive: 3, bobReadOnly: 4 },
  images: {
    aliceRaw1: 1,
    aliceRaw2: 2,
    aliceRaw3: 3,
    aliceRaw4: 4,
    aliceSeg1: 5,
    aliceSeg2: 6,
    bobLive1: 7,
    bobLive2: 8,
    bobReadOnly: 9,
    plateA1: 10,
    plateA2: 11,
    plateA3: 12,
    plateB1: 13,
    plateB2: 14,
    plateB3: 15,
  },
  screens: { drugScreen: 1 },
  plates: { plate1: 1 },
  plateAcquisitions: { run1: 1 },
  /** wells 1-6 = A1 A2 A3 B1 B2 B3 (row 0-1, column 0-2) */
  wells: { A1: 1, A2: 2, A3: 3, B1: 4, B2: 5, B3: 6 },
  rois: { aliceRaw1: 1, aliceRaw2: 2 },
  /** ROI 1: rect, ellipse, point, polygon; ROI 2 (image 2): line, polyline, label, mask */
  shapes: { rect: 1, ellipse: 2, point: 3, polygon: 4, line: 5, polyline: 6, label: 7, mask: 8 },
  /** annotation ids */
  annotations: {
    tag: 1,
    comment: 2,
    clientMap: 3,
    /** FileAnnotation on image 1 (original file 900, analysis_notes.pdf) */
    attachment: 4,
    importRaw1: 10,
    importRaw2: 11,
    importRaw3: 12,
    importRaw4: 13,
    importPlate: 14,
    workflowSeg1: 20,
    taskSeg1: 21,
    workflowSeg2: 22,
    taskSeg2: 23,
    formSchema: 30,
    formAssignment: 31,
    formSubmissions: 32,
    formKvData: 33,
  },
  importOrders: {
    /** alice/lab-private → Dataset 1, Completed, images 1-2, ns biomero.import */
    completed: '3f9c2a61-8b4e-4d7a-9c15-2e6b8d0a4f01',
    /** alice/lab-private → Dataset 1, Pending→Started→Preprocessing→Completed, images 3-4, ns omeroadi.import */
    preprocessed: '3f9c2a61-8b4e-4d7a-9c15-2e6b8d0a4f02',
    /** bob/lab-readonly → Dataset 4, failed in preprocessing, description set */
    failed: '3f9c2a61-8b4e-4d7a-9c15-2e6b8d0a4f03',
    /** bob/lab-annotate → Dataset 3, only an 'Import Pending' row, file_names '[]' */
    pending: '3f9c2a61-8b4e-4d7a-9c15-2e6b8d0a4f04',
    /** alice/lab-private → Dataset 1, 'Import Started' (in progress), the one order with import_options */
    started: '3f9c2a61-8b4e-4d7a-9c15-2e6b8d0a4f05',
    /** alice/lab-annotate → Screen 1, Completed, produced plate 1 (plateannotationlink) */
    screen: '3f9c2a61-8b4e-4d7a-9c15-2e6b8d0a4f06',
  },
  /** imports_preprocessing ids */
  preprocessing: { preprocessed: 1, failed: 2 },
  workflows: {
    /** alice (user 2, group 3): completed cellpose run on images 1-2 → images 5-6 */
    cellpose: {
      id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4b01',
      tasks: {
        transfer: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c01',
        convert: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c02',
        cellpose: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c03',
        getResults: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c04',
      },
      jobs: { convert: 4101, cellpose: 4102 },
      inputImages: [1, 2],
      outputImages: [5, 6],
    },
    /** bob (user 3, group 5): stardist run on images 7-8 that failed in Slurm */
    failed: {
      id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4b02',
      tasks: {
        transfer: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c11',
        stardist: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c12',
      },
      jobs: { stardist: 4110 },
      inputImages: [7, 8],
      outputImages: [],
    },
    /** alice (user 2, group 3): cellpose run on images 3-4, still RUNNING; absent from the view tables */
    running: {
      id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4b03',
      tasks: {
        transfer: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c21',
        cellpose: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c22',
      },
      jobs: { cellpose: 4120 },
      inputImages: [3, 4],
      outputImages: [],
    },
    /**
     * dave (user 5, group 3): written by the deployed BIOMERO v2.0.1 scripts, stopped in the
     * conversion array job (CONVERT_ZARR_TO_TIFF RUNNING: CONVERTING, where v2.0.1's view said
     * JOB_RUNNING); absent from the view tables
     */
    deployed: {
      id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4b04',
      tasks: {
        transfer: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c31',
        convert: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c32',
      },
      jobs: { convert: 4130 },
      inputImages: [3],
      outputImages: [],
    },
    /**
     * SlurmClient.run_workflow without a workflow id: name/description = workflow name/version,
     * user and group -1 (visible to administrators only); job submission failed (job id -1)
     */
    unassigned: {
      id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4b05',
      tasks: { cellpose: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c41' },
      jobs: {},
      inputImages: [],
      outputImages: [],
    },
    /** alice (user 2, group 3): completed, its results hold secrets in env and command lines */
    secrets: {
      id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4b06',
      tasks: { cellpose: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c51' },
      jobs: { cellpose: 4150 },
      inputImages: [1],
      outputImages: [],
      /** secret values written into the results; none may ever be served */
      secretValues: ['s3cr3t-omero-pw', 'tok_9f8e7d6c5b4a', 'hunter2-ssh-pass'],
    },
    /** alice (user 2, group 3): JOB_RUNNING with 100 progress updates (a long event stream) */
    progress: {
      id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4b07',
      tasks: { cellpose: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c61' },
      jobs: { cellpose: 4160 },
      inputImages: [2],
      outputImages: [],
      progressUpdates: 100,
    },
  },
  forms: {
    sampleprep: {
      id: 'sample_prep',
      owner: 4,
      /** version keys (naive ISO), newest first */
      versions: ['2026-03-10T09:00:00.000000', '2026-03-06T10:00:00.000000'],
      /** submission keys (changedAt), newest first; the older one used version[1] */
      submissions: ['2026-03-11T16:20:00.000000', '2026-03-07T15:00:00.000000'],
      assignedGroups: [3],
      /** submissions are kept for this object */
      objType: 'Dataset',
      objId: 1,
      /** a separate object (project 1, alice, group 3) whose history holds malformed entries */
      malformed: {
        objType: 'Project',
        objId: 1,
        /** entry keys newest first: a good submission against versions[0], broken JSON,
         *  an unknown version, an entry missing formTimestamp/changedBy */
        submissions: ['2026-03-13T12:00:00.000000', '2026-03-12T12:00:00.000000', '2026-03-09T12:00:00.000000', '2026-03-08T12:00:00.000000'],
        unknownVersion: '2025-01-01T00:00:00.000000',
      },
    },
    /** second form: three versions, nested object + array fields, assigned to groups 3 and 5 */
    imaging: {
      id: 'imaging_settings',
      owner: 4,
      versions: ['2026-03-14T08:00:00.000000', '2026-03-12T08:00:00.000000', '2026-03-08T08:00:00.000000'],
      assignedGroups: [3, 5],
      objTypes: ['Dataset', 'Plate'],
      /** on dataset 2: submissions[i] was filled against versions[i]; the middle one by carol */
      objType: 'Dataset',
      objId: 2,
      submissions: ['2026-03-15T10:00:00.000000', '2026-03-13T10:00:00.000000', '2026-03-09T10:00:00.000000'],
      /** alice's submission on plate 1 (group 5) against versions[0] */
      plateSubmission: '2026-03-15T11:00:00.000000',
      plateId: 1,
    },
    /** a form owned by bob, assigned only to lab-annotate (5): invisible to dave (group 3 only) */
    screenqc: {
      id: 'screen_qc',
      owner: 3,
      /** versions[0]'s schema is valid JSON that ajv refuses to compile; the oldest entry's
       *  schema string is broken JSON */
      versions: ['2026-03-16T09:00:00.000000', '2026-03-09T09:00:00.000000', '2026-03-01T09:00:00.000000'],
      assignedGroups: [5],
      objType: 'Screen',
      objId: 1,
      /** alice's submission on screen 1 against versions[1] */
      submissions: ['2026-03-10T14:00:00.000000'],
    },
    /** annotation and link ids of the forms part of the demo (the first four are DEMO.annotations.form*) */
    annotations: {
      projectHistory: 130,
      imagingSchema: 131,
      imagingAssign3: 132,
      imagingAssign5: 133,
      imagingDataset: 134,
      imagingPlate: 135,
      imagingKvDataset: 136,
      imagingKvPlate: 137,
      screenQcSchema: 138,
      screenQcAssign5: 139,
      screenQcScreen: 140,
    },
  },
} as const;

/** Workflow run ids as plain uuids, for convenience. */
export const DEMO_WORKFLOW_IDS = Object.values(DEMO.workflows).map((w) => w.id);

/**
 * Passwords of the demo users for the local OMERO.web (test/support/omero-web): OMERO keeps
 * passwords in its `password` table, which our DDL does not model; the fake server checks these.
 */
export const DEMO_PASSWORDS: Record<string, string> = {
  alice: 'alice-demo-password',
  bob: 'bob-demo-password',
  carol: 'carol-demo-password',
  dave: 'dave-demo-password',
  erin: 'erin-demo-password',
  formmaster: 'formmaster-demo-password',
};
