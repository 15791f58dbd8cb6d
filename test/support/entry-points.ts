import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kind, parse, type FieldDefinitionNode } from 'graphql';

/**
 * Every way into a subgraph's data, read from its SDL: `Query.<field>`, `Subscription.<field>`
 * and `_entities.<Type>` for each @key type that adds fields of its own (a type that only names
 * its key is a reference another subgraph fills). Access tests list a case for each, so a new
 * entry point without one fails.
 */
export function entryPoints(subgraph: string): string[] {
  const doc = parse(readFileSync(join(__dirname, '..', '..', 'schema', `${subgraph}.graphql`), 'utf8'));
  const points: string[] = [];
  for (const def of doc.definitions) {
    if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
    const fields: readonly FieldDefinitionNode[] = def.fields ?? [];
    const type = def.name.value;
    if (type === 'Query' || type === 'Subscription') points.push(...fields.map((f) => `${type}.${f.name.value}`));
    const key = def.directives?.find((d) => d.name.value === 'key');
    if (!key) continue;
    const keyArg = key.arguments?.find((a) => a.name.value === 'fields');
    const keyFields = new Set(keyArg?.value.kind === Kind.STRING ? keyArg.value.value.split(/\s+/) : []);
    if (fields.some((f) => !keyFields.has(f.name.value))) points.push(`_entities.${type}`);
  }
  return [...new Set(points)].sort();
}

/**
 * How often the private object shows in one answer of an access test: `count(data)`. An answer
 * with errors shows nothing; it is expected only as the refusal of an anonymous caller
 * (`UNAUTHENTICATED`) or, for a signed-in one, as `hidden` — the code the entry point gives for
 * what does not exist, where it answers that with an error. Any other error fails the test.
 */
export function timesShown(
  answer: { data?: any; errors?: readonly { extensions?: { code?: unknown } }[] },
  user: string | null,
  count: (data: any) => number,
  hidden?: string,
): number {
  if (!answer.errors) return count(answer.data);
  const allowed = user === null ? 'UNAUTHENTICATED' : hidden;
  if (allowed === undefined) throw new Error(`${user} got errors: ${JSON.stringify(answer.errors)}`);
  expect(answer.errors.map((e) => e.extensions?.code)).toEqual([allowed]);
  return 0;
}
