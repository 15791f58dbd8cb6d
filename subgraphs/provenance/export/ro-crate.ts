import type { Lineage, LineageNode } from '../walk';
import { OG_NAMESPACE } from './prov-json';

/**
 * The lineage as a Workflow Run RO-Crate (Process Run Crate profile 0.5, RO-Crate 1.1 JSON-LD):
 * one `CreateAction` per workflow run and per import order, with `instrument` (the workflow
 * version, the importer with its preprocessing container), `object` (what it used), `result`
 * (what it generated), `agent`, `startTime`, `endTime` and `actionStatus`. OMERO objects and
 * source files are web-based data entities named by URN, since the crate does not carry the
 * pixels. Redacted nodes appear as bare `Thing`s with their type only.
 */
const PROCESS_PROFILE = 'https://w3id.org/ro/wfrun/process/0.5';
const RO_CRATE = 'https://w3id.org/ro/crate/1.1';

type Json = Record<string, unknown>;
const ref = (id: string) => ({ '@id': id });

/** RO-Crate ids: absolute URNs for data, `#…` for contextual entities. */
function crateId(node: LineageNode): string {
  if (node.redacted) return `#${node.id.replace(':', '-')}`;
  const key = node.id.slice(node.id.indexOf(':') + 1);
  switch (node.type) {
    case 'Image':
    case 'Plate':
    case 'SourceFile':
      return `${OG_NAMESPACE}${node.type}:${encodeURIComponent(key)}`;
    default:
      return `#${node.type.toLowerCase()}-${encodeURIComponent(key)}`;
  }
}

const STATUS = {
  COMPLETED: 'http://schema.org/CompletedActionStatus',
  FAILED: 'http://schema.org/FailedActionStatus',
  RUNNING: 'http://schema.org/ActiveActionStatus',
} as const;

const IMPORTER = '#software-biomero-importer';

export function toRoCrate(lineage: Lineage, generatedAt: Date = lineage.asOf ?? new Date()): Json {
  const byId = new Map(lineage.nodes.map((n) => [n.id, n]));
  const idOf = (publicId: string) => crateId(byId.get(publicId)!);
  const edgesFrom = (from: string, relation: string) => lineage.edges.filter((e) => e.from === from && e.relation === relation).map((e) => e.to);
  const edgesTo = (to: string, relation: string) => lineage.edges.filter((e) => e.to === to && e.relation === relation).map((e) => e.from);

  const graph: Json[] = [];
  const data: string[] = [];
  const actions: string[] = [];
  let importerUsed = false;
  for (const node of lineage.nodes) {
    const id = crateId(node);
    if (node.redacted) {
      graph.push({ '@id': id, '@type': 'Thing', additionalType: node.type });
      continue;
    }
    const f = node.facts;
    switch (node.type) {
      case 'Image':
      case 'Plate':
      case 'SourceFile':
        data.push(id);
        graph.push({
          '@id': id,
          '@type': 'File',
          name: f.name ?? node.id,
          additionalType: node.type,
          ...(f.startedAt ? { dateCreated: f.startedAt.toISOString() } : {}),
        });
        break;
      case 'Experimenter':
        graph.push({ '@id': id, '@type': 'Person', name: f.name ?? f.userName ?? node.id, ...(f.userName ? { alternateName: f.userName } : {}) });
        break;
      case 'Workflow':
      case 'Software':
        graph.push({
          '@id': id,
          '@type': 'SoftwareApplication',
          name: f.software?.name ?? f.name ?? node.id,
          ...(f.software?.version ? { softwareVersion: f.software.version } : {}),
        });
        break;
      case 'WorkflowRun':
      case 'ImportOrder': {
        actions.push(id);
        const instrument =
          node.type === 'WorkflowRun'
            ? edgesFrom(node.id, 'HAD_PLAN').map(idOf)
            : [
                IMPORTER,
                ...edgesFrom(node.id, 'WAS_ASSOCIATED_WITH')
                  .filter((t) => byId.get(t)?.type === 'Software')
                  .map(idOf),
              ];
        if (node.type === 'ImportOrder') importerUsed = true;
        const agent = edgesFrom(node.id, 'WAS_ASSOCIATED_WITH')
          .filter((t) => byId.get(t)?.type === 'Experimenter')
          .map(idOf);
        const action: Json = {
          '@id': id,
          '@type': 'CreateAction',
          name:
            node.type === 'WorkflowRun'
              ? `Workflow run ${node.id.slice(node.id.indexOf(':') + 1)}${f.name ? ` (${f.name})` : ''}`
              : `Import order ${node.id.slice(node.id.indexOf(':') + 1)}`,
          object: edgesFrom(node.id, 'USED').map((t) => ref(idOf(t))),
          result: edgesTo(node.id, 'WAS_GENERATED_BY').map((s) => ref(idOf(s))),
          actionStatus: STATUS[f.status ?? 'RUNNING'],
        };
        if (instrument.length) action.instrument = instrument.length === 1 ? ref(instrument[0]) : instrument.map(ref);
        if (agent.length) action.agent = ref(agent[0]);
        if (f.startedAt) action.startTime = f.startedAt.toISOString();
        if (f.endedAt) action.endTime = f.endedAt.toISOString();
        if (f.status === 'FAILED' && f.error) action.error = f.error;
        graph.push(action);
        break;
      }
    }
  }
  if (importerUsed)
    graph.push({ '@id': IMPORTER, '@type': 'SoftwareApplication', name: 'BIOMERO.importer', url: 'https://github.com/NL-BioImaging/biomero-importer' });
  return {
    '@context': `${RO_CRATE}/context`,
    '@graph': [
      { '@id': 'ro-crate-metadata.json', '@type': 'CreativeWork', conformsTo: ref(RO_CRATE), about: ref('./') },
      {
        '@id': './',
        '@type': 'Dataset',
        name: `Provenance of ${lineage.root}`,
        description: `${lineage.direction.toLowerCase()} lineage of ${lineage.root}, depth ${lineage.depth}${lineage.asOf ? `, as of ${lineage.asOf.toISOString()}` : ''}, exported by omero-graph${lineage.truncated ? ' (truncated)' : ''}`,
        datePublished: generatedAt.toISOString(),
        conformsTo: ref(PROCESS_PROFILE),
        hasPart: data.map(ref),
        mentions: actions.map(ref),
      },
      { '@id': PROCESS_PROFILE, '@type': 'CreativeWork', name: 'Process Run Crate', version: '0.5' },
      ...graph,
    ],
  };
}
