import { checkTimeZone, instantToNaive, naiveToInstant } from '../../../subgraphs/forms/time';

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
