/**
 * `npm run resolver-types`: each subgraph's resolver types (subgraphs/<name>/generated/resolver-types.ts),
 * generated with GraphQL Code Generator (typescript + typescript-resolvers, federation) from its SDL,
 * schema/<name>.graphql, the source of truth. Each subgraph's resolvers object is typed `Resolvers`:
 * a field the SDL lacks, a wrong argument or a parent of the wrong shape fails `npm run typecheck`.
 *
 *   npm run resolver-types              write the generated files
 *   npm run resolver-types -- --check   exit 1, writing nothing, when a generated file is stale
 *
 * Mappers name the TypeScript values the sources return for a GraphQL type (e.g. WorkflowRun → the
 * fold's run), so resolvers receive their parents as they really are, not as the SDL's shape.
 * Self-contained (npm packages only) so that Node runs it straight from TypeScript, without a build.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { codegen } from '@graphql-codegen/core';
import * as typescript from '@graphql-codegen/typescript';
import * as typescriptResolvers from '@graphql-codegen/typescript-resolvers';
import { parse } from 'graphql';

/**
 * What one subgraph's generated file needs: `import type` lines (paths relative to its generated/
 * folder) and, per GraphQL type, the TypeScript value resolvers return for it — their children's
 * parent. Types not mapped are the SDL's shape.
 */
interface SubgraphTypes {
  /** the name of the subgraph's per-request sources: resolvers receive SubgraphContext<Sources> */
  sources: string;
  imports: string[];
  mappers: Record<string, string>;
  /**
   * enums whose resolvers map the SDL's values to internal ones: arguments then carry the internal
   * values, and the generated type holds the resolvers' map to exactly this one
   */
  enumValues?: Record<string, Record<string, string>>;
}

export const SUBGRAPH_TYPES: Record<string, SubgraphTypes> = {
  imports: {
    sources: 'ImportSources',
    imports: [
      "import type { Connection } from '../../common/pagination';",
      "import type { GroupFolderMapping as GroupFolderMappingModel, MappingsSnapshot } from '../config/mappings';",
      "import type { ImportSources } from '../resolvers';",
      "import type { ImportOrder as ImportOrderModel, PreprocessingRow, StageRow } from '../source/orders';",
    ],
    mappers: {
      ImportOrder: 'ImportOrderModel',
      ImportOrderConnection: 'Connection<ImportOrderModel>',
      ImportOrderEvent: 'StageRow',
      Preprocessing: 'PreprocessingRow',
      GroupFolderMappings: 'MappingsSnapshot & { mountPath: string }',
      GroupFolderMapping: 'GroupFolderMappingModel',
      SourceFile: '{ path: string }',
    },
    enumValues: { DestinationType: { DATASET: 'Dataset', SCREEN: 'Screen' } },
  },
  workflows: {
    sources: 'WorkflowSources',
    imports: [
      "import type { Connection } from '../../common/pagination';",
      "import type { CatalogueWorkflow, SbatchOption as SbatchOptionModel } from '../catalogue/catalogue';",
      "import type { CatalogueVersion } from '../catalogue/watch';",
      "import type { SlurmJob as SlurmJobModel, Task as TaskModel, WorkflowRun as WorkflowRunModel } from '../fold';",
      "import type { LaunchResult } from '../launch/run-workflow';",
      "import type { WorkflowSources } from '../resolvers';",
      "import type { WorkflowStatisticsBucket, WorkflowStatisticsTable as WorkflowStatisticsTableModel } from '../source/statistics';",
      "import type { ApiEvent, RunUpdate } from '../updates';",
    ],
    mappers: {
      WorkflowRun: 'WorkflowRunModel',
      WorkflowRunConnection: 'Connection<WorkflowRunModel>',
      Task: 'TaskModel',
      SlurmJob: 'SlurmJobModel',
      WorkflowRunEvent: 'ApiEvent',
      WorkflowRunEventConnection: 'Connection<ApiEvent>',
      WorkflowRunUpdate: 'RunUpdate',
      Workflow: 'CatalogueWorkflow',
      WorkflowConnection: 'Connection<CatalogueWorkflow>',
      SbatchOption: 'SbatchOptionModel',
      WorkflowStatistics: 'WorkflowStatisticsBucket',
      WorkflowStatisticsTable: 'WorkflowStatisticsTableModel',
      WorkflowInputReference: '{ dataType: string; id: string }',
      RunWorkflowResult: 'LaunchResult',
      WorkflowCatalogueUpdate: 'CatalogueVersion',
      Image: '{ id: string }',
    },
  },
  provenance: {
    sources: 'ProvenanceSources',
    imports: [
      "import type { ProvenanceSources } from '../resolvers';",
      "import type { Lineage as LineageModel, LineageNode as LineageNodeModel } from '../walk';",
    ],
    mappers: {
      Lineage: 'LineageModel',
      LineageNode: 'LineageNodeModel',
    },
  },
  forms: {
    sources: 'FormSources',
    imports: [
      "import type { Connection } from '../../common/pagination';",
      "import type { FormDefinition, FormSubmission as FormSubmissionModel, FormVersion as FormVersionModel } from '../parse';",
      "import type { FormSources } from '../resolvers';",
    ],
    mappers: {
      Form: 'FormDefinition',
      FormConnection: 'Connection<FormDefinition>',
      FormVersion: 'FormVersionModel',
      FormSubmission: 'FormSubmissionModel',
      FormSubmissionConnection: 'Connection<FormSubmissionModel>',
      Project: '{ id: string }',
      Dataset: '{ id: string }',
      Screen: '{ id: string }',
      Plate: '{ id: string }',
      Image: '{ id: string }',
    },
    enumValues: { FormObjectType: { PROJECT: 'Project', DATASET: 'Dataset', SCREEN: 'Screen', PLATE: 'Plate' } },
  },
  omero: {
    sources: 'OmeroSources',
    imports: [
      "import type { Connection } from '../../common/pagination';",
      "import type { OmeroSources } from '../resolvers';",
      'import type {',
      '  AnnotationRecord, ChannelRecord, DatasetRecord, ExperimenterRecord, FilesetRecord, GroupRecord, ImageRecord, ListFilter, OriginalFileRecord,',
      '  PixelsRecord, PlateAcquisitionRecord, PlateRecord, ProjectRecord, RoiRecord, ScreenRecord, ShapeRecord, WellRecord, WellSampleRecord,',
      "} from '../source/types';",
    ],
    mappers: {
      Project: 'ProjectRecord',
      ProjectConnection: 'Connection<ProjectRecord>',
      Dataset: 'DatasetRecord',
      DatasetConnection: 'Connection<DatasetRecord>',
      Image: 'ImageRecord',
      ImageConnection: 'Connection<ImageRecord>',
      Pixels: 'PixelsRecord & { imageId: number }',
      Channel: 'ChannelRecord',
      Screen: 'ScreenRecord',
      ScreenConnection: 'Connection<ScreenRecord>',
      Plate: 'PlateRecord',
      PlateConnection: 'Connection<PlateRecord>',
      PlateAcquisition: 'PlateAcquisitionRecord',
      Well: 'WellRecord',
      WellConnection: 'Connection<WellRecord>',
      WellSample: 'WellSampleRecord',
      Roi: 'RoiRecord',
      ...Object.fromEntries(['Rectangle', 'Mask', 'Ellipse', 'Point', 'Label', 'Line', 'Polyline', 'Polygon'].map((shape) => [shape, 'ShapeRecord'])),
      Fileset: 'FilesetRecord',
      OriginalFile: 'OriginalFileRecord',
      Experimenter: 'ExperimenterRecord',
      ExperimenterGroup: 'GroupRecord',
      GroupMembership: '{ group: GroupRecord; leader: boolean | null }',
      ...Object.fromEntries(['MapAnnotation', 'TagAnnotation', 'CommentAnnotation', 'FileAnnotation'].map((kind) => [kind, 'AnnotationRecord'])),
      KeyValueMatches: 'ListFilter',
      ImportOrder: '{ uuid: string }',
      WorkflowRun: '{ id: string }',
    },
  },
};

export function generatedPath(name: string): string {
  return join('subgraphs', name, 'generated', 'resolver-types.ts');
}

export async function generate(root: string, name: string): Promise<string> {
  const types = SUBGRAPH_TYPES[name];
  const header = [
    `// Generated by \`npm run resolver-types\` from schema/${name}.graphql. Do not edit.`,
    "import type { SubgraphContext } from '../../common/server';",
    ...types.imports,
    '',
  ].join('\n');
  const output = await codegen({
    filename: generatedPath(name),
    schema: parse(readFileSync(join(root, 'schema', `${name}.graphql`), 'utf8')),
    documents: [],
    plugins: [{ typescript: {} }, { typescriptResolvers: {} }],
    pluginMap: { typescript, typescriptResolvers },
    config: {
      federation: true,
      useTypeImports: true,
      enumsAsTypes: true,
      contextType: `SubgraphContext<${types.sources}>`,
      mappers: types.mappers,
      enumValues: types.enumValues ?? {},
      // abstract types are resolved by __typename: values returned for them must carry it
      resolversNonOptionalTypename: { unionMember: true, interfaceImplementingType: true },
      // what common/scalars.ts accepts when serializing (output) and produces when parsing (input)
      scalars: {
        ID: 'string', // as arguments and entity references carry them
        DateTime: { input: 'Date', output: 'Date | string' },
        JSON: 'unknown',
        _FieldSet: 'string', // the federation spec's, declared by codegen for @key
      },
      strictScalars: true,
    },
  });
  return header + output;
}

async function main(argv: string[]): Promise<number> {
  const root = process.cwd(); // npm run runs at the project root
  const check = argv.includes('--check');
  let stale = 0;
  for (const name of Object.keys(SUBGRAPH_TYPES)) {
    const path = generatedPath(name);
    const generated = await generate(root, name);
    if (check) {
      let committed = '';
      try {
        committed = readFileSync(join(root, path), 'utf8');
      } catch {
        // missing counts as stale
      }
      if (committed !== generated) {
        console.error(`${path} is stale: run npm run resolver-types`);
        stale++;
      }
      continue;
    }
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), generated);
    console.log(`resolver types → ${path}`);
  }
  if (check && stale === 0) console.log('resolver types are up to date');
  return stale === 0 ? 0 : 1;
}

if (process.argv[1] && /resolver-types\.(ts|js)$/.test(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
