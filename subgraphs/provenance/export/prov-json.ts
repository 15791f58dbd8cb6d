import type { NodeType } from '../ids';
import type { Lineage, LineageNode } from '../walk';

/**
 * The lineage as W3C PROV-JSON (W3C Member Submission 2013-04-24): `prefix`, `entity`,
 * `activity`, `agent` and one map per relation, relation ids as blank nodes. Node ids are QNames
 * in our own `og` namespace; typed values use the `{"$": …, "type": …}` form. A redacted node
 * appears only with its placeholder id and type, nothing else.
 */
export const OG_NAMESPACE = 'urn:omero-graph:';

type Json = Record<string, unknown>;

const PROV_TYPE: Partial<Record<NodeType, string>> = {
  Experimenter: 'prov:Person',
  Software: 'prov:SoftwareAgent',
  Workflow: 'prov:Plan',
};

/** `og:Image/42`; keys are percent-encoded so paths and uuids stay valid QName local parts. */
export function qname(id: string): string {
  const idx = id.indexOf(':');
  return `og:${id.slice(0, idx)}/${encodeURIComponent(id.slice(idx + 1))}`;
}

const qn = (value: string) => ({ $: value, type: 'xsd:QName' });
const time = (d: Date | null | undefined) => (d ? d.toISOString() : undefined);

function attributes(node: LineageNode): Json {
  const attrs: Json = { 'og:type': node.type, 'og:hop': node.hop };
  if (node.redacted) return { ...attrs, 'og:redacted': true };
  const typed = PROV_TYPE[node.type];
  if (typed) attrs['prov:type'] = qn(typed);
  const f = node.facts;
  if (f.name) attrs['prov:label'] = f.name;
  if (f.software?.version) attrs['og:version'] = f.software.version;
  if (node.kind === 'ACTIVITY') {
    if (f.startedAt) attrs['prov:startTime'] = time(f.startedAt);
    if (f.endedAt) attrs['prov:endTime'] = time(f.endedAt);
    if (f.status) attrs['og:status'] = f.status;
    if (f.error) attrs['og:error'] = f.error;
  } else if (node.kind === 'ENTITY' && f.startedAt) {
    attrs['og:createdAt'] = time(f.startedAt);
  }
  if (f.userName && node.type === 'Experimenter') attrs['og:userName'] = f.userName;
  return attrs;
}

export function toProvJson(lineage: Lineage): Json {
  const doc: Record<string, Json> = {
    prefix: { og: OG_NAMESPACE },
    entity: {},
    activity: {},
    agent: {},
  };
  const byPublicId = new Map(lineage.nodes.map((n) => [n.id, n]));
  for (const node of lineage.nodes) {
    const bucket = node.kind === 'ENTITY' ? doc.entity : node.kind === 'ACTIVITY' ? doc.activity : doc.agent;
    bucket[node.redacted ? `og:${node.id.replace(':', '/')}` : qname(node.id)] = attributes(node);
  }
  const id = (publicId: string) => {
    const node = byPublicId.get(publicId);
    return node?.redacted ? `og:${publicId.replace(':', '/')}` : qname(publicId);
  };
  const counters = new Map<string, number>();
  const add = (relation: string, attrs: Json) => {
    const n = (counters.get(relation) ?? 0) + 1;
    counters.set(relation, n);
    (doc[relation] ??= {})[`_:${relation}${n}`] = attrs;
  };
  // a plan rides on the run's association with its user (PROV-DM's qualified association)
  const plans = new Map<string, string>();
  for (const e of lineage.edges) if (e.relation === 'HAD_PLAN') plans.set(e.from, e.to);
  const planned = new Set<string>();
  for (const e of lineage.edges) {
    switch (e.relation) {
      case 'USED':
        add('used', { 'prov:activity': id(e.from), 'prov:entity': id(e.to) });
        break;
      case 'WAS_GENERATED_BY':
        add('wasGeneratedBy', { 'prov:entity': id(e.from), 'prov:activity': id(e.to) });
        break;
      case 'WAS_DERIVED_FROM':
        add('wasDerivedFrom', { 'prov:generatedEntity': id(e.from), 'prov:usedEntity': id(e.to) });
        break;
      case 'WAS_ATTRIBUTED_TO':
        add('wasAttributedTo', { 'prov:entity': id(e.from), 'prov:agent': id(e.to) });
        break;
      case 'WAS_ASSOCIATED_WITH': {
        const plan = byPublicId.get(e.to)?.type === 'Experimenter' ? plans.get(e.from) : undefined;
        if (plan) planned.add(e.from);
        add('wasAssociatedWith', { 'prov:activity': id(e.from), 'prov:agent': id(e.to), ...(plan ? { 'prov:plan': id(plan) } : {}) });
        break;
      }
      case 'HAD_PLAN':
        break; // below, once every association has been seen
    }
  }
  for (const [activity, plan] of plans) {
    if (!planned.has(activity)) add('wasAssociatedWith', { 'prov:activity': id(activity), 'prov:plan': id(plan) });
  }
  return doc;
}
