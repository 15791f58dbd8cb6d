import { badInput } from '../common/errors';
import { globalId, PROV_KIND, refOf, type NodeRef, type NodeType, type ProvKind } from './ids';
import type { Edge, Frontier, LineageSource, NodeFacts, Scope } from './source/edges';

/** Limits of a lineage request (docs/limits.md). */
export const MAX_DEPTH = 20;
export const DEFAULT_MAX_NODES_PER_HOP = 500;

export type Direction = 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';

export interface LineageNode {
  /** public id: the global id, or `redacted:<n>` for a node the caller may not see */
  id: string;
  type: NodeType;
  kind: ProvKind;
  hop: number;
  redacted: boolean;
  /** null when redacted */
  ref: NodeRef | null;
  /** what admission learnt (names, times, status as of `asOf`); empty when redacted */
  facts: NodeFacts;
}

export interface Lineage {
  root: string;
  direction: Direction;
  depth: number;
  asOf: Date | null;
  nodes: LineageNode[];
  edges: Edge[];
  truncated: boolean;
  redactedCount: number;
  /** statements run per hop (index 0: admitting the root; the last: agents), for tests and benchmarks */
  statementsPerHop: number[];
}

export interface WalkOptions {
  direction: Direction;
  depth: number;
  asOf?: Date | null;
  maxNodesPerHop?: number;
}

function frontierOf(refs: NodeRef[]): Frontier {
  const keys = (type: NodeType) => refs.filter((r) => r.type === type).map((r) => r.key);
  return { images: keys('Image'), plates: keys('Plate'), orders: keys('ImportOrder'), runs: keys('WorkflowRun'), files: keys('SourceFile') };
}

/**
 * Breadth-first walk from `root`. Each hop reads the edges of the whole frontier with one
 * statement per database, then admits the new nodes with one more per database, so the cost grows
 * with depth, not with the number of nodes. Each node is visited once (cycles and diamonds
 * included), at the hop where it was first reached. A node the caller may not see (or that did
 * not exist at `asOf`) becomes a placeholder revealing only its type, and the walk stops there.
 * Agents (who ran or owns what, which software) and plans (the workflow version) are leaves,
 * added after the walk with one more statement.
 */
export async function walkLineage(source: LineageSource, root: NodeRef, options: WalkOptions): Promise<Lineage> {
  const { direction, depth } = options;
  const asOf = options.asOf ?? null;
  const maxNodesPerHop = options.maxNodesPerHop ?? DEFAULT_MAX_NODES_PER_HOP;
  if (!Number.isInteger(depth) || depth < 0 || depth > MAX_DEPTH) throw badInput(`depth must be between 0 and ${MAX_DEPTH}.`, 'depth');
  const scope: Scope = { upstream: direction !== 'DOWNSTREAM', downstream: direction !== 'UPSTREAM', asOf };
  const nodes = new Map<string, LineageNode>();
  const placeholders = new Map<string, string>();
  const edges = new Map<string, Edge>();
  const statementsPerHop: number[] = [];
  let truncated = false;
  let counted = source.statements;
  const closeHop = () => {
    statementsPerHop.push(source.statements - counted);
    counted = source.statements;
  };

  const admit = async (ids: string[], hop: number): Promise<NodeRef[]> => {
    const refs = ids.map(refOf);
    const f = frontierOf(refs);
    const [omero, biomero] = await Promise.all([source.admitOmero(f.images, f.plates, asOf), source.admitBiomero(f.orders, f.runs, f.files, asOf)]);
    const next: NodeRef[] = [];
    for (const ref of refs) {
      const id = globalId(ref);
      const facts = omero.get(id) ?? biomero.get(id);
      if (facts) {
        nodes.set(id, { id, type: ref.type, kind: PROV_KIND[ref.type], hop, redacted: false, ref, facts });
        next.push(ref);
      } else {
        const placeholder = `redacted:${placeholders.size + 1}`;
        placeholders.set(id, placeholder);
        nodes.set(id, { id: placeholder, type: ref.type, kind: PROV_KIND[ref.type], hop, redacted: true, ref: null, facts: {} });
      }
    }
    return next;
  };

  let frontier = await admit([globalId(root)], 0);
  closeHop();
  for (let hop = 1; hop <= depth && frontier.length > 0; hop++) {
    const f = frontierOf(frontier);
    const found = (await Promise.all([source.omeroEdges(f, scope), source.biomeroEdges(f, scope)])).flat();
    const fresh = new Set<string>();
    for (const edge of found) {
      for (const end of [edge.from, edge.to]) if (!nodes.has(end)) fresh.add(end);
    }
    let admitted = [...fresh];
    if (admitted.length > maxNodesPerHop) {
      truncated = true;
      admitted = admitted.slice(0, maxNodesPerHop);
    }
    frontier = admitted.length ? await admit(admitted, hop) : [];
    for (const edge of found) {
      if (!nodes.has(edge.from) || !nodes.has(edge.to)) continue; // cut by the per-hop limit
      edges.set(`${edge.relation}|${edge.from}|${edge.to}`, edge);
    }
    closeHop();
  }
  // The depth limit cut the walk short when the last frontier has edges to nodes not reached:
  // one more read of edges (no admission) tells, so `truncated` never hides a longer lineage. It
  // runs beside the agents' statement (neither changes what the other reads).
  const reached = new Set(nodes.keys());
  const lookBeyond = async (): Promise<boolean> => {
    if (frontier.length === 0 || truncated) return truncated;
    const f = frontierOf(frontier);
    const beyond = (await Promise.all([source.omeroEdges(f, scope), source.biomeroEdges(f, scope)])).flat();
    return beyond.some((e) => !reached.has(e.from) || !reached.has(e.to));
  };
  for (const edge of derivations([...edges.values()], nodes)) edges.set(`${edge.relation}|${edge.from}|${edge.to}`, edge);
  [truncated] = await Promise.all([lookBeyond(), addAgentsAndPlans(source, nodes, edges, depth)]);
  closeHop();

  const publicId = (id: string) => placeholders.get(id) ?? id;
  const all = [...nodes.values()];
  return {
    root: publicId(globalId(root)),
    direction,
    depth,
    asOf,
    nodes: all,
    edges: [...edges.values()].map((e) => ({ relation: e.relation, from: publicId(e.from), to: publicId(e.to) })),
    truncated,
    redactedCount: all.filter((n) => n.redacted).length,
    statementsPerHop,
  };
}

/** An object generated by a run was derived from each object that run used (both in the graph). */
function derivations(edges: Edge[], nodes: Map<string, LineageNode>): Edge[] {
  const used = new Map<string, string[]>();
  for (const e of edges) if (e.relation === 'USED' && e.from.startsWith('WorkflowRun:')) used.set(e.from, [...(used.get(e.from) ?? []), e.to]);
  const out: Edge[] = [];
  for (const e of edges) {
    if (e.relation !== 'WAS_GENERATED_BY' || !e.to.startsWith('WorkflowRun:') || nodes.get(e.to)?.redacted) continue;
    for (const input of used.get(e.to) ?? []) {
      if (!nodes.get(input)?.redacted && !nodes.get(e.from)?.redacted) out.push({ relation: 'WAS_DERIVED_FROM', from: e.from, to: input });
    }
  }
  return out;
}

/**
 * Who: owners of objects (wasAttributedTo) and users of activities (wasAssociatedWith), resolved
 * to OMERO experimenters in one statement; with what: the preprocessing container of an import
 * order (a Software agent) and the workflow version a run followed (hadPlan). Leaves at the hop
 * after the node they describe, within `depth`.
 */
async function addAgentsAndPlans(source: LineageSource, nodes: Map<string, LineageNode>, edges: Map<string, Edge>, depth: number): Promise<void> {
  const described = [...nodes.values()].filter((n) => !n.redacted && n.hop + 1 <= depth);
  const ids = [...new Set(described.map((n) => n.facts.userId).filter((v): v is number => typeof v === 'number' && v >= 0))];
  const names = [...new Set(described.map((n) => n.facts.userName).filter((v): v is string => !!v))];
  const people = await source.experimenters(ids, names);
  const byId = new Map(people.map((p) => [p.id, p]));
  const byName = new Map(people.map((p) => [p.userName, p]));
  const leaf = (id: string, type: NodeType, hop: number, facts: NodeFacts) => {
    const existing = nodes.get(id);
    if (!existing) nodes.set(id, { id, type, kind: PROV_KIND[type], hop, redacted: false, ref: refOf(id), facts });
    else if (existing.hop > hop) existing.hop = hop;
  };
  const link = (relation: Edge['relation'], from: string, to: string) => edges.set(`${relation}|${from}|${to}`, { relation, from, to });
  for (const n of described) {
    const person = n.facts.userId != null ? byId.get(n.facts.userId) : n.facts.userName ? byName.get(n.facts.userName) : undefined;
    if (person) {
      const agent = `Experimenter:${person.id}`;
      leaf(agent, 'Experimenter', n.hop + 1, { name: person.fullName || person.userName, userName: person.userName });
      link(n.kind === 'ENTITY' ? 'WAS_ATTRIBUTED_TO' : 'WAS_ASSOCIATED_WITH', n.id, agent);
    }
    const software = n.facts.software;
    if (!software) continue;
    const key = `${software.name}@${software.version ?? ''}`;
    if (n.type === 'WorkflowRun') {
      leaf(`Workflow:${key}`, 'Workflow', n.hop + 1, { name: software.name, software });
      link('HAD_PLAN', n.id, `Workflow:${key}`);
    } else {
      leaf(`Software:${key}`, 'Software', n.hop + 1, { name: software.name, software });
      link('WAS_ASSOCIATED_WITH', n.id, `Software:${key}`);
    }
  }
}
