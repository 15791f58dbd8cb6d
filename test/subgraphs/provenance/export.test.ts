import pg from 'pg';
import { DEMO, DEMO_USERS, LINEAGE_DEMO } from '../../../database/demo/index';
import { SessionResolver } from '../../../gateway/sessions';
import { toProvJson } from '../../../subgraphs/provenance/export/prov-json';
import { toRoCrate } from '../../../subgraphs/provenance/export/ro-crate';
import { parseGlobalId } from '../../../subgraphs/provenance/ids';
import { LineageSource } from '../../../subgraphs/provenance/source/edges';
import { walkLineage, type Lineage } from '../../../subgraphs/provenance/walk';
import { createTestDatabases, type TestDatabases } from '../../support/databases';
import { TEST_SECRET } from '../../support/stack';

let dbs: TestDatabases;
let omero: pg.Pool;
let biomero: pg.Pool;
let sessions: SessionResolver;

beforeAll(async () => {
  dbs = await createTestDatabases();
  omero = new pg.Pool({ connectionString: dbs.omeroUrl, max: 2 });
  biomero = new pg.Pool({ connectionString: dbs.biomeroUrl, max: 2 });
  sessions = new SessionResolver(omero, { secret: TEST_SECRET, cacheMs: 0, tokenTtlSeconds: 60 });
});
afterAll(async () => {
  await omero?.end();
  await biomero?.end();
  await dbs?.drop();
});

async function walk(user: keyof typeof DEMO_USERS, of: string, direction: 'UPSTREAM' | 'DOWNSTREAM' = 'UPSTREAM'): Promise<Lineage> {
  const caller = await sessions.resolve(DEMO_USERS[user].sessionUuid);
  return walkLineage(new LineageSource(omero, biomero, caller), parseGlobalId(of), { direction, depth: 10 });
}

type Json = Record<string, any>;

/** What a PROV-JSON reader needs: known sections, typed records, every reference declared in the right section. */
function checkProvJson(doc: Json): void {
  const sections = ['prefix', 'entity', 'activity', 'agent', 'used', 'wasGeneratedBy', 'wasDerivedFrom', 'wasAssociatedWith', 'wasAttributedTo'];
  for (const key of Object.keys(doc)) expect(sections).toContain(key);
  const prefixes = new Set(['prov', 'xsd', ...Object.keys(doc.prefix)]);
  const declared = (section: string, id: unknown) => {
    expect(typeof id).toBe('string');
    expect(prefixes.has(String(id).split(':')[0])).toBe(true);
    expect(doc[section]).toHaveProperty([String(id)]);
  };
  for (const section of ['entity', 'activity', 'agent']) {
    for (const [id, attrs] of Object.entries(doc[section] as Json)) {
      expect(prefixes.has(id.split(':')[0])).toBe(true);
      for (const time of ['prov:startTime', 'prov:endTime']) if (attrs[time]) expect(new Date(attrs[time]).toISOString()).toBe(attrs[time]);
    }
  }
  const roles: Record<string, Record<string, string>> = {
    used: { 'prov:activity': 'activity', 'prov:entity': 'entity' },
    wasGeneratedBy: { 'prov:entity': 'entity', 'prov:activity': 'activity' },
    wasDerivedFrom: { 'prov:generatedEntity': 'entity', 'prov:usedEntity': 'entity' },
    wasAssociatedWith: { 'prov:activity': 'activity', 'prov:agent': 'agent', 'prov:plan': 'entity' },
    wasAttributedTo: { 'prov:entity': 'entity', 'prov:agent': 'agent' },
  };
  for (const [relation, records] of Object.entries(roles)) {
    for (const [id, record] of Object.entries((doc[relation] ?? {}) as Json)) {
      expect(id.startsWith('_:')).toBe(true);
      for (const [role, value] of Object.entries(record as Json)) {
        expect(Object.keys(records[relation] ?? roles[relation])).toContain(role);
        declared(roles[relation][role], value);
      }
    }
  }
}

/** What an RO-Crate 1.1 reader and the Process Run Crate profile require. */
function checkRoCrate(crate: Json): void {
  expect(crate['@context']).toBe('https://w3id.org/ro/crate/1.1/context');
  const graph = crate['@graph'] as Json[];
  const byId = new Map(graph.map((e) => [e['@id'], e]));
  expect(byId.size).toBe(graph.length);
  expect(byId.get('ro-crate-metadata.json')).toMatchObject({
    '@type': 'CreativeWork',
    about: { '@id': './' },
    conformsTo: { '@id': 'https://w3id.org/ro/crate/1.1' },
  });
  const root = byId.get('./')!;
  expect(root).toMatchObject({ '@type': 'Dataset', conformsTo: { '@id': 'https://w3id.org/ro/wfrun/process/0.5' } });
  for (const key of ['name', 'description', 'datePublished']) expect(typeof root[key]).toBe('string');
  // every reference resolves inside the crate (but the RO-Crate spec the descriptor conforms to)
  const refs = (value: unknown): string[] =>
    Array.isArray(value)
      ? value.flatMap(refs)
      : value && typeof value === 'object'
        ? '@id' in value && Object.keys(value).length === 1
          ? [String((value as Json)['@id'])]
          : Object.values(value).flatMap(refs)
        : [];
  for (const entity of graph)
    for (const [key, value] of Object.entries(entity))
      if (key !== '@id')
        for (const id of refs(value))
          if (id !== 'https://w3id.org/ro/crate/1.1') expect([entity['@id'], key, byId.has(id)]).toEqual([entity['@id'], key, true]);
  const actions = graph.filter((e) => e['@type'] === 'CreateAction');
  expect(root.mentions.map((m: Json) => m['@id']).sort()).toEqual(actions.map((a) => a['@id']).sort());
  for (const action of actions) {
    const instruments = [action.instrument].flat();
    expect(instruments.length).toBeGreaterThan(0);
    for (const i of instruments) expect(byId.get(i['@id'])?.['@type']).toBe('SoftwareApplication');
    for (const o of [...action.object, ...action.result]) expect(['File', 'Thing']).toContain(byId.get(o['@id'])?.['@type']);
    expect(['http://schema.org/CompletedActionStatus', 'http://schema.org/FailedActionStatus', 'http://schema.org/ActiveActionStatus']).toContain(
      action.actionStatus,
    );
    if (action.agent) expect(byId.get(action.agent['@id'])?.['@type']).toBe('Person');
  }
}

describe('PROV-JSON', () => {
  it('the whole upstream lineage of a measurement, loadable by a PROV reader', async () => {
    const doc = toProvJson(await walk('alice', 'Image:17')) as Json;
    checkProvJson(doc);
    const run = `og:WorkflowRun/${LINEAGE_DEMO.runs.measurement.id}`;
    expect(doc.activity[run]).toMatchObject({
      'prov:startTime': LINEAGE_DEMO.runs.measurement.started,
      'prov:endTime': LINEAGE_DEMO.runs.measurement.ended,
      'og:status': 'COMPLETED',
    });
    expect(doc.entity['og:Image/17']).toMatchObject({ 'prov:label': 'nuclei_measurements.tif' });
    expect(doc.agent['og:Experimenter/2']).toMatchObject({ 'prov:type': { $: 'prov:Person', type: 'xsd:QName' }, 'prov:label': 'Alice Andersen' });
    expect(doc.entity['og:Workflow/cellprofiler_measure%40v4.2.6']).toMatchObject({ 'prov:type': { $: 'prov:Plan', type: 'xsd:QName' } });
    expect(Object.values(doc.wasAssociatedWith)).toContainEqual({
      'prov:activity': run,
      'prov:agent': 'og:Experimenter/2',
      'prov:plan': 'og:Workflow/cellprofiler_measure%40v4.2.6',
    });
    expect(Object.values(doc.wasGeneratedBy)).toContainEqual({ 'prov:entity': 'og:Image/17', 'prov:activity': run });
    expect(Object.values(doc.used)).toContainEqual({
      'prov:activity': `og:ImportOrder/${DEMO.importOrders.preprocessed}`,
      'prov:entity': `og:SourceFile/${encodeURIComponent('/data/lab-private/alice/exp2/experiment2.lif')}`,
    });
    expect(Object.values(doc.wasDerivedFrom)).toContainEqual({ 'prov:generatedEntity': 'og:Image/17', 'prov:usedEntity': 'og:Image/16' });
  });

  it('a redacted node keeps only its placeholder id and type', async () => {
    const doc = toProvJson(await walk('bob', 'Image:18')) as Json;
    checkProvJson(doc);
    expect(doc.entity['og:redacted/1']).toEqual({ 'og:type': 'Image', 'og:hop': 2, 'og:redacted': true });
    expect(JSON.stringify(doc)).not.toMatch(/nuclei_measurements|og:Image\/17/);
  });
});

describe('Workflow Run RO-Crate', () => {
  it('a CreateAction per run and import order, with instrument, object, result, agent, times and status', async () => {
    const crate = toRoCrate(await walk('alice', 'Image:17'), new Date('2026-11-21T00:00:00Z')) as Json;
    checkRoCrate(crate);
    const graph = crate['@graph'] as Json[];
    const run = graph.find((e) => e['@id'] === `#workflowrun-${LINEAGE_DEMO.runs.measurement.id}`)!;
    expect(run).toMatchObject({
      '@type': 'CreateAction',
      instrument: { '@id': '#workflow-cellprofiler_measure%40v4.2.6' },
      agent: { '@id': '#experimenter-2' },
      startTime: LINEAGE_DEMO.runs.measurement.started,
      endTime: LINEAGE_DEMO.runs.measurement.ended,
      actionStatus: 'http://schema.org/CompletedActionStatus',
    });
    expect(run.object.map((o: Json) => o['@id']).sort()).toEqual(['urn:omero-graph:Image:16', 'urn:omero-graph:Image:5']);
    expect(run.result).toEqual([{ '@id': 'urn:omero-graph:Image:17' }]);
    const order = graph.find((e) => e['@id'] === `#importorder-${DEMO.importOrders.preprocessed}`)!;
    expect(order.instrument).toEqual([{ '@id': '#software-biomero-importer' }, { '@id': '#software-cellularimagingcf%2Fconvertleica-docker%40v1.3.1' }]);
    expect(order.object).toEqual([{ '@id': `urn:omero-graph:SourceFile:${encodeURIComponent('/data/lab-private/alice/exp2/experiment2.lif')}` }]);
    expect(graph.find((e) => e['@id'] === '#workflow-cellprofiler_measure%40v4.2.6')).toMatchObject({
      '@type': 'SoftwareApplication',
      name: 'cellprofiler_measure',
      softwareVersion: 'v4.2.6',
    });
  });

  it('hidden nodes are bare Things', async () => {
    const crate = toRoCrate(await walk('bob', 'Image:18')) as Json;
    checkRoCrate(crate);
    expect((crate['@graph'] as Json[]).find((e) => e['@id'] === '#redacted-1')).toEqual({ '@id': '#redacted-1', '@type': 'Thing', additionalType: 'Image' });
  });
});
