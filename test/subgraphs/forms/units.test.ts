import { randomBytes } from 'node:crypto';
import { decodePayload } from '../../../subgraphs/forms/chunks';
import { changesSince, diff } from '../../../subgraphs/forms/diff';
import { schemaFields } from '../../../subgraphs/forms/fields';
import { parseFormDefinition, parseSubmission, type SubmissionEntry } from '../../../subgraphs/forms/parse';
import { checkTimeZone, instantToNaive, naiveToInstant } from '../../../subgraphs/forms/time';
import { validateFormData } from '../../../subgraphs/forms/validate';
import { encodePayload } from '../../support/forms-store';

describe('diff between submissions', () => {
  it('walks objects by sorted key and arrays by index, JSON-Pointer paths', () => {
    const before = { objective: '63x', channels: ['DAPI', 'GFP'], microscope: { name: 'Leica SP8' }, gone: 1 };
    const after = { objective: '63x', channels: ['DAPI', 'mCherry', 'Cy5'], microscope: { name: 'Leica SP8', serial: 'X' }, 'a/b~c': true };
    expect(diff(before, after)).toEqual([
      { path: '/a~1b~0c', kind: 'ADDED', before: null, after: true },
      { path: '/channels/1', kind: 'CHANGED', before: 'GFP', after: 'mCherry' },
      { path: '/channels/2', kind: 'ADDED', before: null, after: 'Cy5' },
      { path: '/gone', kind: 'REMOVED', before: 1, after: null },
      { path: '/microscope/serial', kind: 'ADDED', before: null, after: 'X' },
    ]);
  });

  it('reports a whole added subtree once, a change of kind as CHANGED, equal data as nothing', () => {
    expect(diff({ a: 1 }, { a: 1, m: { x: [1] } })).toEqual([{ path: '/m', kind: 'ADDED', before: null, after: { x: [1] } }]);
    expect(diff({ a: [1] }, { a: { 0: 1 } })).toEqual([{ path: '/a', kind: 'CHANGED', before: [1], after: { 0: 1 } }]);
    expect(diff({ a: { b: [1, { c: 2 }] } }, { a: { b: [1, { c: 2 }] } })).toEqual([]);
    expect(diff(null, 3)).toEqual([{ path: '', kind: 'CHANGED', before: null, after: 3 }]);
  });

  it('the first submission adds every top-level field', () => {
    expect(changesSince(undefined, { b: 2, a: 1 })).toEqual([
      { path: '/a', kind: 'ADDED', before: null, after: 1 },
      { path: '/b', kind: 'ADDED', before: null, after: 2 },
    ]);
  });
});

describe('naive local timestamps', () => {
  it('reads OMERO.web local time in the configured zone, across DST', () => {
    expect(naiveToInstant('2026-03-11T16:20:00.000000', 'UTC')?.toISOString()).toBe('2026-03-11T16:20:00.000Z');
    expect(naiveToInstant('2026-03-11T16:20:00.123456', 'Europe/Amsterdam')?.toISOString()).toBe('2026-03-11T15:20:00.123Z');
    expect(naiveToInstant('2026-07-01T12:00:00', 'Europe/Amsterdam')?.toISOString()).toBe('2026-07-01T10:00:00.000Z');
    expect(naiveToInstant('2026-03-11 16:20', 'America/New_York')?.toISOString()).toBe('2026-03-11T20:20:00.000Z');
    expect(naiveToInstant('yesterday', 'UTC')).toBeNull();
    // the repeated hour (clocks go back) reads as standard time; the skipped hour moves forwards
    expect(naiveToInstant('2026-10-25T02:30:00', 'Europe/Amsterdam')?.toISOString()).toBe('2026-10-25T01:30:00.000Z');
    expect(naiveToInstant('2026-03-29T02:30:00', 'Europe/Amsterdam')?.toISOString()).toBe('2026-03-29T01:30:00.000Z');
  });

  it('writes filter bounds the way OMERO.forms writes keys', () => {
    expect(instantToNaive(new Date('2026-03-11T15:20:00.123Z'), 'Europe/Amsterdam')).toBe('2026-03-11T16:20:00.123000');
    expect(instantToNaive(new Date('2026-03-11T15:20:00Z'), 'UTC')).toBe('2026-03-11T15:20:00.000000');
  });

  it('refuses an unknown zone with a readable message', () => {
    expect(() => checkTimeZone('Mars/Olympus')).toThrow(/FORMS_TIMEZONE "Mars\/Olympus"/);
    expect(checkTimeZone('Europe/Amsterdam')).toBe('Europe/Amsterdam');
  });
});

describe('parsing entries as OMERO.forms writes them', () => {
  const version = (ts: string, schema: unknown) => ({ key: ts, value: JSON.stringify({ id: 'f', schema: JSON.stringify(schema), uiSchema: '{}', author: 4, timestamp: ts, message: 'm' }) });

  it('mixes meta keys with versions, keeps stored order, reports broken entries per version', () => {
    const form = parseFormDefinition('f', [
      version('2026-03-02T00:00:00', { title: 'New', type: 'object' }),
      { key: 'id', value: 'f' },
      { key: 'owner', value: '4' },
      { key: 'owner', value: 'carol' },
      { key: 'objType', value: 'Dataset' },
      { key: 'objType', value: 'Image' },
      { key: '2026-03-01T12:00:00', value: '{"id": "f", "schema": ' },
      { key: '2026-03-01T00:00:00', value: JSON.stringify({ id: 'f', author: 4 }) },
    ], [3]);
    expect(form).toMatchObject({ title: 'New', ownerIds: [4], objectTypes: ['Dataset'], assignedGroupIds: [3] });
    expect(form.versions.map((v) => [v.timestamp, v.error])).toEqual([
      ['2026-03-02T00:00:00', null],
      ['2026-03-01T12:00:00', 'version entry is not valid JSON'],
      ['2026-03-01T00:00:00', 'version entry has no schema'],
    ]);
    expect(form.versions[0].schema).toEqual({ title: 'New', type: 'object' });
    expect(form.errors).toEqual([
      'owner "carol" is not a user id',
      'objType "Image" is not one of Project, Dataset, Screen, Plate',
      'version 2026-03-01T12:00:00: version entry is not valid JSON',
      'version 2026-03-01T00:00:00: version entry has no schema',
    ]);
  });

  it('a submission: double-encoded data, missing keys, broken JSON, the previous entry for the diff', () => {
    const entry = (value: string, previousValue: string | null): SubmissionEntry => ({ formId: 'f', objectType: 'Dataset', objectId: 1, annotationId: 9, index: 0, key: 'K', value, previousValue, chunks: [] });
    const good = JSON.stringify({ formId: 'f', formTimestamp: 'V', formData: JSON.stringify({ a: 1 }), changedBy: 2, changedAt: 'C', message: 'hi' });
    expect(parseSubmission(entry(good, null))).toMatchObject({ data: { a: 1 }, changedById: 2, changedAt: 'C', formTimestamp: 'V', error: null, previous: null });
    expect(parseSubmission(entry('{"formId": ', good))).toMatchObject({ data: null, changedAt: 'K', error: 'submission entry is not valid JSON', previous: { data: { a: 1 } } });
    expect(parseSubmission(entry(JSON.stringify({ formData: '{"a": 2}' }), null))).toMatchObject({ data: { a: 2 }, changedAt: 'K', error: 'missing formTimestamp, changedBy' });
    expect(parseSubmission(entry(JSON.stringify({ formTimestamp: 'V', changedBy: 2, formData: '{bad' }), null))).toMatchObject({ data: null, error: 'formData is not valid JSON' });
  });
});

describe('chunked payloads (storage_codec.py)', () => {
  const payload = JSON.stringify({ formId: 'f', formTimestamp: 'V', formData: JSON.stringify({ text: 'x'.repeat(900) + randomBytes(2000).toString('hex') }), changedBy: 2, changedAt: 'K', message: '' });
  const rows = encodePayload('K', payload, 'ab'.repeat(16));
  const [manifest, ...chunks] = rows.map(([key, value]) => ({ key, value }));

  it('reassembles in any chunk order; an inline value is itself', () => {
    expect(chunks.length).toBeGreaterThanOrEqual(2);
    expect(decodePayload(manifest.value, [...chunks].reverse())).toEqual({ ok: true, text: payload });
    expect(decodePayload('{"a": 1}', [])).toEqual({ ok: true, text: '{"a": 1}' });
  });

  it('refuses what the codec refuses, naming why', () => {
    const m = JSON.parse(manifest.value);
    const swap = (i: number, value: string) => chunks.map((c, j) => (j === i ? { ...c, value } : c));
    expect(decodePayload(manifest.value, chunks.slice(1))).toEqual({ ok: false, error: 'chunk payload is missing chunk(s): 0' });
    expect(decodePayload(manifest.value, [...chunks, chunks[0]])).toEqual({ ok: false, error: 'chunk payload contains a duplicate chunk' });
    expect(decodePayload(manifest.value, [...chunks, { key: `${m.prefix}:000099`, value: 'AAAA' }])).toEqual({ ok: false, error: 'chunk payload contains an unexpected chunk' });
    expect(decodePayload(manifest.value, swap(0, chunks[0].value.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))))).toMatchObject({ ok: false });
    expect(decodePayload(JSON.stringify({ ...m, sha256: '0'.repeat(64) }), chunks)).toEqual({ ok: false, error: 'chunk payload failed its SHA-256 checksum' });
    expect(decodePayload(JSON.stringify({ ...m, _omero_forms_storage: 'chunked-v9' }), chunks)).toEqual({ ok: false, error: 'unsupported OMERO.forms payload format: "chunked-v9"' });
  });

  it('a chunked submission and version parse as their payload; chunk keys are neither; an empty uiSchema is {}', () => {
    const entry: SubmissionEntry = { formId: 'f', objectType: 'Dataset', objectId: 1, annotationId: 9, index: 0, key: 'K', value: manifest.value, previousValue: null, chunks };
    expect(parseSubmission(entry)).toMatchObject({ formTimestamp: 'V', changedById: 2, error: null });
    expect(parseSubmission({ ...entry, chunks: [] })).toMatchObject({ data: null, error: expect.stringMatching(/^chunk payload is missing chunk\(s\): 0, 1/) });
    const big = JSON.stringify({ id: 'f', schema: JSON.stringify({ type: 'object', description: randomBytes(900).toString('hex') }), uiSchema: '', author: 4, timestamp: 'T', message: 'm' });
    const form = parseFormDefinition('f', [...encodePayload('T', big).map(([key, value]) => ({ key, value })), { key: 'id', value: 'f' }], []);
    expect(form.versions.map((v) => [v.timestamp, v.error, v.uiSchema])).toEqual([['T', null, {}]]);
    expect(form.errors).toEqual([]);
  });
});

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
    expect(bad.errors.map((e) => [e.path, e.keyword])).toEqual([['/objective', 'enum'], ['/channels/0', 'type'], ['/email', 'format']]);
    expect(validateFormData(version, {}).errors).toEqual([expect.objectContaining({ path: '/objective', keyword: 'required' })]);
  });

  it('a schema ajv refuses is a coded error naming the version, and so is a broken entry', () => {
    const refused = { ...version, timestamp: 'T2', schema: { type: 'object', properties: { z: { type: 'strng' } } } };
    expect(() => validateFormData(refused, {})).toThrow(expect.objectContaining({ message: expect.stringContaining('version T2'), extensions: expect.objectContaining({ code: 'BAD_USER_INPUT' }) }));
    const broken = { ...version, timestamp: 'T3', schema: null, error: 'schema is not valid JSON' };
    expect(() => validateFormData(broken, {})).toThrow(/version T3 .*schema is not valid JSON/);
  });
});
