import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import {
  GraphQLError,
  Kind,
  Lexer,
  Source,
  TokenKind,
  getNamedType,
  isListType,
  isNonNullType,
  isObjectType,
  isInterfaceType,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLOutputType,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
  type ValidationContext,
  type ASTVisitor,
} from 'graphql';
import { intFromEnv } from '../subgraphs/common/config';
import { httpError } from '../subgraphs/common/errors';

/**
 * Limits every operation must pass before any subgraph is called (docs/limits.md). Each answers
 * with its own error code. Costs are estimated once, when the operation starts: a long-lived
 * subscription is never charged again per event.
 */
export interface OperationLimits {
  maxDepth: number;
  maxAliases: number;
  maxTokens: number;
  maxCost: number;
  /** list size assumed for a list field without `first` */
  defaultListSize: number;
}

export function limitsFromEnv(env: NodeJS.ProcessEnv = process.env): OperationLimits {
  return {
    maxDepth: intFromEnv(env, 'MAX_DEPTH', 15),
    maxAliases: intFromEnv(env, 'MAX_ALIASES', 30),
    maxTokens: intFromEnv(env, 'MAX_TOKENS', 5000),
    maxCost: intFromEnv(env, 'MAX_COST', 50_000),
    defaultListSize: intFromEnv(env, 'DEFAULT_LIST_SIZE', 10),
  };
}

/** Counts lexical tokens without building an AST, stopping as soon as the limit is passed. */
export function checkTokens(query: string, max: number): void {
  const lexer = new Lexer(new Source(query));
  let count = 0;
  try {
    while (lexer.advance().kind !== TokenKind.EOF) {
      if (++count > max) throw httpError('TOKEN_LIMIT_EXCEEDED', `The operation has more than ${max} tokens.`);
    }
  } catch (err) {
    if (err instanceof GraphQLError && err.extensions.code === 'TOKEN_LIMIT_EXCEEDED') throw err;
    // lexical errors are reported by the parser with their own code
  }
}

function fragmentsOf(document: DocumentNode): Map<string, FragmentDefinitionNode> {
  return new Map(document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]));
}

/** Deepest field nesting of an operation, through fragments (a fragment cycle is a validation error elsewhere). */
export function operationDepth(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen = new Set<string>()): number {
  let deepest = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.name.value.startsWith('__')) continue; // introspection is not data depth
      deepest = Math.max(deepest, 1 + (selection.selectionSet ? operationDepth(selection.selectionSet, fragments, seen) : 0));
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      deepest = Math.max(deepest, operationDepth(selection.selectionSet, fragments, seen));
    } else {
      const name = selection.name.value;
      const fragment = fragments.get(name);
      if (!fragment || seen.has(name)) continue;
      deepest = Math.max(deepest, operationDepth(fragment.selectionSet, fragments, new Set([...seen, name])));
    }
  }
  return deepest;
}

function countAliases(selectionSet: SelectionSetNode, fragments: Map<string, FragmentDefinitionNode>, seen = new Set<string>()): number {
  let count = 0;
  for (const selection of selectionSet.selections) {
    if (selection.kind === Kind.FIELD) {
      if (selection.alias) count++;
      if (selection.selectionSet) count += countAliases(selection.selectionSet, fragments, seen);
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      count += countAliases(selection.selectionSet, fragments, seen);
    } else {
      const fragment = fragments.get(selection.name.value);
      if (fragment && !seen.has(fragment.name.value)) count += countAliases(fragment.selectionSet, fragments, new Set([...seen, fragment.name.value]));
    }
  }
  return count;
}

/** Validation rule: depth and alias limits, per operation. */
export function depthAndAliasRule(limits: OperationLimits) {
  return (context: ValidationContext): ASTVisitor => {
    const fragments = fragmentsOf(context.getDocument());
    return {
      OperationDefinition(operation: OperationDefinitionNode) {
        const depth = operationDepth(operation.selectionSet, fragments);
        if (depth > limits.maxDepth)
          context.reportError(httpError('DEPTH_LIMIT_EXCEEDED', `The operation is ${depth} levels deep; the limit is ${limits.maxDepth}.`));
        const aliases = countAliases(operation.selectionSet, fragments);
        if (aliases > limits.maxAliases)
          context.reportError(httpError('ALIAS_LIMIT_EXCEEDED', `The operation uses ${aliases} aliases; the limit is ${limits.maxAliases}.`));
      },
    };
  };
}

function isList(type: GraphQLOutputType): boolean {
  return isListType(isNonNullType(type) ? type.ofType : type);
}

/**
 * Estimated cost: every field costs 1, times the number of items its parents may return. A list
 * (or connection) field multiplies what is below it by its `first` (or `last`) argument, else by
 * `defaultListSize`. Variables are resolved, so `first: $n` counts as asked.
 */
export function estimateCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
  limits: OperationLimits,
): number {
  const fragments = fragmentsOf(document);
  const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
  const operation = operationName ? operations.find((o) => o.name?.value === operationName) : operations[0];
  if (!operation) return 0;
  const root =
    operation.operation === 'query' ? schema.getQueryType() : operation.operation === 'mutation' ? schema.getMutationType() : schema.getSubscriptionType();
  if (!root) return 0;

  // the page size asked: `first`, or `last` when paging backwards (the larger, should both be sent)
  const firstArgument = (node: { arguments?: readonly { name: { value: string }; value: import('graphql').ValueNode }[] }): number | null => {
    const sizes = ['first', 'last'].map((name) => pageSize(node.arguments?.find((a) => a.name.value === name))).filter((n): n is number => n !== null);
    return sizes.length ? Math.max(...sizes) : null;
  };
  const pageSize = (arg: { value: import('graphql').ValueNode } | undefined): number | null => {
    if (!arg) return null;
    if (arg.value.kind === Kind.INT) return Number(arg.value.value);
    if (arg.value.kind === Kind.VARIABLE) {
      const v = variables?.[arg.value.name.value];
      return typeof v === 'number' ? v : null;
    }
    return null;
  };

  const walk = (selectionSet: SelectionSetNode, parentType: import('graphql').GraphQLNamedType, multiplier: number, seen: Set<string>): number => {
    let cost = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        if (selection.name.value.startsWith('__')) continue;
        const field: GraphQLField<unknown, unknown> | undefined =
          isObjectType(parentType) || isInterfaceType(parentType) ? parentType.getFields()[selection.name.value] : undefined;
        cost += multiplier;
        if (!selection.selectionSet || !field) continue;
        const first = firstArgument(selection);
        const connection = getNamedType(field.type).name.endsWith('Connection');
        // a connection's own edges/nodes lists are already counted by its `first`
        const insideConnection = parentType.name.endsWith('Connection');
        const many = connection || (isList(field.type) && !insideConnection);
        const size = many ? Math.max(1, first ?? limits.defaultListSize) : 1;
        cost += walk(selection.selectionSet, getNamedType(field.type), multiplier * size, seen);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) ?? parentType) : parentType;
        cost += walk(selection.selectionSet, type, multiplier, seen);
      } else {
        const fragment = fragments.get(selection.name.value);
        if (!fragment || seen.has(fragment.name.value)) continue;
        const type = schema.getType(fragment.typeCondition.name.value) ?? parentType;
        cost += walk(fragment.selectionSet, type, multiplier, new Set([...seen, fragment.name.value]));
      }
    }
    return cost;
  };
  return walk(operation.selectionSet, root, 1, new Set());
}

export function checkCost(cost: number, limits: OperationLimits): void {
  if (cost > limits.maxCost) throw httpError('COST_LIMIT_EXCEEDED', `The operation's estimated cost is ${cost}; the limit is ${limits.maxCost}.`);
}

/** Depth, alias and cost limits, checked at validation and execution, before any subgraph is called (tokens and variables: admission.ts). */
export function useOperationLimits(limits: OperationLimits): GatewayPlugin {
  const costOf = (args: { schema: GraphQLSchema; document: DocumentNode; operationName?: string | null; variableValues?: Record<string, unknown> | null }) =>
    estimateCost(args.schema, args.document, args.operationName, args.variableValues, limits);
  const stopIfTooCostly = ({
    args,
    setResultAndStopExecution,
  }: {
    args: Parameters<typeof costOf>[0];
    setResultAndStopExecution: (r: { errors: GraphQLError[] }) => void;
  }) => {
    try {
      checkCost(costOf(args), limits);
    } catch (err) {
      setResultAndStopExecution({ errors: [err as GraphQLError] });
    }
  };
  return {
    onValidate({ addValidationRule }) {
      addValidationRule(depthAndAliasRule(limits));
    },
    onExecute: ({ args, setResultAndStopExecution }) => stopIfTooCostly({ args, setResultAndStopExecution }),
    onSubscribe: ({ args, setResultAndStopExecution }) => stopIfTooCostly({ args, setResultAndStopExecution: (r) => setResultAndStopExecution(r as never) }),
  } as GatewayPlugin;
}
