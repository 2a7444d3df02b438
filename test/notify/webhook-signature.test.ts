/**
 * Webhook signatures: what the worker signs, the client library's helper verifies; a wrong
 * secret, a changed body, a stale timestamp or a malformed header is refused, each with its reason.
 */
import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signWebhookPayload, verifyWebhookSignature } from '../../client';

const SECRET = 'whsec_0123456789abcdef';
const NOW = 1_790_000_000;

describe('verifyWebhookSignature', () => {
  it('accepts what signWebhookPayload signed, and the header is t=<unix>,v1=<HMAC-SHA256 of "t.body">', () => {
    const body = '{"id":"tier.charged:acme:tier:2026-06-01T00:00:00.000Z"}';
    const header = signWebhookPayload(body, SECRET, NOW);
    const hex = createHmac('sha256', SECRET).update(`${NOW}.${body}`).digest('hex');
    expect(header).toBe(`t=${NOW},v1=${hex}`);
    expect(verifyWebhookSignature(body, header, SECRET, 300, NOW)).toEqual({ ok: true, timestamp: NOW });
  });

  it('refuses a wrong secret and a changed body as bad_signature', () => {
    const header = signWebhookPayload('{"a":1}', SECRET, NOW);
    expect(verifyWebhookSignature('{"a":1}', header, 'whsec_another-secret-0000', 300, NOW)).toEqual({ ok: false, problem: 'bad_signature' });
    expect(verifyWebhookSignature('{"a":2}', header, SECRET, 300, NOW)).toEqual({ ok: false, problem: 'bad_signature' });
  });

  it('refuses a timestamp outside the tolerance, before and after, as stale_timestamp', () => {
    const header = signWebhookPayload('{}', SECRET, NOW);
    expect(verifyWebhookSignature('{}', header, SECRET, 300, NOW + 301)).toEqual({ ok: false, problem: 'stale_timestamp' });
    expect(verifyWebhookSignature('{}', header, SECRET, 300, NOW - 301)).toEqual({ ok: false, problem: 'stale_timestamp' });
    expect(verifyWebhookSignature('{}', header, SECRET, 300, NOW + 300).ok).toBe(true);
  });

  it('refuses to check against a tolerance that is not a finite number of seconds (NaN would accept any age)', () => {
    const header = signWebhookPayload('{}', SECRET, NOW);
    for (const tolerance of [Number.NaN, -1, Number.POSITIVE_INFINITY]) {
      expect(() => verifyWebhookSignature('{}', header, SECRET, tolerance, NOW + 10 ** 8)).toThrow(RangeError);
    }
  });

  it('refuses a missing or malformed header as malformed_header', () => {
    const good = signWebhookPayload('{}', SECRET, NOW);
    for (const header of [undefined, '', 't=1', good.replace('t=', 'x='), good.replace(/v1=\w+/, 'v1=zz'), `t=abc,${good.split(',')[1]}`]) {
      expect(verifyWebhookSignature('{}', header, SECRET, 300, NOW)).toEqual({ ok: false, problem: 'malformed_header' });
    }
  });

  it('accepts any of several v1 signatures (a secret being rotated)', () => {
    const body = '{"x":true}';
    const old = signWebhookPayload(body, 'whsec_old-secret-000000', NOW).split(',')[1];
    const current = signWebhookPayload(body, SECRET, NOW);
    expect(verifyWebhookSignature(body, `${current},${old}`, 'whsec_old-secret-000000', 300, NOW).ok).toBe(true);
  });

  it('property: a signature verifies for its own body and secret only', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.integer({ min: 0, max: 4_000_000_000 }), (body, other, secret, otherSecret, t) => {
        const header = signWebhookPayload(body, secret, t);
        expect(verifyWebhookSignature(body, header, secret, 0, t).ok).toBe(true);
        if (other !== body) expect(verifyWebhookSignature(other, header, secret, 0, t).ok).toBe(false);
        if (otherSecret !== secret) expect(verifyWebhookSignature(body, header, otherSecret, 0, t).ok).toBe(false);
      }),
    );
  });
});
