import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { projectRoot } from '../database/paths';

/** The committed, composed supergraph (npm run compose). */
export function readSupergraph(): string {
  return readFileSync(join(projectRoot(), 'schema', 'supergraph.graphql'), 'utf8');
}

/** Subgraph name → routing URL, as composed into the join__Graph enum. */
export function routingUrls(supergraphSdl: string): Record<string, string> {
  const urls: Record<string, string> = {};
  for (const m of supergraphSdl.matchAll(/@join__graph\(name:\s*"([^"]+)",\s*url:\s*"([^"]*)"\)/g)) urls[m[1]] = m[2];
  return urls;
}

/**
 * Points subgraphs at other URLs than the composed ones (tests on free ports, production
 * overrides such as OMERO_SUBGRAPH_URL) without recomposing.
 */
export function withRoutingUrls(supergraphSdl: string, overrides: Record<string, string>): string {
  return supergraphSdl.replace(/@join__graph\(name:\s*"([^"]+)",\s*url:\s*"([^"]*)"\)/g, (whole, name: string) =>
    overrides[name] ? `@join__graph(name: "${name}", url: "${overrides[name]}")` : whole,
  );
}
