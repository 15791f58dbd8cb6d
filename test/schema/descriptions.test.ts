import {
  buildSchema,
  parse,
  isEnumType,
  isInputObjectType,
  isInterfaceType,
  isIntrospectionType,
  isObjectType,
  isSpecifiedScalarType,
  type GraphQLSchema,
} from 'graphql';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { compose, findProjectRoot } from '../../gateway/compose';
import { extendWithSignIn } from '../../gateway/login';

const root = findProjectRoot(__dirname);

/**
 * Every type, field, argument, input field and enum value of the API schema a client sees
 * (GraphiQL's docs explorer), as composed from schema/<subgraph>.graphql, without a description.
 */
export function undocumented(schema: GraphQLSchema): string[] {
  const missing: string[] = [];
  const blank = (text: string | null | undefined) => !text || text.trim() === '';
  for (const type of Object.values(schema.getTypeMap())) {
    if (isIntrospectionType(type) || isSpecifiedScalarType(type)) continue;
    if (blank(type.description)) missing.push(type.name);
    if (isObjectType(type) || isInterfaceType(type)) {
      for (const field of Object.values(type.getFields())) {
        if (blank(field.description)) missing.push(`${type.name}.${field.name}`);
        for (const arg of field.args) if (blank(arg.description)) missing.push(`${type.name}.${field.name}(${arg.name})`);
      }
    } else if (isInputObjectType(type)) {
      for (const field of Object.values(type.getFields())) if (blank(field.description)) missing.push(`${type.name}.${field.name}`);
    } else if (isEnumType(type)) {
      for (const value of type.getValues()) if (blank(value.description)) missing.push(`${type.name}.${value.name}`);
    }
  }
  return missing;
}

/**
 * Types, fields and arguments that several subgraphs define (PageInfo, scalars, entities) with
 * different descriptions: composition keeps one of them, so they must agree.
 */
export function disagreeing(subgraphs: Record<string, string>): string[] {
  const seen = new Map<string, Map<string, string>>();
  const note = (key: string, subgraph: string, description: { value: string } | undefined) => {
    if (!description) return;
    if (!seen.has(key)) seen.set(key, new Map());
    seen.get(key)!.set(subgraph, description.value.trim());
  };
  for (const [subgraph, sdl] of Object.entries(subgraphs)) {
    for (const def of parse(sdl).definitions) {
      if (!('name' in def) || !def.name || !('description' in def)) continue;
      note(def.name.value, subgraph, def.description);
      const members = 'fields' in def ? def.fields : 'values' in def ? def.values : undefined;
      for (const member of members ?? []) {
        note(`${def.name.value}.${member.name.value}`, subgraph, member.description);
        for (const arg of 'arguments' in member ? (member.arguments ?? []) : [])
          note(`${def.name.value}.${member.name.value}(${arg.name.value})`, subgraph, arg.description);
      }
    }
  }
  return [...seen].filter(([, bySubgraph]) => new Set(bySubgraph.values()).size > 1).map(([key, bySubgraph]) => `${key}: ${[...bySubgraph.keys()].join(', ')}`);
}

function subgraphSdls(): Record<string, string> {
  const config = parseYaml(readFileSync(join(root, 'supergraph.yaml'), 'utf8')) as { subgraphs: Record<string, { schema: { file: string } }> };
  return Object.fromEntries(Object.entries(config.subgraphs).map(([name, entry]) => [name, readFileSync(join(root, entry.schema.file), 'utf8')]));
}

describe('the composed API schema is documented', () => {
  const { apiSdl } = compose(root);
  // what GraphiQL's docs explorer shows: the composed API schema with the gateway's login/logout
  const schema = extendWithSignIn(buildSchema(apiSdl));

  it('has no federation internals in the API schema it checks', () => {
    const names = Object.keys(schema.getTypeMap());
    expect(names.filter((name) => /^(join__|link__|_Service$|_Entity$|_Any$)/.test(name))).toEqual([]);
    expect(names).toEqual(expect.arrayContaining(['Query', 'Image', 'ImportOrder', 'WorkflowRun', 'Form', 'Lineage', 'PageInfo', 'LoginResult']));
  });

  it('describes every type, field, argument, input field and enum value', () => {
    // the list names what is missing, e.g. "Image.rois" or "Query.images(first)"
    expect(undocumented(schema)).toEqual([]);
  });

  it('gives what several subgraphs define the same description in each', () => {
    // the list names the type, field or argument and the subgraphs that disagree
    expect(disagreeing(subgraphSdls())).toEqual([]);
  });

  it('finds descriptions that disagree between subgraphs', () => {
    const a = '"A page end." type PageInfo { "more follows" hasNextPage: Boolean! }';
    const b = '"A page end." type PageInfo { "true when more follows" hasNextPage: Boolean! }';
    expect(disagreeing({ a, b })).toEqual(['PageInfo.hasNextPage: a, b']);
  });

  it('finds an undocumented field, argument and enum value', () => {
    const sample = buildSchema(`
      "documented" type Query { "documented" a("documented" x: Int, y: Int): Int  b: E }
      "documented" enum E { "documented" ONE TWO }
    `);
    expect(undocumented(sample)).toEqual(['Query.a(y)', 'Query.b', 'E.TWO']);
  });
});
