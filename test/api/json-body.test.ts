/**
 * The usage API's duplicate-member check, against random JSON: a document JSON.stringify
 * writes never names a member twice; one with a member written again always does, however
 * deep, escaped or surrounded by strings that look like JSON.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { firstDuplicateMember } from '../../api/json-body';

describe('firstDuplicateMember', () => {
  it.each([
    ['{"quantity":1,"quantity":500}', 'quantity'],
    ['[{"a":1},{"a":2}]', undefined],
    ['{"a":{"b":1},"c":{"b":2}}', undefined],
    ['{"a":{"b":1,"b":2}}', 'b'],
    ['{"a":"\\"a\\":1,","b":["a","a"]}', undefined],
    ['{"a":1,"\\u0061":2}', 'a'],
    ['{"k\\\\":1,"k\\\\":2}', 'k\\'],
    ['{}', undefined],
    ['"a"', undefined],
    ['[1,{"x":[{"x":1}],"x":2}]', 'x'],
  ])('%s names %s twice', (text, twice) => {
    expect(firstDuplicateMember(text)).toBe(twice);
  });

  it('finds none in what JSON.stringify writes, and the one added to any object', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.string(), (value, extra) => {
        const text = JSON.stringify(value);
        expect(firstDuplicateMember(text)).toBeUndefined();
        // Add, to the first object that has a member, that member again.
        const match = /\{("(?:[^"\\]|\\.)*"):/.exec(text);
        if (match?.[1] === undefined) return;
        const name = JSON.parse(match[1]) as string;
        const doubled = `${text.slice(0, match.index + 1)}${match[1]}:${JSON.stringify(extra)},${text.slice(match.index + 1)}`;
        expect(JSON.parse(doubled)).toBeDefined();
        expect(firstDuplicateMember(doubled)).toBe(name);
      }),
      { numRuns: 500 },
    );
  });
});
