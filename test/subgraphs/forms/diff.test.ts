import { changesSince, diff } from '../../../subgraphs/forms/diff';

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
