import { parseFormDefinition, parseSubmission, type SubmissionEntry } from '../../../subgraphs/forms/parse';

describe('parsing entries as OMERO.forms writes them', () => {
  const version = (ts: string, schema: unknown) => ({
    key: ts,
    value: JSON.stringify({ id: 'f', schema: JSON.stringify(schema), uiSchema: '{}', author: 4, timestamp: ts, message: 'm' }),
  });

  it('mixes meta keys with versions, keeps stored order, reports broken entries per version', () => {
    const form = parseFormDefinition(
      'f',
      [
        version('2026-03-02T00:00:00', { title: 'New', type: 'object' }),
        { key: 'id', value: 'f' },
        { key: 'owner', value: '4' },
        { key: 'owner', value: 'carol' },
        { key: 'objType', value: 'Dataset' },
        { key: 'objType', value: 'Image' },
        { key: '2026-03-01T12:00:00', value: '{"id": "f", "schema": ' },
        { key: '2026-03-01T00:00:00', value: JSON.stringify({ id: 'f', author: 4 }) },
      ],
      [3],
    );
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
    const entry = (value: string, previousValue: string | null): SubmissionEntry => ({
      formId: 'f',
      objectType: 'Dataset',
      objectId: 1,
      annotationId: 9,
      index: 0,
      key: 'K',
      value,
      previousValue,
      chunks: [],
    });
    const good = JSON.stringify({ formId: 'f', formTimestamp: 'V', formData: JSON.stringify({ a: 1 }), changedBy: 2, changedAt: 'C', message: 'hi' });
    expect(parseSubmission(entry(good, null))).toMatchObject({
      data: { a: 1 },
      changedById: 2,
      changedAt: 'C',
      formTimestamp: 'V',
      error: null,
      previous: null,
    });
    expect(parseSubmission(entry('{"formId": ', good))).toMatchObject({
      data: null,
      changedAt: 'K',
      error: 'submission entry is not valid JSON',
      previous: { data: { a: 1 } },
    });
    expect(parseSubmission(entry(JSON.stringify({ formData: '{"a": 2}' }), null))).toMatchObject({
      data: { a: 2 },
      changedAt: 'K',
      error: 'missing formTimestamp, changedBy',
    });
    expect(parseSubmission(entry(JSON.stringify({ formTimestamp: 'V', changedBy: 2, formData: '{bad' }), null))).toMatchObject({
      data: null,
      error: 'formData is not valid JSON',
    });
  });
});
