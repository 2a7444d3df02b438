/**
 * The sentence parts the CLI and the admin page share: a void's credits that expired again.
 */
import { describe, expect, it } from 'vitest';
import { expiredAgain } from '../../display';

describe('expiredAgain', () => {
  it.each([
    [undefined, ''],
    [0, ''],
    [1, ', 1 of them to a grant that has expired since, so they expired again'],
    [12_500, ', 12,500 of them to a grant that has expired since, so they expired again'],
  ])('says %s expired credits as %j', (expired, words) => {
    expect(expiredAgain(expired)).toBe(words);
  });
});
