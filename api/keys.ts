/**
 * API keys of the usage API. Keys are held only as SHA-256 hashes (hashed at rest: a leaked
 * settings file or environment gives no usable key), each optionally scoped to some accounts.
 * A presented key is hashed and compared with every stored hash in constant time, so neither
 * the answer's timing nor an early exit tells how much of a key was right.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CREDITS_API_KEY_HASHES, CREDITS_API_KEYS_FILE, SettingsError, type Env } from '../infra/settings';

/** One stored key: its SHA-256 hash and the accounts it may act on (undefined: every account). */
export interface ApiKeyEntry {
  /** SHA-256 of the key's UTF-8 text, 32 bytes. */
  readonly hash: Buffer;
  /** Account ids this key may act on; undefined when the key is for every account. */
  readonly accounts?: ReadonlySet<string>;
}

/** Who a request's key is: its index among the stored keys, and its scope. */
export interface ApiCaller {
  /** Index of the matching key (for rate limiting and logs: never the key itself). */
  readonly keyIndex: number;
  /** Accounts the key may act on; undefined for every account. */
  readonly accounts?: ReadonlySet<string>;
}

const HEX_HASH = /^[0-9a-f]{64}$/i;
const ACCOUNT_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** The SHA-256 hash (lower-case hex) of a key, as `CREDITS_API_KEY_HASHES` and key files hold it. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

/** A new random key (256 bits, base64url), e.g. for the main job's demo key. */
export function generateApiKey(): string {
  return `cak_${randomBytes(32).toString('base64url')}`;
}

/**
 * Reads stored keys from text: entries separated by commas or new lines, each a SHA-256 hash
 * in hex optionally followed by spaces and the account ids it is scoped to; `#` starts a comment.
 *
 * @throws SettingsError naming `source` and the entry's position (never its text, which may be a key pasted by mistake).
 */
export function parseApiKeyHashes(text: string, source: string): ApiKeyEntry[] {
  const entries: ApiKeyEntry[] = [];
  const items = text
    .split(/[\n,]/)
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line !== '');
  items.forEach((item, index) => {
    const [hash = '', ...accounts] = item.split(/\s+/);
    if (!HEX_HASH.test(hash)) {
      throw new SettingsError(`${source}: entry ${index + 1} is not a SHA-256 hash (64 hex digits); store hashes of keys, never keys`);
    }
    const badAccount = accounts.find((a) => !ACCOUNT_ID.test(a));
    if (badAccount !== undefined) throw new SettingsError(`${source}: entry ${index + 1} names an account id that cannot exist`);
    entries.push({ hash: Buffer.from(hash, 'hex'), accounts: accounts.length > 0 ? new Set(accounts) : undefined });
  });
  return entries;
}

/**
 * The stored keys the environment gives: `CREDITS_API_KEY_HASHES`, then the lines of
 * `CREDITS_API_KEYS_FILE`; empty when neither is set.
 *
 * @throws SettingsError when a value cannot be used or the file cannot be read.
 */
export function apiKeysFromEnv(env: Env = process.env): ApiKeyEntry[] {
  const inline = CREDITS_API_KEY_HASHES.read(env);
  const file = CREDITS_API_KEYS_FILE.read(env);
  const entries = inline === undefined ? [] : parseApiKeyHashes(inline, CREDITS_API_KEY_HASHES.name);
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new SettingsError(`${CREDITS_API_KEYS_FILE.name}: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    entries.push(...parseApiKeyHashes(text, file));
  }
  return entries;
}

/**
 * The caller a bearer key belongs to, or undefined when it matches no stored key. Every stored
 * hash is compared, in constant time, whatever matched before.
 */
export function findApiCaller(entries: readonly ApiKeyEntry[], key: string): ApiCaller | undefined {
  const presented = createHash('sha256').update(key, 'utf8').digest();
  let found: ApiCaller | undefined;
  entries.forEach((entry, keyIndex) => {
    if (timingSafeEqual(presented, entry.hash) && found === undefined) found = { keyIndex, accounts: entry.accounts };
  });
  return found;
}
