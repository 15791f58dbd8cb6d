import { requireIdentity } from '../common/access';
import type { SubgraphContext } from '../common/server';
import { parseGlobalId } from './ids';
import { LineageSource } from './source/edges';
import { walkLineage, type Direction, type LineageNode } from './walk';
import type pg from 'pg';

export interface ProvenanceSources {
  lineage: LineageSource;
}
type Ctx = SubgraphContext<ProvenanceSources>;

export function provenanceResolvers(options: { maxNodesPerHop: number }) {
  return {
    Query: {
      lineage: (_: unknown, args: { of: string; direction: Direction; depth: number }, ctx: Ctx) => {
        requireIdentity(ctx.caller);
        return walkLineage(ctx.sources.lineage, parseGlobalId(args.of), args.direction, args.depth, options.maxNodesPerHop);
      },
    },
    LineageNode: {
      entity: (node: LineageNode) => {
        if (!node.ref) return null;
        const { type, key } = node.ref;
        return type === 'ImportOrder' ? { __typename: type, uuid: key } : { __typename: type, id: key };
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
