/** The servers' default log line: no "undefined" after a line without an error. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { consoleLog } from '../../infra/console-log';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('consoleLog', () => {
  it('writes a plain line alone, and an error after its line', () => {
    const written = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    consoleLog('admin access: portal link opened acme');
    const failure = new Error('boom');
    consoleLog('admin page: GET / failed', failure);
    expect(written.mock.calls).toEqual([['admin access: portal link opened acme'], ['admin page: GET / failed', failure]]);
  });
});
