/**
 * The demo world's provenance chain: two more workflow runs after the cellpose run, so that an
 * image's lineage is many hops long, holds a diamond, fans out downstream and crosses groups.
 *
 *   SourceFile experiment2.lif ─used─ ImportOrder `preprocessed` (convertleica container)
 *     ─generated→ images 3, 4 ─used─ stardist run ─generated→ image 16 (labels)
 *   SourceFiles img_001/002.tif ─used─ ImportOrder `completed` ─generated→ images 1, 2
 *     ─used─ cellpose run ─generated→ images 5, 6
 *   images 16 and 5 ─used─ measurement run ─generated→ image 17 (measurements)        [group 3]
 *   image 17 ─used─ summary run (alice, in lab-annotate) ─generated→ image 18           [group 5]
 *
 * Images 3 and 4 both come from one import order (a diamond); dave (lab-private only) sees the
 * summary run and image 18 redacted, bob (lab-annotate) sees image 17 and everything upstream
 * of it redacted. Runs carry full event streams with times, for `asOf` questions.
 */
import { DEMO, DEMO_MANAGED_REPO } from './world';
import { perms } from './omero-rows';
import { type Queryable, type Row, fakeSha1, insertRows } from './sql';

// enumeration ids as OMERO's footer creates them (database/omero.sql), as in omero.ts
const PIXELSTYPE_UINT16 = 6;
const DIMENSIONORDER_XYZCT = 1;
const CHECKSUM_SHA1 = 6;
import { appendEvents, type NewEvent } from './workflows';

const TOPIC = 'biomero.eventsourcing';
const uuidHex = (uuid: string) => ({ _type_: 'uuid_hex', _data_: uuid.replace(/-/g, '') });

/** OMERO events of the chain (ids clear of the core demo's). */
const EV = {
  stardistResults: { id: 40, user: 2, group: 3, time: '2026-03-08 09:50:00' },
  measurementResults: { id: 41, user: 2, group: 3, time: '2026-03-09 09:40:00' },
  summaryResults: { id: 42, user: 2, group: 5, time: '2026-03-09 11:30:00' },
} as const;
/** annotation and imageannotationlink ids of the three biomero/workflow annotations */
const ANNOTATION_BASE = 150;
/** fileset ids (original files are fileset * 10 + 1, as in omero.ts) */
const FILESET_BASE = 40;

export const LINEAGE_DEMO = {
  images: { labels: 16, measurements: 17, summary: 18 },
  runs: {
    /** alice, lab-private: stardist on images 3-4 (from the preprocessed import) → image 16 */
    stardist: {
      id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4b91',
      task: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c91',
      name: 'stardist',
      version: 'v0.9.1',
      inputs: [DEMO.images.aliceRaw3, DEMO.images.aliceRaw4],
      output: 16,
      group: 3,
      started: '2026-03-08T09:00:00.000Z',
      ended: '2026-03-08T09:50:00.000Z',
    },
    /** alice, lab-private: measurements on images 16 and 5 → image 17 */
    measurement: {
      id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4b92',
      task: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c92',
      name: 'cellprofiler_measure',
      version: 'v4.2.6',
      inputs: [16, DEMO.images.aliceSeg1],
      output: 17,
      group: 3,
      started: '2026-03-09T09:00:00.000Z',
      ended: '2026-03-09T09:40:00.000Z',
    },
    /** alice, lab-annotate: a summary of image 17 → image 18 */
    summary: {
      id: '0c7e5a3b-1f2d-4e6a-8b9c-7d1e2f3a4b93',
      task: '1a2b3c4d-5e6f-4a1b-9c2d-3e4f5a6b7c93',
      name: 'summary_plots',
      version: 'v1.0.0',
      inputs: [17],
      output: 18,
      group: 5,
      started: '2026-03-09T11:00:00.000Z',
      ended: '2026-03-09T11:30:00.000Z',
    },
  },
} as const;

type ChainRun = (typeof LINEAGE_DEMO.runs)[keyof typeof LINEAGE_DEMO.runs];
const RUNS: ChainRun[] = Object.values(LINEAGE_DEMO.runs);
const EVENT_OF: Record<number, (typeof EV)[keyof typeof EV]> = { 16: EV.stardistResults, 17: EV.measurementResults, 18: EV.summaryResults };
const NAMES: Record<number, string> = { 16: 'experiment2_stardist_labels.tif', 17: 'nuclei_measurements.tif', 18: 'summary_plots.png' };

function details(e: (typeof EV)[keyof typeof EV]): Row {
  return { permissions: perms(e.group), version: 0, owner_id: e.user, group_id: e.group, creation_id: e.id, update_id: e.id };
}

/**
 * OMERO rows: events, the three result images as BIOMERO imports them (a fileset with the result
 * file, pixels, one channel) and their biomero/workflow annotations.
 */
export async function seedLineageOmero(q: Queryable): Promise<void> {
  await insertRows(
    q,
    'event',
    Object.values(EV).map((e) => ({
      id: e.id,
      permissions: -52,
      status: null,
      time: e.time,
      experimenter: e.user,
      experimentergroup: e.group,
      session: 2,
      type: 4,
    })),
  );
  const images = RUNS.map((r, i) => ({ id: r.output, run: r, fileset: FILESET_BASE + i, annotation: ANNOTATION_BASE + i, event: EVENT_OF[r.output] }));
  const clientPath = (img: (typeof images)[number]) => `/data/biomero/results/${img.run.id}/${NAMES[img.id]}`;
  await insertRows(
    q,
    'fileset',
    images.map((img) => ({ id: img.fileset, templateprefix: `alice_2/${img.event.time.slice(0, 10).replace(/-/g, '/')}/results/`, ...details(img.event) })),
  );
  await insertRows(
    q,
    'originalfile',
    images.map((img) => ({
      id: img.fileset * 10 + 1,
      name: NAMES[img.id],
      path: `alice_2/${img.event.time.slice(0, 10).replace(/-/g, '/')}/results/`,
      repo: DEMO_MANAGED_REPO,
      size: 2_097_152,
      hash: fakeSha1(clientPath(img)),
      hasher: CHECKSUM_SHA1,
      mimetype: NAMES[img.id].endsWith('.png') ? 'image/png' : 'image/tiff',
      ctime: img.event.time,
      mtime: img.event.time,
      atime: null,
      ...details(img.event),
    })),
  );
  await insertRows(
    q,
    'filesetentry',
    images.map((img) => ({
      id: img.fileset * 10 + 1,
      fileset: img.fileset,
      fileset_index: 0,
      originalfile: img.fileset * 10 + 1,
      clientpath: clientPath(img),
      ...details(img.event),
    })),
  );
  await insertRows(
    q,
    'image',
    images.map((img) => ({
      id: img.id,
      name: NAMES[img.id],
      description: null,
      acquisitiondate: null,
      archived: false,
      partial: false,
      series: 0,
      fileset: img.fileset,
      format: null,
      ...details(img.event),
    })),
  );
  await insertRows(
    q,
    'pixels',
    images.map((img) => ({
      id: img.id,
      image: img.id,
      image_index: 0,
      sizex: 512,
      sizey: 512,
      sizez: 1,
      sizec: 1,
      sizet: 1,
      physicalsizex: 0.65,
      physicalsizexunit: 'µm',
      physicalsizey: 0.65,
      physicalsizeyunit: 'µm',
      significantbits: 16,
      pixelstype: PIXELSTYPE_UINT16,
      dimensionorder: DIMENSIONORDER_XYZCT,
      sha1: fakeSha1(`pixels:${img.id}`),
      ...details(img.event),
    })),
  );
  await insertRows(
    q,
    'logicalchannel',
    images.map((img) => ({ id: img.id * 10 + 1, name: 'labels', samplesperpixel: 1, ...details(img.event) })),
  );
  await insertRows(
    q,
    'channel',
    images.map((img) => ({
      id: img.id * 10 + 1,
      pixels: img.id,
      pixels_index: 0,
      logicalchannel: img.id * 10 + 1,
      red: 255,
      green: 255,
      blue: 255,
      alpha: 255,
      lookuptable: null,
      ...details(img.event),
    })),
  );
  // 16 and 17 sit with the other segmentations; 18 is in no dataset (an orphan)
  await insertRows(
    q,
    'datasetimagelink',
    images.filter((img) => img.id !== 18).map((img) => ({ id: img.id, parent: DEMO.datasets.aliceSegmentations, child: img.id, ...details(img.event) })),
  );
  // the biomero/workflow annotation SLURM_Get_Results.py puts on every result (biomero-models.md §1.10)
  await insertRows(
    q,
    'annotation',
    images.map((img) => ({ discriminator: '/map/', id: img.annotation, ns: 'biomero/workflow', ...details(img.event) })),
  );
  await insertRows(
    q,
    'annotation_mapvalue',
    images.flatMap((img) =>
      [
        ['Workflow_ID', img.run.id],
        ['Name', 'Slurm Workflow'],
        ['Version', '2.0.1'],
        ['Created_On', img.run.started],
        ['Modified_On', img.run.ended],
      ].map(([name, value], index) => ({ annotation_id: img.annotation, index, name, value })),
    ),
  );
  await insertRows(
    q,
    'imageannotationlink',
    images.map((img) => ({ id: img.annotation, parent: img.id, child: img.annotation, ...details(img.event) })),
  );
}

function runEvents(r: ChainRun): NewEvent[] {
  const started = new Date(r.started);
  const ended = new Date(r.ended);
  const mid = new Date((started.getTime() + ended.getTime()) / 2);
  const params = { IDs: [...r.inputs], Data_Type: 'Image', [`${r.name}_Version`]: r.version, receiveEmail: false };
  return [
    {
      originatorId: r.id,
      version: 0,
      type: 'WorkflowRun.WorkflowInitiated',
      at: started,
      fields: { originator_topic: `${TOPIC}:WorkflowRun`, name: 'Slurm Workflow', description: `Run ${r.name}\n2.0.1`, user: 2, group: r.group },
    },
    {
      originatorId: r.task,
      version: 0,
      type: 'Task.TaskCreated',
      at: started,
      fields: {
        originator_topic: `${TOPIC}:Task`,
        workflow_id: uuidHex(r.id),
        task_name: r.name,
        task_version: r.version,
        input_data: `Slurm_Workflow_${r.name}`,
        params,
      },
    },
    { originatorId: r.id, version: 1, type: 'WorkflowRun.TaskAdded', at: started, fields: { task_id: uuidHex(r.task) } },
    { originatorId: r.task, version: 1, type: 'Task.StatusUpdated', at: mid, fields: { status: 'RUNNING' } },
    { originatorId: r.task, version: 2, type: 'Task.TaskCompleted', at: ended, fields: { result: 'done' } },
    { originatorId: r.id, version: 2, type: 'WorkflowRun.WorkflowCompleted', at: ended, fields: {} },
  ];
}

/** BIOMERO rows: the three runs' event streams (once: the store has no natural upsert). */
export async function seedLineageWorkflows(q: Queryable): Promise<void> {
  const { rows } = await q.query(`SELECT originator_id::text AS id FROM workflowtracker_events WHERE originator_id = ANY($1::uuid[])`, [RUNS.map((r) => r.id)]);
  const present = new Set(rows.map((r: { id: string }) => r.id));
  await appendEvents(q, RUNS.filter((r) => !present.has(r.id)).flatMap(runEvents));
}
