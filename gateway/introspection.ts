import type { GatewayPlugin } from '@graphql-hive/gateway-runtime';
import { Kind, parse, visit } from 'graphql';
import type { Caller } from '../subgraphs/common/identity';
import type { IntrospectionMode } from './settings';
import { httpError } from '../subgraphs/common/errors';

/**
 * Who may introspect the graph (INTROSPECTION, docs/configuration.md): `on` everyone, `authenticated`
 * callers with an OMERO session (the production default), `off` nobody. The schema is not secret in
 * itself, but a public one hands an attacker the map of every field; clients that need it sign in.
 */

/** Whether the operation asks `__schema` or `__type` anywhere (`__typename` is not introspection). */
export function asksIntrospection(query: unknown): boolean {
  if (typeof query !== 'string' || !/__(schema|type)\b/.test(query)) return false;
  let found = false;
  try {
    visit(parse(query), {
      [Kind.FIELD]: (node) => {
        if (node.name.value === '__schema' || node.name.value === '__type') found = true;
      },
    });
  } catch {
    return false; // the normal path reports syntax errors
  }
  return found;
}

/** Throws the coded refusal when `caller` may not run this introspection query. */
export function checkIntrospection(mode: IntrospectionMode, query: unknown, caller: Caller | undefined): void {
  if (mode === 'on' || !asksIntrospection(query)) return;
  if (mode === 'off') {
    throw httpError('INTROSPECTION_DISABLED', 'Introspection is turned off on this gateway (INTROSPECTION).');
  }
  if (!caller) {
    throw httpError('UNAUTHENTICATED', 'Introspection needs a signed-in caller: send an OMERO session key.');
  }
}

/**
 * Checked on the request's parameters, before the sign-in plugin answers introspection itself.
 * `callerOf` resolves an HTTP request's session (null: anonymous or an unknown key); graphql-ws
 * operations carry the caller their connection resolved (and are checked at subscribe already).
 */
export function useIntrospectionPolicy(mode: IntrospectionMode, callerOf: (request: Request) => Promise<Caller>): GatewayPlugin {
  return {
    async onParams({ params, request, context }: { params: { query?: unknown }; request: Request; context: { identityToken?: string; caller?: Caller } }) {
      if (mode === 'on' || !asksIntrospection(params.query)) return;
      const caller = mode === 'off' ? null : context?.identityToken ? (context.caller ?? null) : await callerOf(request);
      checkIntrospection(mode, params.query, caller);
    },
  } as unknown as GatewayPlugin;
}
