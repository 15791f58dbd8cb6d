import { requireIdentity } from '../common/access';
import { badInput } from '../common/errors';
import { scalarResolvers } from '../common/scalars';
import type { SubgraphContext } from '../common/server';
import { toProvJson } from './export/prov-json';
import { toRoCrate } from './export/ro-crate';
import { parseGlobalId, parseNodeId } from './ids';
import { LineageSource } from './source/edges';
import { NodeSource } from './source/nodes';
import { walkLineage, type Direction, type Lineage, type LineageNode } from './walk';
import type pg from 'pg';
import type { WorkflowCatalogue } from '../workflows/catalogue/catalogue';
import type { Resolvers, ResolversInterfaceTypes, ResolversTypes, ResolversUnionTypes } from './generated/resolver-types';

export interface ProvenanceSources {
  lineage: LineageSource;
  nodes: NodeSource;
}
type Ctx = SubgraphContext<ProvenanceSources>;

/** Node types that are entities of another subgraph, and the key they are referenced by. */
const ENTITY_KEYS: Record<string, string> = { Image: 'id', Plate: 'id', Experimenter: 'id', WorkflowRun: 'id', ImportOrder: 'uuid', SourceFile: 'path' };

/** Most ids `nodes(ids:)` takes at once (docs/limits.md). */
export const MAX_NODE_IDS = 100;

/**
 * The entity reference for a global id's type and key; `id` is set too (Node.id). The type is one
 * parseNodeId admitted or a lineage node's, and its key field comes from ENTITY_KEYS: a rule
 * TypeScript cannot follow, hence the casts to the generated Node and LineageEntity types.
 */
function entityReference(type: string, key: string): Record<string, string> {
  return { __typename: type, id: key, [ENTITY_KEYS[type] ?? 'id']: key };
}
type NodeReference = ResolversInterfaceTypes<ResolversTypes>['Node'];
type LineageEntityReference = ResolversUnionTypes<ResolversTypes>['LineageEntity'];

/** node/nodes: references to the visible objects, null for missing or hidden ones alike. */
async function resolveNodes(ids: readonly string[], ctx: Ctx): Promise<Array<NodeReference | null>> {
  requireIdentity(ctx.caller);
  const refs = ids.map(parseNodeId);
  const visible = await ctx.sources.nodes.visible(refs);
  return refs.map((r) => (visible.has(`${r.type}:${r.key}`) ? (entityReference(r.type, r.key) as NodeReference) : null));
}

export function provenanceResolvers(options: { maxNodesPerHop: number }): Resolvers {
  return {
    ...scalarResolvers,
    Query: {
      lineage: (_: unknown, args: { of: string; direction: Direction; depth: number; asOf?: Date | null }, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        if (args.asOf && args.asOf.getTime() > Date.now() + 60_000) throw badInput('asOf must not be in the future.', 'asOf');
        return walkLineage(ctx.sources.lineage, parseGlobalId(args.of), {
          direction: args.direction,
          depth: args.depth,
          asOf: args.asOf ?? null,
          maxNodesPerHop: options.maxNodesPerHop,
        });
      },
      node: async (_: unknown, args: { id: string }, ctx: Ctx) => (await resolveNodes([args.id], ctx))[0],
      nodes: (_: unknown, args: { ids: string[] }, ctx: Ctx) => {
        if (args.ids.length > MAX_NODE_IDS) throw badInput(`nodes takes at most ${MAX_NODE_IDS} ids.`, 'ids');
        return resolveNodes(args.ids, ctx);
      },
    },
    Node: {
      __resolveType: (value) => value.__typename,
    },
    Lineage: {
      provJson: (lineage: Lineage) => toProvJson(lineage),
      roCrate: (lineage: Lineage) => toRoCrate(lineage),
    },
    LineageNode: {
      nodeId: (node: LineageNode) => node.id,
      label: (node: LineageNode) =>
        node.redacted
          ? null
          : node.type === 'Workflow' || node.type === 'Software'
            ? `${node.facts.software?.name ?? node.facts.name}${node.facts.software?.version ? `@${node.facts.software.version}` : ''}`
            : (node.facts.name ?? null),
      startedAt: (node: LineageNode) => node.facts.startedAt ?? null,
      endedAt: (node: LineageNode) => node.facts.endedAt ?? null,
      status: (node: LineageNode) => (node.kind === 'ACTIVITY' ? (node.facts.status ?? null) : null),
      entity: (node: LineageNode) => {
        const keyField = ENTITY_KEYS[node.type];
        if (!node.ref || !keyField) return null;
        return entityReference(node.type, node.ref.key) as LineageEntityReference;
      },
    },
    LineageEntity: {
      __resolveType: (value) => value.__typename,
    },
  };
}

export function createProvenanceSources(omero: pg.Pool, biomero: pg.Pool, catalogue: WorkflowCatalogue) {
  return (caller: Ctx['caller']): ProvenanceSources => {
    const lineage = new LineageSource(omero, biomero, caller);
    return { lineage, nodes: new NodeSource(omero, biomero, lineage, caller, catalogue) };
  };
}
