import { requireIdentity } from '../common/access';
import { badInput } from '../common/errors';
import { scalarResolvers } from '../common/scalars';
import type { SubgraphContext } from '../common/server';
import { toProvJson } from './export/prov-json';
import { toRoCrate } from './export/ro-crate';
import { parseGlobalId } from './ids';
import { LineageSource } from './source/edges';
import { walkLineage, type Direction, type Lineage, type LineageNode } from './walk';
import type pg from 'pg';

export interface ProvenanceSources {
  lineage: LineageSource;
}
type Ctx = SubgraphContext<ProvenanceSources>;

/** Node types that are entities of another subgraph, and the key they are referenced by. */
const ENTITY_KEYS: Record<string, string> = { Image: 'id', Plate: 'id', Experimenter: 'id', WorkflowRun: 'id', ImportOrder: 'uuid', SourceFile: 'path' };

export function provenanceResolvers(options: { maxNodesPerHop: number }) {
  return {
    ...scalarResolvers,
    Query: {
      lineage: (_: unknown, args: { of: string; direction: Direction; depth: number; asOf?: Date | null }, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        if (args.asOf && args.asOf.getTime() > Date.now() + 60_000) throw badInput('asOf must not be in the future.', 'asOf');
        return walkLineage(ctx.sources.lineage, parseGlobalId(args.of), {
          direction: args.direction, depth: args.depth, asOf: args.asOf ?? null, maxNodesPerHop: options.maxNodesPerHop,
        });
      },
    },
    Lineage: {
      provJson: (lineage: Lineage) => toProvJson(lineage),
      roCrate: (lineage: Lineage) => toRoCrate(lineage),
    },
    LineageNode: {
      label: (node: LineageNode) => (node.redacted ? null : node.type === 'Workflow' || node.type === 'Software'
        ? `${node.facts.software?.name ?? node.facts.name}${node.facts.software?.version ? `@${node.facts.software.version}` : ''}`
        : node.facts.name ?? null),
      startedAt: (node: LineageNode) => node.facts.startedAt ?? null,
      endedAt: (node: LineageNode) => node.facts.endedAt ?? null,
      status: (node: LineageNode) => (node.kind === 'ACTIVITY' ? node.facts.status ?? null : null),
      entity: (node: LineageNode) => {
        const keyField = ENTITY_KEYS[node.type];
        if (!node.ref || !keyField) return null;
        return { __typename: node.type, [keyField]: node.ref.key };
      },
    },
    LineageEntity: {
      __resolveType: (value: { __typename: string }) => value.__typename,
    },
  };
}

export function createProvenanceSources(omero: pg.Pool, biomero: pg.Pool) {
  return (caller: Ctx['caller']): ProvenanceSources => ({ lineage: new LineageSource(omero, biomero, caller) });
}
