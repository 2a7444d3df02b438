/**
 * Portal links without a server: what a minted token says, what is refused (forged, expired,
 * wrong audience, bad input), the CLI's lifetime parsing and the tier confirm page's words.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tierChangePreview } from '../../admin/actions';
import { adminAccessFromEnv, assertSafeBinding } from '../../admin/access';
import { main } from '../../cli/main';
import { parseTtl } from '../../cli/portal-commands';
import { mintPortalLink, PortalTokenError, verifyPortalToken } from '../../client';
import type { AccountSummary } from '../../domain/wire-contract';
import { hashApiKey } from '../../api/keys';
import type { TierRule } from '../../ruleset';

const SECRET = 'a'.repeat(40);
const BASE = 'http://127.0.0.1:8787';

async function refusal(token: string, secret = SECRET): Promise<string> {
  try {
    await verifyPortalToken(token, secret);
  } catch (err) {
    expect(err).toBeInstanceOf(PortalTokenError);
    expect((err as Error).message).not.toContain(token);
    return (err as PortalTokenError).reason;
  }
  throw new Error('the token was accepted');
}

describe('portal links', () => {
  it('round-trips the account, expiry, link id and e-mail', async () => {
    const link = await mintPortalLink('acme', { secret: SECRET, baseUrl: BASE, ttlSeconds: 900, adminEmail: 'ann@acme.example' });
    expect(link.url).toBe(`${BASE}/portal?token=${link.token}`);
    const claims = await verifyPortalToken(link.token, SECRET);
    expect(claims).toMatchObject({ accountId: 'acme', adminEmail: 'ann@acme.example', expiresAt: link.expiresAt });
    expect(Date.parse(claims.expiresAt) - Date.now()).toBeGreaterThan(890_000);
    expect(claims.linkId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('opens exactly the account it was minted for, for any account id', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[A-Za-z0-9._-]{1,64}$/), async (accountId) => {
        const link = await mintPortalLink(accountId, { secret: SECRET, baseUrl: BASE });
        expect((await verifyPortalToken(link.token, SECRET)).accountId).toBe(accountId);
      }),
      { numRuns: 50 },
    );
  });

  it('refuses forged, tampered, expired, foreign-audience and malformed tokens', async () => {
    const link = await mintPortalLink('acme', { secret: SECRET, baseUrl: BASE });
    expect(await refusal(link.token, 'b'.repeat(40))).toBe('invalid');
    const [header, payload, signature] = link.token.split('.');
    const other = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()), sub: 'victim' })).toString('base64url');
    expect(await refusal(`${header}.${other}.${signature}`)).toBe('invalid');
    const old = await mintPortalLink('acme', { secret: SECRET, baseUrl: BASE, ttlSeconds: 60, nowMs: Date.now() - 3_600_000 });
    expect(await refusal(old.token)).toBe('expired');
    // jose is an ES module; this test file is CommonJS.
    const { SignJWT } = await import('jose');
    const key = new TextEncoder().encode(SECRET);
    const foreign = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('acme').setAudience('elsewhere').setJti('x').setExpirationTime('5m').sign(key);
    expect(await refusal(foreign)).toBe('invalid');
    const noJti = await new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('acme').setAudience('ai-credits-portal').setExpirationTime('5m').sign(key);
    expect(await refusal(noJti)).toBe('invalid');
    expect(await refusal('not-a-token')).toBe('invalid');
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${payload}.`;
    expect(await refusal(unsigned)).toBe('invalid');
  });

  it('refuses a link that lives longer than a day, whoever signed it, and takes one of a day from a clock a little ahead', async () => {
    const { SignJWT } = await import('jose');
    const key = new TextEncoder().encode(SECRET);
    const signed = (exp: number) => new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject('acme').setAudience('ai-credits-portal').setJti(`j-${exp}`).setExpirationTime(exp).sign(key);
    const now = Math.floor(Date.now() / 1000);
    expect(await refusal(await signed(now + 365 * 86_400))).toBe('invalid');
    // An expiry past any date (toISOString would throw) is a refusal, not an error.
    expect(await refusal(await signed(1e15))).toBe('invalid');
    expect((await verifyPortalToken(await signed(now + 86_400 + 60), SECRET)).accountId).toBe('acme');
  });

  it('refuses bad minting input', async () => {
    await expect(mintPortalLink('no such/id', { secret: SECRET, baseUrl: BASE })).rejects.toThrow(RangeError);
    await expect(mintPortalLink('acme', { secret: SECRET, baseUrl: BASE, ttlSeconds: 0 })).rejects.toThrow(/1 to 86400 seconds/);
    await expect(mintPortalLink('acme', { secret: SECRET, baseUrl: BASE, ttlSeconds: 86_401 })).rejects.toThrow(RangeError);
    await expect(mintPortalLink('acme', { secret: SECRET, baseUrl: 'ftp://x' })).rejects.toThrow(/http or https/);
    await expect(mintPortalLink('acme', { secret: SECRET, baseUrl: BASE, adminEmail: 'nobody' })).rejects.toThrow(/e-mail/);
    await expect(mintPortalLink('acme', { secret: 'short', baseUrl: BASE })).rejects.toThrow(/at least 32 characters/);
  });
});

describe('access settings', () => {
  it('reads operator key hashes, the proxy pair and the portal secret', () => {
    const hash = hashApiKey('k');
    expect(adminAccessFromEnv({})).toEqual({ operatorKeys: [], proxyHeader: undefined, trustedProxy: undefined, portalSecret: undefined });
    const access = adminAccessFromEnv({
      CREDITS_ADMIN_OPERATOR_KEY_HASHES: hash,
      CREDITS_ADMIN_PROXY_HEADER: 'X-Forwarded-User',
      CREDITS_ADMIN_TRUSTED_PROXY: '10.0.0.5',
      CREDITS_PORTAL_SECRET: SECRET,
    });
    expect(access.operatorKeys).toHaveLength(1);
    expect(access).toMatchObject({ proxyHeader: 'X-Forwarded-User', trustedProxy: '10.0.0.5', portalSecret: SECRET });
  });

  it('refuses scoped operator keys, a header without its proxy, a short secret, and an open page off loopback', () => {
    expect(() => adminAccessFromEnv({ CREDITS_ADMIN_OPERATOR_KEY_HASHES: `${hashApiKey('k')} acme` })).toThrow(/for every account/);
    expect(() => adminAccessFromEnv({ CREDITS_ADMIN_PROXY_HEADER: 'x-user' })).toThrow(/set both or neither/);
    expect(() => adminAccessFromEnv({ CREDITS_PORTAL_SECRET: 'short' })).toThrow(/at least 32/);
    expect(() => adminAccessFromEnv({ CREDITS_ADMIN_OPERATOR_KEY_HASHES: 'cak_plainkey' })).toThrow(/not a SHA-256 hash/);
    expect(() => assertSafeBinding({}, '0.0.0.0')).toThrow(/serves loopback only/);
    expect(() => assertSafeBinding({}, '127.0.0.1')).not.toThrow();
    expect(() => assertSafeBinding({ operatorKeys: adminAccessFromEnv({ CREDITS_ADMIN_OPERATOR_KEY_HASHES: hashApiKey('k') }).operatorKeys }, '0.0.0.0')).not.toThrow();
  });
});

describe('credits portal link', () => {
  async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = '';
    let err = '';
    const code = await main(['node', 'credits', ...args], { stdout: (t) => (out += t), stderr: (t) => (err += t) });
    return { code, out, err };
  }
  const saved = process.env.CREDITS_PORTAL_SECRET;
  const withSecret = async <T>(secret: string | undefined, body: () => Promise<T>): Promise<T> => {
    if (secret === undefined) delete process.env.CREDITS_PORTAL_SECRET;
    else process.env.CREDITS_PORTAL_SECRET = secret;
    try {
      return await body();
    } finally {
      if (saved === undefined) delete process.env.CREDITS_PORTAL_SECRET;
      else process.env.CREDITS_PORTAL_SECRET = saved;
    }
  };

  it('prints a link that the server would accept for that account', async () => {
    const { code, out, err } = await withSecret(SECRET, () => run('portal', 'link', 'acme', '--ttl', '30m', '--base-url', 'https://billing.example.com', '--email', 'ann@acme.example'));
    expect(code).toBe(0);
    const url = new URL(out.trim());
    expect(`${url.origin}${url.pathname}`).toBe('https://billing.example.com/portal');
    const claims = await verifyPortalToken(url.searchParams.get('token') ?? '', SECRET);
    expect(claims).toMatchObject({ accountId: 'acme', adminEmail: 'ann@acme.example' });
    expect(Date.parse(claims.expiresAt) - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(err).toBe(`opens acme only, once, until ${claims.expiresAt}\n`);
    const json = await withSecret(SECRET, () => run('portal', 'link', 'acme', '--json', '--base-url', BASE));
    expect(JSON.parse(json.out)).toEqual({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:8787\/portal\?token=/), expiresAt: expect.any(String) });
  });

  it('refuses without a secret, a bad account id and a bad lifetime', async () => {
    const none = await withSecret(undefined, () => run('portal', 'link', 'acme'));
    expect(none.code).toBe(1);
    // A secret too short to be safe is a setting to fix, said as such (not "unexpected error").
    expect(await withSecret('short', () => run('portal', 'link', 'acme'))).toEqual({ code: 1, out: '', err: 'credits: CREDITS_PORTAL_SECRET must be at least 32 characters\n' });
    expect(none.err).toContain('set CREDITS_PORTAL_SECRET');
    const badId = await withSecret(SECRET, () => run('portal', 'link', 'no such/id'));
    expect(badId.code).toBe(2);
    const badTtl = await withSecret(SECRET, () => run('portal', 'link', 'acme', '--ttl', '2d'));
    expect(badTtl.code).toBe(2);
    expect(badTtl.err).toContain('90s, 15m or 1h');
  });
});

describe('credits portal link --ttl', () => {
  it('reads seconds, minutes and hours up to a day', () => {
    expect(parseTtl('15m')).toBe(900);
    expect(parseTtl('1h')).toBe(3600);
    expect(parseTtl('90s')).toBe(90);
    expect(parseTtl('120')).toBe(120);
    expect(parseTtl('24h')).toBe(86_400);
    for (const bad of ['0', '25h', '-5m', '1d', '', 'soon', '1.5h']) expect(() => parseTtl(bad)).toThrow(/90s, 15m or 1h/);
  });
});

describe('the tier confirm words', () => {
  const tiers: TierRule[] = [
    { id: 'tier-1', name: 'Tier 1', rank: 0, priceCents: 2000, credits: 1200 },
    { id: 'tier-2', name: 'Tier 2', rank: 1, priceCents: 5000, credits: 3200 },
  ];
  const at = (tier: TierRule | null, pending = false) =>
    ({
      tier: tier && { id: tier.id, name: tier.name, priceCents: tier.priceCents, credits: tier.credits },
      pendingTier: pending ? { tier: 'tier-1', effectiveAt: '2026-12-01T00:00:00.000Z' } : null,
      cycle: { end: '2026-12-01T00:00:00.000Z' },
    }) as unknown as AccountSummary;
  const [one, two] = tiers as [TierRule, TierRule];

  it('says the price is charged now for a purchase or an upgrade', () => {
    expect(tierChangePreview(at(null), tiers, 'tier-2', 'USD').text).toBe(
      'Buy Tier 2: $50 charged now, and 3,200 credits added at once (no proration; the cycle does not move).',
    );
    expect(tierChangePreview(at(one), tiers, 'tier-2', 'USD').text).toMatch(/^Upgrade Tier 2: \$50 charged now/);
  });

  it('says a downgrade or cancellation starts on the cycle end, with nothing charged now', () => {
    expect(tierChangePreview(at(two), tiers, 'tier-1', 'USD').text).toBe(
      'Downgrade to Tier 1 ($20/month) from 2026-12-01: nothing charged now; Tier 2 stays until then.',
    );
    expect(tierChangePreview(at(two), tiers, null, 'USD').text).toMatch(/^Cancel the subscription from 2026-12-01/);
  });

  it('refuses what would change nothing or names no tier', () => {
    expect(tierChangePreview(at(two), tiers, 'tier-2', 'USD')).toEqual({ ok: false, text: 'You are already on Tier 2.' });
    expect(tierChangePreview(at(two, true), tiers, 'tier-2', 'USD').ok).toBe(true);
    expect(tierChangePreview(at(null), tiers, null, 'USD').ok).toBe(false);
    expect(tierChangePreview(at(null), tiers, 'tier-99', 'USD')).toEqual({ ok: false, text: 'There is no tier tier-99.' });
  });
});
