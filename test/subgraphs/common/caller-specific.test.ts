import { buildASTSchema, parse } from 'graphql';
import { readSupergraph } from '../../../gateway/supergraph';
import { callerSpecificMarks, selectsCallerSpecific } from '../../../subgraphs/common/caller-specific';

/** A small schema in the SDL's own terms: a tagged type, a tagged field, an interface and a union. */
const SDL = `
  directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE
  type Query { order: Order  node: Node  thing: Thing }
  interface Node { id: ID! }
  type Order implements Node { id: ID! stage: String images: [Image!]! owner: Person }
  type Image implements Node { id: ID! name: String permissions: Permissions }
  type Permissions @tag(name: "caller-specific") { canEdit: Boolean }
  type Person implements Node { id: ID! name: String leader: Boolean @tag(name: "caller-specific") }
  union Thing = Order | Person
`;
const document = parse(SDL);
const schema = buildASTSchema(document);
const marks = callerSpecificMarks(document);
const selects = (query: string, operationName?: string) => selectsCallerSpecific(schema, parse(query), operationName, marks);

it('reads the tags of types and fields from an SDL', () => {
  expect([...marks.types]).toEqual(['Permissions']);
  expect([...marks.fields]).toEqual(['Person.leader']);
});

it('finds a tagged type or field anywhere in the selection, not an untagged one', () => {
  expect(selects('{ order { stage images { name } owner { name } } }')).toBe(false);
  expect(selects('{ order { images { permissions { canEdit } } } }')).toBe(true);
  expect(selects('{ order { owner { leader } } }')).toBe(true);
});

it('through fragments (transitively), inline fragments, interfaces and unions', () => {
  expect(selects('{ order { ...O } } fragment O on Order { images { ...I } } fragment I on Image { permissions { canEdit } }')).toBe(true);
  expect(selects('{ order { ...O } } fragment O on Order { images { name } }')).toBe(false);
  expect(selects('{ node { ... on Person { leader } } }')).toBe(true);
  expect(selects('{ thing { ... on Person { leader } } }')).toBe(true);
  expect(selects('{ thing { ... on Person { name } } }')).toBe(false);
});

it('checks the operation asked for', () => {
  const two = 'query A { order { stage } } query B { order { owner { leader } } }';
  expect(selects(two, 'A')).toBe(false);
  expect(selects(two, 'B')).toBe(true);
});

it('the composed supergraph carries the marks the subgraphs declare', () => {
  const supergraph = callerSpecificMarks(readSupergraph());
  expect([...supergraph.types].sort()).toEqual(['Form', 'FormSubmission', 'FormVersion', 'Permissions']);
  expect([...supergraph.fields].sort()).toEqual(['GroupMembership.leader', 'Query.me']);
});
