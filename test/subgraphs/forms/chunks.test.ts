import { randomBytes } from 'node:crypto';
import { decodePayload } from '../../../subgraphs/forms/chunks';
import { parseFormDefinition, parseSubmission, type SubmissionEntry } from '../../../subgraphs/forms/parse';
import { encodePayload } from '../../support/forms-store';

describe('chunked payloads (storage_codec.py)', () => {
  const payload = JSON.stringify({
    formId: 'f',
    formTimestamp: 'V',
    formData: JSON.stringify({ text: 'x'.repeat(900) + randomBytes(2000).toString('hex') }),
    changedBy: 2,
    changedAt: 'K',
    message: '',
  });
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
    expect(decodePayload(manifest.value, [...chunks, { key: `${m.prefix}:000099`, value: 'AAAA' }])).toEqual({
      ok: false,
      error: 'chunk payload contains an unexpected chunk',
    });
    expect(
      decodePayload(
        manifest.value,
        swap(
          0,
          chunks[0].value.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
        ),
      ),
    ).toMatchObject({ ok: false });
    expect(decodePayload(JSON.stringify({ ...m, sha256: '0'.repeat(64) }), chunks)).toEqual({ ok: false, error: 'chunk payload failed its SHA-256 checksum' });
    expect(decodePayload(JSON.stringify({ ...m, _omero_forms_storage: 'chunked-v9' }), chunks)).toEqual({
      ok: false,
      error: 'unsupported OMERO.forms payload format: "chunked-v9"',
    });
  });

  it('a chunked submission and version parse as their payload; chunk keys are neither; an empty uiSchema is {}', () => {
    const entry: SubmissionEntry = {
      formId: 'f',
      objectType: 'Dataset',
      objectId: 1,
      annotationId: 9,
      index: 0,
      key: 'K',
      value: manifest.value,
      previousValue: null,
      chunks,
    };
    expect(parseSubmission(entry)).toMatchObject({ formTimestamp: 'V', changedById: 2, error: null });
    expect(parseSubmission({ ...entry, chunks: [] })).toMatchObject({ data: null, error: expect.stringMatching(/^chunk payload is missing chunk\(s\): 0, 1/) });
    const big = JSON.stringify({
      id: 'f',
      schema: JSON.stringify({ type: 'object', description: randomBytes(900).toString('hex') }),
      uiSchema: '',
      author: 4,
      timestamp: 'T',
      message: 'm',
    });
    const form = parseFormDefinition('f', [...encodePayload('T', big).map(([key, value]) => ({ key, value })), { key: 'id', value: 'f' }], []);
    expect(form.versions.map((v) => [v.timestamp, v.error, v.uiSchema])).toEqual([['T', null, {}]]);
    expect(form.errors).toEqual([]);
  });
});
