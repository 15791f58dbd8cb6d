import { requireIdentity } from '../common/access';
import { badInput, codedError } from '../common/errors';
import type { PageArgs } from '../common/pagination';
import { scalarResolvers } from '../common/scalars';
import type { SubgraphContext } from '../common/server';
import { changesSince, diff } from './diff';
import { schemaFields } from './fields';
import { formSubmissionId, formVersionId, parseFormSubmissionId, parseFormVersionId } from './ids';
import type { FormDefinition, FormObjectType, FormSubmission, FormVersion } from './parse';
import type { FormsSource } from './source/forms';
import type { Resolvers } from './generated/resolver-types';
import type { SubmissionFilter } from './source/store';
import { instantToNaive, naiveToInstant } from './time';
import { validateFormData } from './validate';

export interface FormSources {
  forms: FormsSource;
  /** IANA zone OMERO.web wrote its naive timestamps in (FORMS_TIMEZONE) */
  timeZone: string;
}
type Ctx = SubgraphContext<FormSources>;

interface FilterArgs {
  formId?: string | null;
  version?: string | null;
  user?: string | null;
  from?: Date | null;
  to?: Date | null;
  objectType?: FormObjectType | null;
  objectId?: string | null;
}

function idArg(value: string | null | undefined, field: string): number | null {
  if (value === null || value === undefined) return null;
  if (!/^\d{1,18}$/.test(value)) throw badInput(`${field} must be a numeric OMERO id.`, field);
  return Number(value);
}

function submissionFilter(args: FilterArgs | null | undefined, timeZone: string): SubmissionFilter {
  return {
    formId: args?.formId ?? null,
    version: args?.version ?? null,
    userId: idArg(args?.user, 'user'),
    from: args?.from ? instantToNaive(args.from, timeZone) : null,
    to: args?.to ? instantToNaive(args.to, timeZone) : null,
    objectType: args?.objectType ?? null,
    objectId: idArg(args?.objectId, 'objectId'),
  };
}

const ref = (id: number | null) => (id === null ? null : { id: String(id) });

function container(type: FormObjectType) {
  return {
    __resolveReference: (reference: { id: string }) => reference,
    formSubmissions: async (obj: { id: string }, args: { formId?: string | null }, ctx: Ctx) => {
      if (!ctx.caller || !/^\d{1,18}$/.test(obj.id)) return [];
      const all = await ctx.sources.forms.submissionsOf(type, Number(obj.id));
      return args.formId ? all.filter((s) => s.formId === args.formId) : all;
    },
    formData: (obj: { id: string }, _: unknown, ctx: Ctx) => (ctx.caller && /^\d{1,18}$/.test(obj.id) ? ctx.sources.forms.latestOf(type, Number(obj.id)) : []),
  };
}

/** The version a submission names, when the caller may see the form. */
async function versionOf(s: FormSubmission, ctx: Ctx): Promise<{ form: FormDefinition; version: FormVersion | null } | null> {
  const form = await ctx.sources.forms.form(s.formId);
  if (!form) return null;
  return { form, version: form.versions.find((v) => v.timestamp === s.formTimestamp) ?? null };
}

export const resolvers: Resolvers = {
  ...scalarResolvers,
  Query: {
    forms: (_: unknown, args: PageArgs & { objectType?: FormObjectType | null; group?: string | null }, ctx: Ctx) => {
      requireIdentity(ctx.caller);
      return ctx.sources.forms.listForms({ objectType: args.objectType ?? null, groupId: idArg(args.group, 'group') }, args);
    },
    form: (_: unknown, args: { id: string }, ctx: Ctx) => {
      requireIdentity(ctx.caller);
      return ctx.sources.forms.form(args.id);
    },
    formSubmissions: (_: unknown, args: PageArgs & { filter?: FilterArgs | null }, ctx: Ctx) => {
      requireIdentity(ctx.caller);
      return ctx.sources.forms.submissions(submissionFilter(args.filter, ctx.sources.timeZone), args);
    },
    validateFormData: async (_: unknown, args: { formId: string; version?: string | null; data?: unknown }, ctx: Ctx) => {
      requireIdentity(ctx.caller);
      const form = await ctx.sources.forms.form(args.formId);
      if (!form) throw codedError('NOT_FOUND', `Form ${args.formId} not found.`, { formId: args.formId });
      const version = args.version == null ? form.versions[0] : form.versions.find((v) => v.timestamp === args.version);
      if (!version)
        throw codedError('NOT_FOUND', `Form ${args.formId} has no version ${args.version ?? '(none saved)'}.`, {
          formId: args.formId,
          version: args.version ?? null,
        });
      return { ...validateFormData(version, args.data ?? null), version };
    },
  },
  Form: {
    __resolveReference: (reference: { id: string }, ctx: Ctx) => (ctx.caller ? ctx.sources.forms.form(reference.id) : null),
    owners: (form: FormDefinition) => form.ownerIds.map((id) => ({ id: String(id) })),
    assignedGroups: (form: FormDefinition) => form.assignedGroupIds.map((id) => ({ id: String(id) })),
    latestVersion: (form: FormDefinition) => form.versions[0] ?? null,
    version: (form: FormDefinition, args: { timestamp: string }) => form.versions.find((v) => v.timestamp === args.timestamp) ?? null,
  },
  FormVersion: {
    // by either key: formId + timestamp, or the id node(id:) passes
    __resolveReference: (reference: { formId?: string; timestamp?: string; id?: string }, ctx: Ctx) => {
      const key = reference.id !== undefined ? parseFormVersionId(reference.id) : { formId: reference.formId!, timestamp: reference.timestamp! };
      return ctx.caller && key ? ctx.sources.forms.version(key) : null;
    },
    savedAt: (v: FormVersion, _: unknown, ctx: Ctx) => naiveToInstant(v.timestamp, ctx.sources.timeZone),
    author: (v: FormVersion) => ref(v.authorId),
    fields: (v: FormVersion) => schemaFields(v.schema),
    id: (v: FormVersion) => formVersionId(v),
  },
  FormSubmission: {
    __resolveReference: (reference: { id: string }, ctx: Ctx) => {
      const key = parseFormSubmissionId(reference.id);
      return ctx.caller && key ? ctx.sources.forms.submission(key) : null;
    },
    id: (s: FormSubmission) => formSubmissionId(s),
    form: (s: FormSubmission, _: unknown, ctx: Ctx) => ctx.sources.forms.form(s.formId),
    version: async (s: FormSubmission, _: unknown, ctx: Ctx) => (await versionOf(s, ctx))?.version ?? null,
    changedBy: (s: FormSubmission) => ref(s.changedById),
    submittedAt: (s: FormSubmission, _: unknown, ctx: Ctx) => naiveToInstant(s.changedAt, ctx.sources.timeZone),
    changes: (s: FormSubmission) => {
      if (s.data === null) return null;
      if (s.previous === null) return changesSince(undefined, s.data);
      return s.previous.data === null ? null : diff(s.previous.data, s.data);
    },
    object: (s: FormSubmission) => ({ __typename: s.objectType, id: String(s.objectId) }),
    error: async (s: FormSubmission, _: unknown, ctx: Ctx) => {
      const problems = s.error ? [s.error] : [];
      if (s.formTimestamp !== null) {
        const found = await versionOf(s, ctx);
        if (found && !found.version) problems.push(`version ${s.formTimestamp} is not a version of form ${s.formId}`);
      }
      return problems.length ? problems.join('; ') : null;
    },
  },
  FormObject: {
    __resolveType: (obj) => obj.__typename,
  },
  // The schema's values are UPPER_CASE; OMERO.forms stores OMERO's class names.
  FormObjectType: { PROJECT: 'Project', DATASET: 'Dataset', SCREEN: 'Screen', PLATE: 'Plate' },
  Project: container('Project'),
  Dataset: container('Dataset'),
  Screen: container('Screen'),
  Plate: container('Plate'),
  Image: {
    __resolveReference: (reference: { id: string }) => reference,
    formData: async (image: { id: string }, _: unknown, ctx: Ctx) => {
      if (!ctx.caller || !/^\d{1,18}$/.test(image.id)) return [];
      const containers = await ctx.sources.forms.imageContainers.load(Number(image.id));
      const latest = await Promise.all(containers.map((c) => ctx.sources.forms.latestOf(c.type, c.id)));
      return latest.flat();
    },
  },
};
