/**
 * Webhook signatures, as Stripe signs: the header `Credits-Signature: t=<unix seconds>,v1=<hex>`
 * where the hex is HMAC-SHA256, keyed by the endpoint's secret, of `<t>.<raw body>`. The
 * timestamp inside the signed text lets a receiver refuse a replayed old request.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Name of the signature header. */
export const WEBHOOK_SIGNATURE_HEADER = 'Credits-Signature';
/** Default tolerance of {@link verifyWebhookSignature}: five minutes, as Stripe's libraries. */
export const DEFAULT_SIGNATURE_TOLERANCE_SEC = 300;

function hmac(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
}

/** The header value signing `body` with `secret` at `timestamp` (unix seconds). */
export function signWebhookPayload(body: string, secret: string, timestamp: number): string {
  return `t=${timestamp},v1=${hmac(secret, timestamp, body)}`;
}

/** Why {@link verifyWebhookSignature} refused a request. */
export type SignatureProblem = 'malformed_header' | 'bad_signature' | 'stale_timestamp';

/** Answer of {@link verifyWebhookSignature}. */
export type SignatureCheck = { ok: true; timestamp: number } | { ok: false; problem: SignatureProblem };

/**
 * Checks a webhook request as a receiver should: `body` is the raw request body exactly as
 * received (not re-serialised JSON), `header` the `Credits-Signature` value. Any `v1` in the
 * header may match (several appear while a secret is rotated); the timestamp must be within
 * `toleranceSec` of `nowSec`.
 *
 * @throws RangeError when `toleranceSec` is not a finite number >= 0 (NaN would accept any age).
 */
export function verifyWebhookSignature(
  body: string,
  header: string | undefined,
  secret: string,
  toleranceSec: number = DEFAULT_SIGNATURE_TOLERANCE_SEC,
  nowSec: number = Math.floor(Date.now() / 1000),
): SignatureCheck {
  // NaN would compare false and let any timestamp through: a replayed request accepted.
  if (!Number.isFinite(toleranceSec) || toleranceSec < 0) throw new RangeError(`toleranceSec must be a finite number of seconds >= 0, got ${toleranceSec}`);
  const parts = (header ?? '').split(',').map((p) => p.trim().split('='));
  const t = parts.find(([k]) => k === 't')?.[1];
  const signatures = parts.filter(([k, v]) => k === 'v1' && v !== undefined && /^[0-9a-f]{64}$/.test(v)).map(([, v]) => v as string);
  if (t === undefined || !/^\d{1,12}$/.test(t) || signatures.length === 0) return { ok: false, problem: 'malformed_header' };
  const timestamp = Number(t);
  const expected = Buffer.from(hmac(secret, timestamp, body), 'hex');
  const matches = signatures.some((s) => timingSafeEqual(Buffer.from(s, 'hex'), expected));
  if (!matches) return { ok: false, problem: 'bad_signature' };
  if (Math.abs(nowSec - timestamp) > toleranceSec) return { ok: false, problem: 'stale_timestamp' };
  return { ok: true, timestamp };
}
