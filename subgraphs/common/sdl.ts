import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, type DocumentNode } from 'graphql';
import { projectRoot } from '../../database/paths';

/** A subgraph's SDL lives in schema/<name>.graphql: the single source of truth, also used by composition. */
export function loadSubgraphSdl(name: string): DocumentNode {
  return parse(readFileSync(join(projectRoot(), 'schema', `${name}.graphql`), 'utf8'));
}
