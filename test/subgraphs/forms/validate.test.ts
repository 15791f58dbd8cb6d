import { schemaFields } from '../../../subgraphs/forms/fields';
import { validateFormData } from '../../../subgraphs/forms/validate';

describe('fields and validation', () => {
  const schema = {
    type: 'object',
    required: ['objective'],
    properties: {
      objective: { type: 'string', title: 'Objective', enum: ['10x', '63x'] },
      channels: { type: 'array', items: { type: 'string' } },
      microscope: { type: 'object', properties: { serial: { type: ['string', 'null'] } } },
      email: { type: 'string', format: 'email' },
    },
  };
  const version = { formId: 'f', timestamp: 'T1', schema, uiSchema: null, authorId: null, message: null, error: null };

  it('lists fields with their JSON-Schema types, nested ones by dotted path', () => {
    expect(schemaFields(schema).map((f) => [f.path, f.types, f.required, f.itemTypes])).toEqual([
      ['objective', ['string'], true, []],
      ['channels', ['array'], false, ['string']],
      ['microscope', ['object'], false, []],
      ['microscope.serial', ['string', 'null'], false, []],
      ['email', ['string'], false, []],
    ]);
  });

  it('validates with ajv and formats; required errors point at the missing property', () => {
    expect(validateFormData(version, { objective: '63x', email: 'a@b.org' })).toEqual({ valid: true, errors: [] });
    const bad = validateFormData(version, { objective: '40x', channels: [1], email: 'nope' });
    expect(bad.valid).toBe(false);
    expect(bad.errors.map((e) => [e.path, e.keyword])).toEqual([
      ['/objective', 'enum'],
      ['/channels/0', 'type'],
      ['/email', 'format'],
    ]);
    expect(validateFormData(version, {}).errors).toEqual([expect.objectContaining({ path: '/objective', keyword: 'required' })]);
  });

  it('a schema ajv refuses is a coded error naming the version, and so is a broken entry', () => {
    const refused = { ...version, timestamp: 'T2', schema: { type: 'object', properties: { z: { type: 'strng' } } } };
    expect(() => validateFormData(refused, {})).toThrow(
      expect.objectContaining({ message: expect.stringContaining('version T2'), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }),
    );
    const broken = { ...version, timestamp: 'T3', schema: null, error: 'schema is not valid JSON' };
    expect(() => validateFormData(broken, {})).toThrow(/version T3 .*schema is not valid JSON/);
  });
});
