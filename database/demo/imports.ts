/**
 * Import orders of the demo world, written the way BIOMERO 2.0 writes them:
 *  - BIOMERO DB: `imports` is an append-only stage log (one row per stage per order, the
 *    Pending row written by OMERO.biomero with file_names '[]', later rows by the importer),
 *    `imports_preprocessing` one row per order that needs a container, reused by later rows;
 *  - OMERO DB: one map annotation per imported image (or plate), ns 'biomero.import' (older
 *    importers: 'omeroadi.import'), key UUID = the order's uuid.
 */
import { DEMO, DEMO_GROUPS, DEMO_USERS } from './world';
import { EVENTS, type DemoEvent, link, mapAnnotation } from './omero-rows';
import { type Queryable, type Row, advanceSequence, insertRows, pyJson, pyListRepr } from './sql';

export const IMPORT_STAGES = {
  pending: 'Import Pending',
  started: 'Import Started',
  preprocessing: 'Import Preprocessing',
  completed: 'Import Completed',
  failed: 'Import Failed',
} as const;

const CONTAINER = 'cellularimagingcf/convertleica-docker:v1.3.1';

const PREPROCESSING: Row[] = [
  {
    id: DEMO.preprocessing.preprocessed,
    container: CONTAINER,
    input_file: '{Files}',
    output_folder: '/data',
    alt_output_folder: '/out',
    extra_params: pyJson({ saveoption: 'single' }),
  },
  {
    id: DEMO.preprocessing.failed,
    container: CONTAINER,
    input_file: '{Files}',
    output_folder: '/data',
    alt_output_folder: '/out',
    extra_params: pyJson({ saveoption: 'single' }),
  },
];

interface OrderSpec {
  uuid: string;
  user: string;
  group: string;
  destinationType: 'Dataset' | 'Screen';
  destinationId: number;
  files: string[];
  preprocessingId?: number;
  importOptions?: string;
  /** [stage, UTC timestamp, description?] in order */
  stages: Array<[string, string, string?]>;
}

const S = IMPORT_STAGES;
const O = DEMO.importOrders;

// The one order written by a newer OMERO.biomero (ImportOptionsEnvelope, schema 2).
const IMPORT_OPTIONS = pyJson({
  schema: 2,
  registration: { mode: 'in-place', skip: ['minmax', 'thumbnails'] },
  operations: [{ type: 'set_channel_names', params: { names: ['DAPI', 'GFP'] } }],
});

export const IMPORT_ORDERS: OrderSpec[] = [
  {
    uuid: O.completed,
    user: 'alice',
    group: 'lab-private',
    destinationType: 'Dataset',
    destinationId: DEMO.datasets.aliceRaw,
    files: ['/data/lab-private/alice/exp1/img_001.tif', '/data/lab-private/alice/exp1/img_002.tif'],
    stages: [
      [S.pending, '2026-03-02 09:00:00.412+00'],
      [S.started, '2026-03-02 09:00:04.118+00'],
      [S.completed, '2026-03-02 09:01:05.730+00'],
    ],
  },
  {
    uuid: O.preprocessed,
    user: 'alice',
    group: 'lab-private',
    destinationType: 'Dataset',
    destinationId: DEMO.datasets.aliceRaw,
    files: ['/data/lab-private/alice/exp2/experiment2.lif'],
    preprocessingId: DEMO.preprocessing.preprocessed,
    stages: [
      [S.pending, '2026-03-02 09:00:02.901+00'],
      [S.started, '2026-03-02 09:30:03.500+00'],
      [S.preprocessing, '2026-03-02 09:30:04.020+00'],
      [S.completed, '2026-03-02 09:34:40.256+00'],
    ],
  },
  {
    uuid: O.failed,
    user: 'bob',
    group: 'lab-readonly',
    destinationType: 'Dataset',
    destinationId: DEMO.datasets.bobReadOnly,
    files: ['/data/lab-readonly/bob/broken/scan_0042.lif'],
    preprocessingId: DEMO.preprocessing.failed,
    stages: [
      [S.pending, '2026-03-03 08:00:00.150+00'],
      [S.started, '2026-03-03 08:00:05.300+00'],
      [S.preprocessing, '2026-03-03 08:00:06.010+00'],
      [S.failed, '2026-03-03 08:02:00.870+00', `Preprocessing failed: container ${CONTAINER} exited with code 1 (Unsupported LIF version in scan_0042.lif)`],
    ],
  },
  {
    uuid: O.screen,
    user: 'alice',
    group: 'lab-annotate',
    destinationType: 'Screen',
    destinationId: DEMO.screens.drugScreen,
    files: ['/data/lab-annotate/alice/drugscreen/Plate1/Plate1.companion.ome'],
    stages: [
      [S.pending, '2026-03-03 13:55:00.020+00'],
      [S.started, '2026-03-03 13:55:04.640+00'],
      [S.completed, '2026-03-03 14:00:10.333+00'],
    ],
  },
  {
    uuid: O.pending,
    user: 'bob',
    group: 'lab-annotate',
    destinationType: 'Dataset',
    destinationId: DEMO.datasets.bobLive,
    files: ['/data/lab-annotate/bob/day2/mito_t03.tif'],
    stages: [[S.pending, '2026-03-12 10:00:00.500+00']],
  },
  {
    uuid: O.started,
    user: 'alice',
    group: 'lab-private',
    destinationType: 'Dataset',
    destinationId: DEMO.datasets.aliceRaw,
    files: ['/data/lab-private/alice/exp3/img_101.tif', '/data/lab-private/alice/exp3/img_102.tif'],
    importOptions: IMPORT_OPTIONS,
    stages: [
      [S.pending, '2026-03-12 10:05:00.200+00'],
      [S.started, '2026-03-12 10:05:05.900+00'],
    ],
  },
];

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** All stage rows of all orders, ids assigned in timestamp order (as the log grew). */
export function importRows(): Row[] {
  const rows = IMPORT_ORDERS.flatMap((o) =>
    o.stages.map(([stage, timestamp, description]) => ({
      group_name: o.group,
      user_name: o.user,
      destination_id: String(o.destinationId),
      destination_type: o.destinationType,
      stage,
      uuid: o.uuid,
      timestamp,
      files: pyJson(o.files),
      // OMERO.biomero writes the Pending row before the file names are known.
      file_names: pyJson(stage === S.pending ? [] : o.files.map(basename)),
      description: description ?? null,
      preprocessing_id: o.preprocessingId ?? null,
      import_options: o.importOptions ?? null,
    })),
  );
  rows.sort((a, b) => Date.parse(a.timestamp.replace(' ', 'T').replace('+00', 'Z')) - Date.parse(b.timestamp.replace(' ', 'T').replace('+00', 'Z')));
  return rows.map((r, i) => ({ id: i + 1, ...r }));
}

export async function seedImports(q: Queryable): Promise<void> {
  await insertRows(q, 'imports_preprocessing', PREPROCESSING);
  const rows = importRows();
  await insertRows(q, 'imports', rows);
  await advanceSequence(q, 'imports_id_seq', rows.length);
  await advanceSequence(q, 'imports_preprocessing_id_seq', PREPROCESSING.length);
}

// ---------------------------------------------------------------------------------------------
// OMERO side: the UUID annotations on what each completed order produced

interface Produced {
  annotationId: number;
  /** the imported file this image (or plate) came from */
  filepath: string;
}

function importAnnotation(order: OrderSpec, p: Produced, ns: string, e: DemoEvent, extra: Array<[string, string]> = []) {
  const user = Object.values(DEMO_USERS).find((u) => u.omeName === order.user)!;
  const group = Object.values(DEMO_GROUPS).find((g) => g.name === order.group)!;
  if (user.id !== e.user || group.id !== e.group) throw new Error('import annotation event does not match the order');
  const completed = order.stages[order.stages.length - 1][1];
  return mapAnnotation({
    id: p.annotationId,
    ns,
    event: e,
    entries: [
      ['UUID', order.uuid],
      ['Filepath', p.filepath],
      ['Group', order.group],
      ['Username', order.user],
      ['DestinationID', String(order.destinationId)],
      ['DestinationType', order.destinationType],
      ['Files', pyListRepr(order.files)],
      ['FileNames', pyListRepr(order.files.map(basename))],
      ...extra,
      // The importer writes its local wall-clock time without zone.
      ['Import_Timestamp', completed.slice(0, 19).replace(' ', 'T') + '.000000'],
    ],
  });
}

export async function seedImportAnnotations(q: Queryable): Promise<void> {
  const A = DEMO.annotations;
  const I = DEMO.images;
  const [completed, preprocessed, , screen] = IMPORT_ORDERS;
  const preprocessingKeys: Array<[string, string]> = [
    ['preprocessing_container', CONTAINER],
    ['preprocessing_inputfile', '{Files}'],
    ['preprocessing_outputfolder', '/data'],
    ['preprocessing_altoutputfolder', '/out'],
    ['preprocessing_saveoption', 'single'],
    ['preprocessing_id', String(DEMO.preprocessing.preprocessed)],
  ];
  const lif = preprocessed.files[0];
  const annotations = [
    importAnnotation(completed, { annotationId: A.importRaw1, filepath: completed.files[0] }, 'biomero.import', EVENTS.importCompleted),
    importAnnotation(completed, { annotationId: A.importRaw2, filepath: completed.files[1] }, 'biomero.import', EVENTS.importCompleted),
    // Written before the importer's namespace became configurable: the old 'omeroadi.import'.
    importAnnotation(preprocessed, { annotationId: A.importRaw3, filepath: lif }, 'omeroadi.import', EVENTS.importPreprocessed, [
      ...preprocessingKeys,
      ['processing_output_series', 'Position 1'],
    ]),
    importAnnotation(preprocessed, { annotationId: A.importRaw4, filepath: lif }, 'omeroadi.import', EVENTS.importPreprocessed, [
      ...preprocessingKeys,
      ['processing_output_series', 'Position 2'],
    ]),
    importAnnotation(screen, { annotationId: A.importPlate, filepath: screen.files[0] }, 'biomero.import', EVENTS.importScreen),
  ];
  await insertRows(
    q,
    'annotation',
    annotations.map((a) => a.annotation),
  );
  await insertRows(
    q,
    'annotation_mapvalue',
    annotations.flatMap((a) => a.values),
  );
  await insertRows(q, 'imageannotationlink', [
    link(10, I.aliceRaw1, A.importRaw1, EVENTS.importCompleted),
    link(11, I.aliceRaw2, A.importRaw2, EVENTS.importCompleted),
    link(12, I.aliceRaw3, A.importRaw3, EVENTS.importPreprocessed),
    link(13, I.aliceRaw4, A.importRaw4, EVENTS.importPreprocessed),
  ]);
  await insertRows(q, 'plateannotationlink', [link(1, DEMO.plates.plate1, A.importPlate, EVENTS.importScreen)]);
}
