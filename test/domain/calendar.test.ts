import { describe, expect, it } from 'vitest';
import { cycleAt, cycleContaining } from '../../domain/calendar';
import { isIsoInstant } from '../../ruleset/instant';

describe('cycle calendar', () => {
  it.each([
    // anchor, offset, start
    ['2026-01-31T00:00:00.000Z', 0, '2026-01-31T00:00:00.000Z'],
    ['2026-01-31T00:00:00.000Z', 1, '2026-02-28T00:00:00.000Z'],
    ['2026-01-31T00:00:00.000Z', 2, '2026-03-31T00:00:00.000Z'],
    ['2026-01-31T00:00:00.000Z', 3, '2026-04-30T00:00:00.000Z'],
    ['2026-01-31T00:00:00.000Z', 4, '2026-05-31T00:00:00.000Z'],
    ['2028-01-30T10:15:00.000Z', 1, '2028-02-29T10:15:00.000Z'],
    ['2026-01-29T23:59:59.000Z', 1, '2026-02-28T23:59:59.000Z'],
    ['2026-06-03T00:00:00.000Z', 7, '2027-01-03T00:00:00.000Z'],
    ['2026-06-03T00:00:00.000Z', -1, '2026-05-03T00:00:00.000Z'],
  ])('anchor %s, cycle %i starts %s', (anchor, offset, start) => {
    expect(cycleAt(anchor, offset).start).toBe(start);
  });

  it('month-end anchors return to their own day after a short month', () => {
    const anchor = '2026-01-31T00:00:00.000Z';
    expect([0, 1, 2].map((k) => cycleAt(anchor, k).end)).toEqual([
      '2026-02-28T00:00:00.000Z',
      '2026-03-31T00:00:00.000Z',
      '2026-04-30T00:00:00.000Z',
    ]);
  });

  it('finds the cycle containing an instant, boundaries inclusive at the start', () => {
    const anchor = '2026-06-03T00:00:00.000Z';
    expect(cycleContaining(anchor, Date.parse('2026-07-03T00:00:00.000Z')).offset).toBe(1);
    expect(cycleContaining(anchor, Date.parse('2026-07-02T23:59:59.999Z')).offset).toBe(0);
    expect(cycleContaining(anchor, Date.parse('2026-11-24T12:00:00.000Z'))).toEqual({
      offset: 5,
      start: '2026-11-03T00:00:00.000Z',
      end: '2026-12-03T00:00:00.000Z',
    });
  });

  it.each([
    ['2026-06-03T00:00:00Z', true],
    ['2026-06-03T00:00:00.123Z', true],
    ['2026-06-03T02:00:00+02:00', true],
    ['2026-06-03', false],
    ['2026-02-30T00:00:00Z', false],
    ['2028-02-29T23:59:59Z', true],
    ['2026-06-03T24:00:00Z', false],
    ['2026-06-03T24:00Z', false],
    ['2026-06-03T25:00:00Z', false],
    ['2026-06-03T23:60:00Z', false],
    ['2026-06-03T23:59:60Z', false],
    ['2026-06-03T23:59:59.999Z', true],
    ['2026-06-03T00:00:00-23:59', true],
    ['2026-06-03T00:00:00+24:00', false],
    ['2026-06-03T00:00:00+02:60', false],
    // An offset carrying the last day of year 9999 into year 10000 in UTC, and one before year 1.
    ['9999-12-31T23:59:59-23:59', false],
    ['9999-12-31T00:00:00Z', true],
    ['0001-01-01T00:00:00Z', true],
    ['0001-01-01T00:00:00+01:00', false],
    ['yesterday', false],
    [12345, false],
  ])('isIsoInstant(%s) is %s', (value, ok) => {
    expect(isIsoInstant(value)).toBe(ok);
  });
});
