/**
 * API keys held as hashes, found in constant time, optionally scoped; and the per-key rate limit.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiKeysFromEnv, findApiCaller, generateApiKey, hashApiKey, parseApiKeyHashes } from '../../api/keys';
import { RateLimiter } from '../../api/rate-limit';
import { isSettingsError } from '../../infra/settings';

describe('API key hashes', () => {
  it('finds exactly the keys whose hashes are stored, with their scope', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1 }), { minLength: 1, maxLength: 6 }), fc.string(), (stored, other) => {
        const entries = parseApiKeyHashes(stored.map((k, i) => (i === 0 ? `${hashApiKey(k)} acme globex` : hashApiKey(k))).join('\n'), 'test');
        stored.forEach((key, i) => {
          const caller = findApiCaller(entries, key);
          expect(caller?.keyIndex).toBe(i);
          expect(caller?.accounts === undefined ? undefined : [...caller.accounts]).toEqual(i === 0 ? ['acme', 'globex'] : undefined);
        });
        if (!stored.includes(other)) expect(findApiCaller(entries, other)).toBeUndefined();
      }),
    );
  });

  it('reads commas, lines, comments and upper-case hex; refuses a key stored in the clear without echoing it', () => {
    const a = hashApiKey('a');
    const b = hashApiKey('b');
    expect(parseApiKeyHashes(`# keys\n${a.toUpperCase()} # service A\n\n, ${b} acme`, 'test')).toHaveLength(2);
    let thrown: unknown;
    try {
      parseApiKeyHashes(`${a}\nsecret-key-in-the-clear`, 'CREDITS_API_KEY_HASHES');
    } catch (err) {
      thrown = err;
    }
    expect(isSettingsError(thrown)).toBe(true);
    expect((thrown as Error).message).toContain('entry 2');
    expect((thrown as Error).message).not.toContain('secret-key-in-the-clear');
    expect(() => parseApiKeyHashes(`${a} not/an/account`, 'test')).toThrow(/account id/);
  });

  it('takes hashes from the environment and from a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'api-keys-'));
    try {
      const file = join(dir, 'keys');
      writeFileSync(file, `${hashApiKey('from-file')} acme\n`);
      const entries = apiKeysFromEnv({ CREDITS_API_KEY_HASHES: hashApiKey('from-env'), CREDITS_API_KEYS_FILE: file });
      expect(findApiCaller(entries, 'from-env')?.keyIndex).toBe(0);
      expect([...(findApiCaller(entries, 'from-file')?.accounts ?? [])]).toEqual(['acme']);
      expect(apiKeysFromEnv({})).toEqual([]);
      expect(() => apiKeysFromEnv({ CREDITS_API_KEYS_FILE: join(dir, 'missing') })).toThrow(/CREDITS_API_KEYS_FILE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('makes keys that differ and that hash to 64 hex digits', () => {
    const one = generateApiKey();
    expect(one).not.toBe(generateApiKey());
    expect(hashApiKey(one)).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the per-key rate limit', () => {
  it('never admits more than the burst plus the rate over the time passed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.integer({ min: 1, max: 50 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 0, max: 2 })), { maxLength: 200 }),
        (perSecond, burst, steps) => {
          let now = 0;
          const limiter = new RateLimiter({ perSecond, burst }, () => now);
          const admitted = [0, 0, 0];
          for (const [advance, key] of steps) {
            now += advance;
            const wait = limiter.take(key);
            expect(wait).toBeGreaterThanOrEqual(0);
            if (wait === 0) admitted[key] = (admitted[key] ?? 0) + 1;
          }
          for (const count of admitted) expect(count).toBeLessThanOrEqual(burst + (now / 1000) * perSecond + 1e-9);
        },
      ),
    );
  });
});
