import { GraphQLError, Lexer, Source, TokenKind } from 'graphql';
import { httpError } from '../subgraphs/common/errors';

/**
 * Input no operation may carry (docs/security.md, "Bad input"), checked once at the gateway for
 * HTTP (POST, GET) and graphql-ws alike, before anything recurses over it or a subgraph sees it:
 * - variables nested deeper than MAX_VARIABLES_DEPTH (VARIABLES_TOO_DEEP): JSON.stringify, the
 *   coercion of JSON-scalar values and the subgraphs all recurse, and 10,000 levels overflow them;
 * - variables larger than MAX_VARIABLES_BYTES (VARIABLES_TOO_LARGE);
 * - a NUL character (U+0000) in any string, in variables (keys and values, at any depth, also
 *   inside JSON-scalar values) or in the document's string literals: PostgreSQL text cannot hold
 *   it, so it would otherwise surface as an encoding error (BAD_USER_INPUT).
 */
export const MAX_VARIABLES_DEPTH = 64;

export function nulRefused(): GraphQLError {
  return httpError('BAD_USER_INPUT', 'Strings must not contain the NUL character (U+0000).');
}

/**
 * Walks the variables with an explicit stack (no recursion, so any depth is measured safely) and
 * throws the first reason to refuse them; then their size, which JSON.stringify may now measure.
 * `maxBytes` null: no size limit (protections off).
 */
export function checkVariables(variables: unknown, maxBytes: number | null): void {
  if (variables === null || typeof variables !== 'object') return;
  const stack: Array<[unknown, number]> = [[variables, 1]];
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (typeof value === 'string') {
      if (value.includes('\0')) throw nulRefused();
      continue;
    }
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_VARIABLES_DEPTH) {
      throw httpError('VARIABLES_TOO_DEEP', `Variables are nested more than ${MAX_VARIABLES_DEPTH} levels deep.`);
    }
    if (Array.isArray(value)) {
      for (const item of value) stack.push([item, depth + 1]);
    } else {
      for (const [key, item] of Object.entries(value)) {
        if (key.includes('\0')) throw nulRefused();
        stack.push([item, depth + 1]);
      }
    }
  }
  if (maxBytes !== null && JSON.stringify(variables).length > maxBytes) {
    throw httpError('VARIABLES_TOO_LARGE', `Variables are larger than ${maxBytes} bytes.`);
  }
}

/**
 * No string literal of the document (quoted or block, escapes decoded) holds a NUL character.
 * Lexed, not parsed, so that it also covers what the sign-in plugin answers before validation.
 */
export function checkDocumentStrings(query: string): void {
  // a NUL can only come from the character itself or an escape of it: most documents skip the lexer
  if (!query.includes('\0') && !/\\u(?:0000|\{0+\})/i.test(query)) return;
  const lexer = new Lexer(new Source(query));
  try {
    for (let token = lexer.advance(); token.kind !== TokenKind.EOF; token = lexer.advance()) {
      if ((token.kind === TokenKind.STRING || token.kind === TokenKind.BLOCK_STRING) && token.value.includes('\0')) throw nulRefused();
    }
  } catch (err) {
    if (err instanceof GraphQLError && err.extensions.code === 'BAD_USER_INPUT') throw err;
    // lexical errors are reported by the parser with their own code
  }
}

/** Every check above, for one operation's parameters (HTTP: the plugin below; graphql-ws: server.ts). */
export function checkOperationInput(params: { query?: unknown; variables?: unknown }, maxVariablesBytes: number | null): void {
  checkVariables(params.variables, maxVariablesBytes);
  if (typeof params.query === 'string') checkDocumentStrings(params.query);
}
