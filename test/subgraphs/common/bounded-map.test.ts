import { BoundedMap } from '../../../subgraphs/common/bounded-map';

describe('BoundedMap', () => {
  it('holds at most its bound, dropping the least recently used', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    expect(map.get('a')).toBe(1); // a used: b is now the oldest
    map.set('c', 3);
    expect([map.has('a'), map.has('b'), map.has('c')]).toEqual([true, false, true]);
    expect(map.size).toBe(2);
  });

  it('peek reads without counting as a use; set of a known key renews it', () => {
    const map = new BoundedMap<string, number>(2);
    map.set('a', 1).set('b', 2);
    expect(map.peek('a')).toBe(1);
    map.set('c', 3); // a was only peeked: it goes
    expect(map.has('a')).toBe(false);
    map.set('b', 20).set('d', 4); // b renewed: c goes
    expect([map.peek('b'), map.has('c'), map.peek('d')]).toEqual([20, false, 4]);
  });

  it('refuses a bound below one', () => {
    expect(() => new BoundedMap(0)).toThrow(/at least 1/);
  });
});
