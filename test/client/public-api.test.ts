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
