import { barrierPassed, replayRange, Settlement } from '../../../subgraphs/common/settlement';

const rows = (...ids: number[]) => ids.map((id) => ({ id }));
const ids = (list: { id: number }[]) => list.map((r) => r.id);
const none = new Set<string>();

describe('Settlement', () => {
  it('releases contiguous rows at once, without reading holders', () => {
    const s = new Settlement({ upTo: 10, holders: none }, 0);
    expect(ids(s.take(rows(11, 12, 13), 0))).toEqual([11, 12, 13]);
    expect(s.frontier).toBe(13);
    expect(s.needsBarrier).toBe(false);
    expect(s.waiting).toBe(false);
  });

  it('holds rows above a gap until the holders read after that read have all ended, however long', () => {
    const s = new Settlement({ upTo: 10, holders: none }, 0);
    expect(ids(s.take(rows(11, 13, 14), 0))).toEqual([11]);
    expect(s.needsBarrier).toBe(true);
    s.wait(new Set(['3/7', '4/2']));
    expect(s.waiting).toBe(true);
    // one holder ends; an unrelated newcomer appears: still waiting, for as long as 3/7 runs
    for (const t of [1_000, 60_000, 3_600_000]) {
      s.holdersNow(new Set(['3/7', '5/1']));
      expect(ids(s.take(rows(13, 14, 15), t))).toEqual([]);
    }
    expect(s.holds(3_600_000)).toEqual({ rows: 3, oldestSeconds: 3600 });
    // 3/7 commits id 12 and ends: the fresh read shows it, everything goes out in id order
    s.holdersNow(new Set(['5/1']));
    expect(ids(s.take(rows(12, 13, 14, 15), 3_600_001))).toEqual([12, 13, 14, 15]);
    expect(s.holds(3_600_001)).toEqual({ rows: 0, oldestSeconds: 0 });
  });

  it('moves past an id whose transaction rolled back once its holders have ended', () => {
    const s = new Settlement({ upTo: 0, holders: none }, 0);
    expect(ids(s.take(rows(2, 3), 0))).toEqual([]);
    s.wait(new Set(['3/9']));
    s.holdersNow(none);
    expect(ids(s.take(rows(2, 3), 1))).toEqual([2, 3]);
    expect(s.frontier).toBe(3);
  });

  it('with no holders after the read, settles on the next read (a writer may have committed in between)', () => {
    const s = new Settlement({ upTo: 0, holders: none }, 0);
    s.take(rows(2), 0);
    s.wait(none);
    s.holdersNow(none);
    expect(ids(s.take(rows(1, 2), 1))).toEqual([1, 2]);
  });

  it('keeps its barrier while writers keep coming, so a busy table still settles (no starvation)', () => {
    const s = new Settlement({ upTo: 0, holders: none }, 0);
    s.take(rows(2), 0);
    s.wait(new Set(['a']));
    s.holdersNow(new Set(['a', 'b']));
    s.take(rows(2, 4), 1); // a new gap at 3, above the barrier's line
    s.wait(new Set(['a', 'b', 'c'])); // ignored: the first barrier still decides
    s.holdersNow(new Set(['b', 'c'])); // 'a' ended: ids up to 2 are final
    expect(ids(s.take(rows(2, 4), 2))).toEqual([2]);
    expect(s.needsBarrier).toBe(true); // 3 now waits for the holders seen after this read
    s.wait(new Set(['b', 'c', 'd']));
    s.holdersNow(new Set(['d']));
    expect(ids(s.take(rows(4), 3))).toEqual([]);
    s.holdersNow(none);
    expect(ids(s.take(rows(4), 4))).toEqual([4]);
  });

  it('a held row seen in a shorter read (batch limit) is still held and released in order later', () => {
    const s = new Settlement({ upTo: 0, holders: none }, 0);
    s.take(rows(2, 3, 4), 0);
    s.wait(new Set(['x']));
    s.holdersNow(none);
    expect(ids(s.take(rows(2, 3), 1))).toEqual([2, 3]);
    expect(ids(s.take(rows(4, 5), 2))).toEqual([4, 5]);
  });
});

describe('start barrier and replay', () => {
  it('a resume below the max at start waits for the transactions open at start; one above does not', () => {
    const s = new Settlement({ upTo: 100, holders: new Set(['7/1']) }, 0);
    expect(s.frontier).toBe(100);
    expect(replayRange(40, s.frontier, s.startBarrier)).toBe('wait');
    expect(replayRange(100, s.frontier, s.startBarrier)).toEqual({ from: 100, to: 100 });
    expect(replayRange(null, s.frontier, s.startBarrier)).toEqual({ from: 100, to: 100 });
    expect(s.waiting).toBe(true);
    expect(s.holds(5000).oldestSeconds).toBe(5);
    s.holdersNow(new Set(['8/1']));
    expect(s.startBarrier).toBeNull();
    expect(ids(s.take(rows(101), 1))).toEqual([101]);
    expect(replayRange(40, s.frontier, s.startBarrier)).toEqual({ from: 40, to: 101 });
  });

  it('no transaction open at start: nothing waits', () => {
    const s = new Settlement({ upTo: 100, holders: none }, 0);
    expect(s.startBarrier).toBeNull();
    expect(replayRange(3, s.frontier, s.startBarrier)).toEqual({ from: 3, to: 100 });
  });

  it('barrierPassed: every holder must have ended', () => {
    expect(barrierPassed({ upTo: 1, holders: new Set(['a', 'b']) }, new Set(['b']))).toBe(false);
    expect(barrierPassed({ upTo: 1, holders: new Set(['a', 'b']) }, new Set(['c']))).toBe(true);
  });
});
