/**
 * `npm run cache-config`: the configuration normalised client caches need, generated from
 * schema/supergraph.graphql into clients/cache-config.json (docs/clients.md, Caching):
 *
 *   possibleTypes   every interface and union → its object types (Apollo's `possibleTypes`,
 *                   graphcache's `schema` stand-in for fragment matching)
 *   typePolicies    Apollo `keyFields` where Apollo's default (`__typename:id`, when id is selected)
 *                   is not right: `false` for a value type (kept inside its parent, never merged
 *                   across queries), the key fields of the few entities keyed otherwise
 *   graphcacheKeys  the same for urql's graphcache `keys`: the key fields, or null for a value type
 *   entityTypes     object types with an identity (`__typename` + key is their global id)
 *   valueTypes      object types without one
 *
 * A type is an entity when it has a non-null `id: ID!`; the few listed in KEYS are keyed otherwise.
 *
 *   npm run cache-config              write the file
 *   npm run cache-config -- --check   exit 1, writing nothing, when the committed file is stale
 *
 * Self-contained (npm packages only) so that Node runs it straight from TypeScript, without a build.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSchema, getNamedType, isInterfaceType, isNonNullType, isObjectType, isUnionType, type GraphQLSchema } from 'graphql';

export const CACHE_CONFIG_PATH = join('clients', 'cache-config.json');

/**
 * Types whose key is not `id` alone. `id` of a workflow input reference names the object it points
 * at (Image 16, Dataset 16): only with the data type is it one thing.
 */
const KEYS: Record<string, string[] | false> = {
  WorkflowInputReference: ['dataType', 'id'],
};

export interface CacheConfig {
  possibleTypes: Record<string, string[]>;
  typePolicies: Record<string, { keyFields: string[] | false }>;
  graphcacheKeys: Record<string, string[] | null>;
  entityTypes: string[];
  valueTypes: string[];
}

/** Federation's and GraphQL's own types, which clients never see. */
function isInternal(name: string): boolean {
  return name.startsWith('__') || name.startsWith('join__') || name.startsWith('link__') || name === '_Service' || name === '_Entity';
}

export function cacheConfig(schema: GraphQLSchema): CacheConfig {
  const roots = new Set([schema.getQueryType()?.name, schema.getMutationType()?.name, schema.getSubscriptionType()?.name]);
  const types = Object.values(schema.getTypeMap()).filter((t) => !isInternal(t.name)).sort((a, b) => a.name.localeCompare(b.name));
  const config: CacheConfig = { possibleTypes: {}, typePolicies: {}, graphcacheKeys: {}, entityTypes: [], valueTypes: [] };
  for (const type of types) {
    if (isInterfaceType(type) || isUnionType(type)) {
      config.possibleTypes[type.name] = schema.getPossibleTypes(type).map((t) => t.name).sort();
    }
    if (!isObjectType(type) || roots.has(type.name)) continue;
    const id = type.getFields().id;
    const byId = id && isNonNullType(id.type) && getNamedType(id.type).name === 'ID' ? ['id'] : false;
    const keys = type.name in KEYS ? KEYS[type.name] : byId;
    // keyFields ['id'] would make Apollo throw on every selection without id; its default does the same keying
    if (!byId || type.name in KEYS) config.typePolicies[type.name] = { keyFields: keys };
    config.graphcacheKeys[type.name] = keys || null;
    (keys ? config.entityTypes : config.valueTypes).push(type.name);
  }
  return config;
}

export function cacheConfigJson(root: string): string {
  const schema = buildSchema(readFileSync(join(root, 'schema', 'supergraph.graphql'), 'utf8'));
  return JSON.stringify(cacheConfig(schema), null, 2) + '\n';
}

function main(argv: string[]): number {
  const root = process.cwd(); // npm run runs at the project root
  const target = join(root, CACHE_CONFIG_PATH);
  const json = cacheConfigJson(root);
  if (argv.includes('--check')) {
    if (!existsSync(target) || readFileSync(target, 'utf8') !== json) {
      console.error(`${CACHE_CONFIG_PATH} is stale: run \`npm run cache-config\`.`);
      return 1;
    }
    return 0;
  }
  writeFileSync(target, json);
  console.log(`wrote ${target}`);
  return 0;
}

if (/[\/]clients[\/]cache-config\.(ts|js)$/.test(process.argv[1] ?? '')) process.exitCode = main(process.argv.slice(2));
