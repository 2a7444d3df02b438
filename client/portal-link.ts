/**
 * Customer admins' portal links: short-lived signed links (a JWT, HS256) that open the admin
 * page of one account only, as a billing-portal session does. A CRM mints one with
 * {@link mintPortalLink} when its admin clicks "Manage AI credits" and redirects there; the
 * admin server checks it with {@link verifyPortalToken} and trades it for a session cookie,
 * so the token does not stay in the address bar or the history.
 *
 * It lives in the client library (not the admin server) so a CRM can mint links with the one
 * package it already uses; both sides share the secret of `CREDITS_PORTAL_SECRET`.
 */
import { randomUUID } from 'node:crypto';
import { CREDITS_PORTAL_SECRET, SettingsError, type Env } from '../infra/settings';

/** Audience of portal tokens: a token signed for anything else with the same secret is refused. */
export const PORTAL_AUDIENCE = 'ai-credits-portal';
/** Path of the admin server that trades a token for a session. */
export const PORTAL_PATH = '/portal';
/** Lifetime of a link when none is given: 15 minutes. */
export const DEFAULT_PORTAL_TTL_SECONDS = 15 * 60;
/** Longest lifetime a link may have: a link is a bearer credential, so it must not live long. */
export const MAX_PORTAL_TTL_SECONDS = 24 * 60 * 60;
/** How far ahead of this server's clock a minter's may run, for {@link MAX_PORTAL_TTL_SECONDS}. */
const PORTAL_CLOCK_SKEW_SECONDS = 5 * 60;
/** Shortest secret accepted: 32 characters (HS256 wants at least 256 bits of key). */
export const MIN_PORTAL_SECRET_LENGTH = 32;

const ACCOUNT_ID = /^[A-Za-z0-9._-]{1,64}$/;
const EMAIL = /^[^\s@<>"]{1,64}@[^\s@<>"]{1,189}$/;

/** What a valid portal token says. */
export interface PortalClaims {
  /** The one account the link opens. */
  accountId: string;
  /** When the link stops working, UTC ISO-8601. */
  expiresAt: string;
  /** Unique id of the link: the server accepts each link once. */
  linkId: string;
  /** The customer admin the CRM minted the link for, if it said (shown on the page, logged). */
  adminEmail?: string;
}

/** Options of {@link mintPortalLink}. */
export interface MintPortalLinkOptions {
  /** The HS256 secret, the admin server's `CREDITS_PORTAL_SECRET`. */
  secret: string;
  /** The admin server's base URL, e.g. `https://billing.example.com`. */
  baseUrl: string;
  /** Lifetime in seconds, 1 to {@link MAX_PORTAL_TTL_SECONDS}. Default {@link DEFAULT_PORTAL_TTL_SECONDS}. */
  ttlSeconds?: number;
  /** The customer admin's e-mail, carried in the token for the page and the logs. */
  adminEmail?: string;
  /** The current time in ms (tests). Default `Date.now()`. */
  nowMs?: number;
}

/** A minted link. */
export interface PortalLink {
  /** The URL to send the customer admin to. */
  url: string;
  /** The token alone (the URL's `token` parameter). */
  token: string;
  /** When the link stops working, UTC ISO-8601. */
  expiresAt: string;
}

/** Why a token was refused: `invalid` (forged, malformed, wrong audience) or `expired`. */
export type PortalTokenFailure = 'invalid' | 'expired';

/** A token that cannot be used; the message never contains the token. */
export class PortalTokenError extends Error {
  override name = 'PortalTokenError';

  constructor(
    /** Why. */
    readonly reason: PortalTokenFailure,
    message: string,
  ) {
    super(message);
  }
}

/** jose is an ES module and this package is CommonJS: it is loaded with a dynamic import. */
function loadJose(): Promise<typeof import('jose', { with: { 'resolution-mode': 'import' } })> {
  return import('jose');
}

function secretKey(secret: string): Uint8Array {
  if (secret.length < MIN_PORTAL_SECRET_LENGTH) {
    throw new SettingsError(`the portal secret must be at least ${MIN_PORTAL_SECRET_LENGTH} characters`);
  }
  return new TextEncoder().encode(secret);
}

/**
 * The portal secret the environment gives (`CREDITS_PORTAL_SECRET`), or undefined when unset.
 *
 * @throws SettingsError when it is too short to be safe.
 */
export function portalSecretFromEnv(env: Env = process.env): string | undefined {
  const secret = CREDITS_PORTAL_SECRET.read(env);
  if (secret !== undefined && secret.length < MIN_PORTAL_SECRET_LENGTH) {
    throw new SettingsError(`${CREDITS_PORTAL_SECRET.name} must be at least ${MIN_PORTAL_SECRET_LENGTH} characters`);
  }
  return secret;
}

/**
 * Mints a link that opens `accountId`'s admin page, and only it, until it expires.
 *
 * @throws RangeError for an account id that cannot exist, a bad lifetime, e-mail or base URL;
 *   SettingsError for a secret that is too short.
 */
export async function mintPortalLink(accountId: string, options: MintPortalLinkOptions): Promise<PortalLink> {
  if (!ACCOUNT_ID.test(accountId)) throw new RangeError('account ids are 1-64 characters of A-Z, a-z, 0-9, ".", "_" and "-"');
  const ttl = options.ttlSeconds ?? DEFAULT_PORTAL_TTL_SECONDS;
  if (!Number.isSafeInteger(ttl) || ttl < 1 || ttl > MAX_PORTAL_TTL_SECONDS) {
    throw new RangeError(`a portal link lives 1 to ${MAX_PORTAL_TTL_SECONDS} seconds (24 hours)`);
  }
  if (options.adminEmail !== undefined && !EMAIL.test(options.adminEmail)) throw new RangeError('the admin e-mail is not an e-mail address');
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch {
    throw new RangeError('the base URL is not a URL');
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RangeError('the base URL must be http or https');
  const key = secretKey(options.secret);
  const nowSeconds = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const exp = nowSeconds + ttl;
  const claims = options.adminEmail === undefined ? {} : { email: options.adminEmail };
  const { SignJWT } = await loadJose();
  const token = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(accountId)
    .setAudience(PORTAL_AUDIENCE)
    .setJti(randomUUID())
    .setIssuedAt(nowSeconds)
    .setExpirationTime(exp)
    .sign(key);
  const url = new URL(PORTAL_PATH, base);
  url.searchParams.set('token', token);
  return { url: url.toString(), token, expiresAt: new Date(exp * 1000).toISOString() };
}

/**
 * Checks a token's signature, audience and expiry, and returns what it says.
 *
 * @throws PortalTokenError `expired` or `invalid`.
 */
export async function verifyPortalToken(token: string, secret: string, nowMs = Date.now()): Promise<PortalClaims> {
  const key = secretKey(secret);
  const { errors: joseErrors, jwtVerify } = await loadJose();
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, key, {
      algorithms: ['HS256'],
      audience: PORTAL_AUDIENCE,
      currentDate: new Date(nowMs),
      requiredClaims: ['sub', 'exp', 'jti'],
    }));
  } catch (err) {
    if (err instanceof joseErrors.JWTExpired) throw new PortalTokenError('expired', 'this link has expired; ask for a new one');
    throw new PortalTokenError('invalid', 'this link is not valid (its signature or contents do not check out)');
  }
  const { sub, exp, jti, email } = payload;
  if (typeof sub !== 'string' || !ACCOUNT_ID.test(sub) || typeof exp !== 'number' || typeof jti !== 'string' || jti.length > 100) {
    throw new PortalTokenError('invalid', 'this link is not valid (its contents do not check out)');
  }
  // A link lives at most a day, whoever minted it (a CRM with the secret may set any expiry):
  // its id is remembered until then, and an expiry past any date must not reach toISOString.
  if (exp * 1000 - nowMs > (MAX_PORTAL_TTL_SECONDS + PORTAL_CLOCK_SKEW_SECONDS) * 1000) {
    throw new PortalTokenError('invalid', `this link is not valid (it lives longer than ${MAX_PORTAL_TTL_SECONDS / 3600} hours)`);
  }
  const claims: PortalClaims = { accountId: sub, expiresAt: new Date(exp * 1000).toISOString(), linkId: jti };
  if (typeof email === 'string' && EMAIL.test(email)) claims.adminEmail = email;
  return claims;
}
