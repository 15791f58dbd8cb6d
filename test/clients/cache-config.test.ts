import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_CONFIG_PATH, cacheConfigJson, SDK_CACHE_CONFIG_PATH, sdkCacheConfigModule, type CacheConfig } from '../../clients/cache-config';

const root = join(__dirname, '..', '..');
const committed = readFileSync(join(root, CACHE_CONFIG_PATH), 'utf8');
const config = JSON.parse(committed) as CacheConfig;

describe('clients/cache-config.json', () => {
  it('is what the generator makes from schema/supergraph.graphql (run `npm run cache-config` when this fails)', () => {
    expect(committed).toBe(cacheConfigJson(root));
    // and the SDK ships the same configuration
    expect(readFileSync(join(root, SDK_CACHE_CONFIG_PATH), 'utf8')).toBe(sdkCacheConfigModule(committed));
  });

  it('keys entities on __typename + id, the global id node(id:) takes', () => {
    for (const type of ['Image', 'Dataset', 'ImportOrder', 'SourceFile', 'WorkflowRun', 'FormVersion', 'FormSubmission', 'Workflow']) {
      expect(config.entityTypes).toContain(type);
      expect(config.typePolicies[type]).toBeUndefined(); // Apollo's default: __typename:id
      expect(config.graphcacheKeys[type]).toEqual(['id']);
    }
    expect(config.typePolicies.WorkflowInputReference).toEqual({ keyFields: ['dataType', 'id'] });
  });

  it('lists per-query objects as value types, never merged across queries', () => {
    for (const type of ['LineageNode', 'Lineage', 'PageInfo', 'ImportOrderEvent', 'ImageConnection']) {
      expect(config.valueTypes).toContain(type);
      expect(config.typePolicies[type]).toEqual({ keyFields: false });
      expect(config.graphcacheKeys[type]).toBeNull();
    }
    expect(config.entityTypes.filter((t) => config.valueTypes.includes(t))).toEqual([]);
  });

  it('lists the possible types of every interface and union', () => {
    expect(config.possibleTypes.Node).toEqual(
      expect.arrayContaining(['Image', 'Plate', 'Project', 'Dataset', 'ImportOrder', 'SourceFile', 'WorkflowRun', 'Experimenter']),
    );
    expect(config.possibleTypes.LineageEntity).toEqual(['Experimenter', 'Image', 'ImportOrder', 'Plate', 'SourceFile', 'WorkflowRun']);
    expect(config.possibleTypes.Shape).toContain('Polygon');
  });
});
