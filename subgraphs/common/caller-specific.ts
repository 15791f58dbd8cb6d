import {
  getNamedType,
  getOperationAST,
  isAbstractType,
  Kind,
  parse,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type ASTNode,
  type DocumentNode,
  type GraphQLSchema,
} from 'graphql';

/**
 * Fields whose value depends on the caller themself, not only on what their groups let them see:
 * what they may do with an object (`Permissions`: ownership), who may read a form (its owners),
 * their own memberships' leader flags from OMERO.web, `me`. The SDL marks them, on the type or on
 * the field, with `@tag(name: "caller-specific")` (schema/*.graphql, composed into the
 * supergraph). A live result that selects one is never shared between users: the caller's id is
 * part of the sharing key (access.ts accessScopeKey, gateway/shared-subscriptions.ts).
 */
export const CALLER_SPECIFIC_TAG = 'caller-specific';

export interface CallerSpecificMarks {
  /** types every value of which is about the caller */
  types: ReadonlySet<string>;
  /** fields, as `Type.field` */
  fields: ReadonlySet<string>;
}

/** The marks in an SDL (a subgraph's or the composed supergraph). */
export function callerSpecificMarks(sdl: string | DocumentNode): CallerSpecificMarks {
  const document = typeof sdl === 'string' ? parse(sdl) : sdl;
  const types = new Set<string>();
  const fields = new Set<string>();
  const tagged = (directives: readonly { name: { value: string }; arguments?: readonly { name: { value: string }; value: { kind: string } }[] }[] = []) =>
    directives.some(
      (d) =>
        d.name.value === 'tag' &&
        d.arguments?.some(
          (a) => a.name.value === 'name' && a.value.kind === Kind.STRING && (a.value as unknown as { value: string }).value === CALLER_SPECIFIC_TAG,
        ),
    );
  for (const definition of document.definitions) {
    if (
      definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
      definition.kind !== Kind.OBJECT_TYPE_EXTENSION &&
      definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
      definition.kind !== Kind.INTERFACE_TYPE_EXTENSION
    )
      continue;
    if (tagged(definition.directives)) types.add(definition.name.value);
    for (const field of definition.fields ?? []) if (tagged(field.directives)) fields.add(`${definition.name.value}.${field.name.value}`);
  }
  return { types, fields };
}

/**
 * Whether the operation selects a caller-specific field anywhere (fragments included), by the
 * field, its parent type (or, for an interface, any type implementing it) or the type it returns.
 */
export function selectsCallerSpecific(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  marks: CallerSpecificMarks,
): boolean {
  if (marks.types.size === 0 && marks.fields.size === 0) return false;
  const operation = getOperationAST(document, operationName);
  if (!operation) return false;
  const fragments = new Map(document.definitions.flatMap((d) => (d.kind === Kind.FRAGMENT_DEFINITION ? [[d.name.value, d] as const] : [])));
  // the operation, then every fragment it reaches (transitively), each with its own type condition
  const pending: ASTNode[] = [operation];
  const reached = new Set<string>();
  let found = false;
  while (pending.length && !found) {
    const node = pending.pop()!;
    const typeInfo = new TypeInfo(schema);
    visit(
      node,
      visitWithTypeInfo(typeInfo, {
        Field(field) {
          const parent = typeInfo.getParentType();
          const returned = typeInfo.getType();
          if (!parent) return;
          const owners = isAbstractType(parent) ? [parent.name, ...schema.getPossibleTypes(parent).map((t) => t.name)] : [parent.name];
          if (
            owners.some((owner) => marks.types.has(owner) || marks.fields.has(`${owner}.${field.name.value}`)) ||
            (returned && marks.types.has(getNamedType(returned).name))
          ) {
            found = true;
          }
        },
        FragmentSpread(spread) {
          const fragment = fragments.get(spread.name.value);
          if (fragment && !reached.has(spread.name.value)) {
            reached.add(spread.name.value);
            pending.push(fragment);
          }
        },
      }),
    );
  }
  return found;
}
