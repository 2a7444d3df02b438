/**
 * The package root (`index.ts`) is what a product service imports: every error the client can
 * throw must be there with its guard, or a caller cannot tell, say, `overloaded` apart.
 */
import { describe, expect, it } from 'vitest';
import * as root from '../../index';
import * as errors from '../../client/errors';

describe('the package root', () => {
  it('exports every error class, guard and code list of the client', () => {
    const names = Object.keys(errors);
    expect(names.length).toBeGreaterThan(10);
    const missing = names.filter((name) => (root as Record<string, unknown>)[name] !== (errors as Record<string, unknown>)[name]);
    expect(missing).toEqual([]);
  });

  it('exports the client defaults a caller tunes from', () => {
    expect(root.DEFAULT_COALESCE).toMatchObject({ lingerMs: expect.any(Number), maxBatch: expect.any(Number) });
    expect(root.DEFAULT_RETRY_POLICY).toMatchObject({ maxAttempts: expect.any(Number) });
  });
});

describe('the error guards', () => {
  it("recognise a copy of the client's errors by class name and code, and not another library's error with the same code", () => {
    const copy = Object.assign(new Error('no answer'), { name: 'CreditsUnavailableError', code: 'unavailable' });
    expect(root.isCreditsUnavailableError(copy)).toBe(true);
    const firebase = Object.assign(new Error('the service is currently unavailable'), { code: 'unavailable' });
    expect(root.isCreditsError(firebase)).toBe(false);
    expect(root.isCreditsUnavailableError(firebase)).toBe(false);
    expect(root.isCreditsError(new root.UsageOverloadedError('full', { accountId: 'a' }))).toBe(true);
  });
});
