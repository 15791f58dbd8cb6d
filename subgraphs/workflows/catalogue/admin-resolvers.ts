import { GraphQLError } from 'graphql';
import { requireIdentity } from '../../common/access';
import { codedError } from '../../common/errors';
import type { Caller, Identity } from '../../common/identity';
import { logger } from '../../common/logger';
import {
  CatalogueAdmin,
  catalogueAdminSettingsFromEnv,
  mayEditCatalogue,
  type CatalogueAdminSettings,
  type HistoryEntry,
  type WorkflowDefinition,
} from './admin';
import type { CatalogueWorkflow } from './catalogue';
import { CatalogueWatch, type CatalogueVersion } from './watch';

/**
 * The catalogue administration part of the workflows subgraph: workflowCatalogue,
 * workflowCatalogueHistory, setWorkflow, removeWorkflow, workflowCatalogueUpdated.
 */
export interface CatalogueEditing {
  admin: CatalogueAdmin;
  watch: CatalogueWatch;
}

/** The editor and the watch of a configured catalogue file, or null when there is none. */
export function catalogueEditing(configFile: string | null, settings: CatalogueAdminSettings = catalogueAdminSettingsFromEnv()): CatalogueEditing | null {
  if (!configFile) return null;
  return { admin: new CatalogueAdmin(configFile, settings), watch: new CatalogueWatch(configFile, settings.pollIntervalMs) };
}

interface SetWorkflowArgs {
  input: WorkflowDefinition & { expectedVersion: string };
}

type Ctx = { caller: Caller };

function unavailable(): GraphQLError {
  return codedError('CATALOGUE_UNAVAILABLE', 'No workflow catalogue is configured (WORKFLOWS_CONFIG_FILE).');
}

export function catalogueAdminResolvers(editing: CatalogueEditing | null, readCatalogue: () => Promise<CatalogueWorkflow[]>) {
  const requireEditor = (caller: Caller): { identity: Identity; editing: CatalogueEditing } => {
    const identity = requireIdentity(caller);
    if (!editing) throw unavailable();
    if (!mayEditCatalogue(identity, editing.admin.settings.adminGroup)) {
      throw codedError(
        'FORBIDDEN',
        'Only OMERO administrators and members of the workflow administrators group (WORKFLOW_ADMIN_GROUP) may edit the workflow catalogue.',
      );
    }
    return { identity, editing };
  };
  const changed = async (editing: CatalogueEditing, version: string, name: string | null) => {
    await editing.watch.check(); // open streams hear of our own edit at once
    const workflow = name ? ((await readCatalogue()).find((w) => w.name === name) ?? null) : null;
    return { version, workflow };
  };

  return {
    Query: {
      workflowCatalogue: async (_: unknown, __: unknown, ctx: Ctx) => {
        const identity = requireIdentity(ctx.caller);
        if (!editing) return { configured: false, version: null, mayEdit: false };
        return { configured: true, version: await editing.admin.version(), mayEdit: mayEditCatalogue(identity, editing.admin.settings.adminGroup) };
      },
      workflowCatalogueHistory: (_: unknown, __: unknown, ctx: Ctx): Promise<HistoryEntry[]> => requireEditor(ctx.caller).editing.admin.history(),
    },
    Mutation: {
      setWorkflow: async (_: unknown, { input }: SetWorkflowArgs, ctx: Ctx) => {
        const { identity, editing } = requireEditor(ctx.caller);
        const { expectedVersion, ...definition } = input;
        const version = await editing.admin.setWorkflow(definition, expectedVersion, { userName: identity.userName, userId: identity.userId });
        logger.info({ workflow: input.name, version, by: identity.userName }, 'setWorkflow');
        return changed(editing, version, input.name.trim().toLowerCase());
      },
      removeWorkflow: async (_: unknown, args: { name: string; expectedVersion: string }, ctx: Ctx) => {
        const { identity, editing } = requireEditor(ctx.caller);
        const version = await editing.admin.removeWorkflow(args.name, args.expectedVersion, { userName: identity.userName, userId: identity.userId });
        logger.info({ workflow: args.name, version, by: identity.userName }, 'removeWorkflow');
        return changed(editing, version, null);
      },
    },
    Subscription: {
      workflowCatalogueUpdated: {
        subscribe: async (_: unknown, args: { since?: string | null }, ctx: Ctx) => {
          requireIdentity(ctx.caller);
          if (!editing) throw unavailable();
          return editing.watch.subscribe(args.since ?? (await editing.admin.version()));
        },
        resolve: (update: CatalogueVersion) => update,
      },
    },
    WorkflowCatalogueUpdate: {
      workflows: () => readCatalogue(),
    },
  };
}
