/**
 * The refused-key log's bound per caller address: a few lines a window, then quiet, then one
 * line that says how many refusals went unlogged.
 */
import { describe, expect, it } from 'vitest';
import { RefusalLog } from '../../api/refusal-log';

describe('RefusalLog', () => {
  it('logs a few refusals per address a window, then says how many it did not log', () => {
    let now = 0;
    const log = new RefusalLog({ lines: 2, perMs: 1000 }, () => now);
    expect(['a', 'a', 'a', 'a', 'b'].map((address) => log.note(address))).toEqual(['', '', undefined, undefined, '']);
    now = 999;
    expect(log.note('a')).toBeUndefined();
    now = 1000;
    expect(log.note('a')).toBe(' (and 3 more refused from this address before it, not logged)');
    expect(log.note('a')).toBe('');
    now = 5000;
    expect(log.note('a')).toBe('');
  });
});
