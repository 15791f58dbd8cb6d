import { requireIdentity } from '../common/access';
import { scalarResolvers } from '../common/scalars';
import type { SubgraphContext } from '../common/server';
import type { FormDefinition, FormObjectType, FormSubmission, FormVersion } from './parse';
import type { FormsSource } from './source/annotations';

export interface FormSources {
  forms: FormsSource;
}
type Ctx = SubgraphContext<FormSources>;

function objectType(type: FormObjectType) {
  return {
    __resolveReference: (ref: { id: string }) => ref,
    formSubmissions: async (obj: { id: string }, args: { formId?: string | null }, ctx: Ctx) => {
      if (!ctx.caller) return [];
      const all = await ctx.sources.forms.submissions(type).load(Number(obj.id));
      return args.formId ? all.filter((s) => s.formId === args.formId) : all;
    },
  };
}

export const resolvers = {
  ...scalarResolvers,
  Query: {
    form: (_: unknown, args: { id: string }, ctx: Ctx) => {
      requireIdentity(ctx.caller);
      return ctx.sources.forms.forms.load(args.id);
    },
  },
  Form: {
    __resolveReference: (ref: { id: string }, ctx: Ctx) => (ctx.caller ? ctx.sources.forms.forms.load(ref.id) : null),
    latestVersion: (form: FormDefinition) => form.versions[0] ?? null,
  },
  FormVersion: {
    __resolveReference: async (ref: { formId: string; timestamp: string }, ctx: Ctx) => {
      const form = ctx.caller ? await ctx.sources.forms.forms.load(ref.formId) : null;
      return form?.versions.find((v) => v.timestamp === ref.timestamp) ?? null;
    },
    author: (v: FormVersion) => (v.authorId == null ? null : { id: String(v.authorId) }),
  },
  FormSubmission: {
    form: (s: FormSubmission, _: unknown, ctx: Ctx) => ctx.sources.forms.forms.load(s.formId),
    version: async (s: FormSubmission, _: unknown, ctx: Ctx) => {
      const form = await ctx.sources.forms.forms.load(s.formId);
      return form?.versions.find((v) => v.timestamp === s.formTimestamp) ?? null;
    },
    changedBy: (s: FormSubmission) => (s.changedById == null ? null : { id: String(s.changedById) }),
  },
  Project: objectType('Project'),
  Dataset: objectType('Dataset'),
  Screen: objectType('Screen'),
  Plate: objectType('Plate'),
};
