import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { checkOperationInput } from './bad-input';
import type { PersistedOperations } from './persisted';
import { checkTokens } from './protection';

/** An operation as a client sends it, on HTTP or in a graphql-ws `subscribe` message. */
interface OperationParams {
  query?: unknown;
  variables?: unknown;
  extensions?: Record<string, unknown> | null;
  documentId?: unknown;
  [key: string]: unknown;
}

/**
 * The checks every operation passes before it is parsed, written once for both transports: HTTP
 * (and SSE) through `useAdmission`, graphql-ws in the gateway's `onSubscribe`. In order: persisted
 * or trusted documents (the document to run), NUL characters and the variables' size and depth,
 * then the document's token count. Each refusal is a coded GraphQLError with its HTTP status.
 * Depth, aliases and cost need the parsed document and are checked at validation and execution
 * (protection.ts `useOperationLimits`), the caller's identity and rate limit when the context is
 * built (identity.ts), introspection by introspection.ts.
 */
export class OperationAdmission {
  constructor(
    private readonly options: {
      /** null: no persisted-operation handling (protections off) */
      persisted: PersistedOperations | null;
      /** null: variables are not size-limited (protections off); depth and NUL always are */
      maxVariablesBytes: number | null;
      /** null: no token limit (protections off) */
      maxTokens: number | null;
    },
  ) {}

  /** The params to run (a persisted query filled in), or a coded GraphQLError thrown. */
  admit<P extends OperationParams>(params: P): P {
    const admitted = this.options.persisted ? this.options.persisted.apply(params) : params;
    checkOperationInput(admitted, this.options.maxVariablesBytes);
    if (this.options.maxTokens !== null && typeof admitted.query === 'string') checkTokens(admitted.query, this.options.maxTokens);
    return admitted;
  }
}

/** The admission of HTTP and SSE operations, as the runtime's first look at their params. */
export function useAdmission(admission: OperationAdmission): GatewayPlugin {
  return {
    onParams({ params, setParams }: { params: OperationParams; setParams: (p: OperationParams) => void }) {
      const admitted = admission.admit(params);
      if (admitted !== params) setParams(admitted);
    },
  } as unknown as GatewayPlugin;
}
