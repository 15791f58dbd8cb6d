import { badInput } from '../common/errors';
import { globalId, PROV_KIND, type NodeRef, type NodeType } from './ids';
import type { Edge, LineageSource } from './source/edges';

/** Limits of a lineage request (docs/limits.md). */
export const MAX_DEPTH = 20;
export const DEFAULT_MAX_NODES_PER_HOP = 500;

export type Direction = 'UPSTREAM' | 'DOWNSTREAM' | 'BOTH';

export interface LineageNode {
  id: string;
  type: NodeType;
  kind: 'ENTITY' | 'ACTIVITY' | 'AGENT';
  hop: number;
  redacted: boolean;
  ref: NodeRef | null;
}

export interface Lineage {
  root: string;
  nodes: LineageNode[];
  edges: Edge[];
  truncated: boolean;
  redactedCount: number;
}

function refOf(id: string): NodeRef {
  const idx = id.indexOf(':');
  return { type: id.slice(0, idx) as NodeType, key: id.slice(idx + 1) };
}

/** Edges touching the frontier, in the asked direction: one statement per source and node type. */
async function edgesOf(source: LineageSource, frontier: NodeRef[], direction: Direction): Promise<Edge[]> {
  const keys = (type: NodeType) => frontier.filter((n) => n.type === type).map((n) => n.key);
  const images = keys('Image').map(Number);
  const orders = keys('ImportOrder');
  const runs = keys('WorkflowRun');
  const reads: Promise<Edge[]>[] = [];
  if (direction !== 'DOWNSTREAM') {
    if (images.length) reads.push(source.generatorsOfImages(images));
    if (runs.length) reads.push(source.inputsOfRuns(runs));
  }
  if (direction !== 'UPSTREAM') {
    if (images.length) reads.push(source.runsUsingImages(images));
    if (orders.length || runs.length) reads.push(source.imagesGeneratedBy(orders, runs));
  }
  return (await Promise.all(reads)).flat();
}

/**
 * Breadth-first walk from `root`: each node is visited once (cycles and diamonds included), at the
 * hop where it was first reached. Nodes the caller may not see become placeholders that reveal only
 * their type, and the walk does not continue through them.
 */
export async function walkLineage(source: LineageSource, root: NodeRef, direction: Direction, depth: number, maxNodesPerHop = DEFAULT_MAX_NODES_PER_HOP): Promise<Lineage> {
  if (!Number.isInteger(depth) || depth < 0 || depth > MAX_DEPTH) throw badInput(`depth must be between 0 and ${MAX_DEPTH}.`, 'depth');
  const rootId = globalId(root);
  const nodes = new Map<string, LineageNode>();
  const placeholders = new Map<string, string>();
  const edges = new Map<string, Edge>();
  let truncated = false;

  const publicId = (id: string) => placeholders.get(id) ?? id;
  const admit = async (ids: string[], hop: number): Promise<NodeRef[]> => {
    const refs = ids.map(refOf);
    const visible = await source.visible(
      refs.filter((r) => r.type === 'Image').map((r) => Number(r.key)),
      refs.filter((r) => r.type === 'ImportOrder').map((r) => r.key),
      refs.filter((r) => r.type === 'WorkflowRun').map((r) => r.key),
    );
    const next: NodeRef[] = [];
    for (const ref of refs) {
      const id = globalId(ref);
      if (visible.has(id)) {
        nodes.set(id, { id, type: ref.type, kind: PROV_KIND[ref.type], hop, redacted: false, ref });
        next.push(ref);
      } else {
        const placeholder = `redacted:${placeholders.size + 1}`;
        placeholders.set(id, placeholder);
        nodes.set(id, { id: placeholder, type: ref.type, kind: PROV_KIND[ref.type], hop, redacted: true, ref: null });
      }
    }
    return next;
  };

  let frontier = await admit([rootId], 0);
  for (let hop = 1; hop <= depth && frontier.length > 0; hop++) {
    const found = await edgesOf(source, frontier, direction);
    const fresh: string[] = [];
    for (const edge of found) {
      for (const end of [edge.from, edge.to]) {
        if (!nodes.has(end) && !fresh.includes(end)) fresh.push(end);
      }
    }
    let admitted = fresh;
    if (fresh.length > maxNodesPerHop) {
      truncated = true;
      admitted = fresh.slice(0, maxNodesPerHop);
    }
    frontier = admitted.length ? await admit(admitted, hop) : [];
    for (const edge of found) {
      if (!nodes.has(edge.from) || !nodes.has(edge.to)) continue; // cut by the per-hop limit
      const key = `${edge.relation}|${edge.from}|${edge.to}`;
      if (!edges.has(key)) edges.set(key, edge);
    }
  }
  const all = [...nodes.values()];
  return {
    root: publicId(rootId),
    nodes: all,
    edges: [...edges.values()].map((e) => ({ relation: e.relation, from: publicId(e.from), to: publicId(e.to) })),
    truncated,
    redactedCount: all.filter((n) => n.redacted).length,
  };
}
