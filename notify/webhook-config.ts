/**
 * The webhook endpoints file (`CREDITS_WEBHOOKS_FILE`), YAML or JSON:
 *
 * ```yaml
 * endpoints:
 *   - id: crm                       # optional; names the endpoint in the delivery log
 *     url: https://crm.example.com/hooks/credits
 *     secret: whsec_...              # at least 16 characters; signs every request
 *     events: [alert.warning, alert.exhausted, tier.charged, effect.parked]
 *     accounts: [acme]               # optional: only these accounts' events
 *     giveUpAfter: 6h                # optional: how long one event is retried (default 3d)
 * ```
 *
 * Every problem is reported at once, each naming the endpoint and field; no message ever
 * quotes a secret.
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { WEBHOOK_EVENT_TYPES, type WebhookEvent, type WebhookEventType } from '../domain/webhook-events';
import { CREDITS_WEBHOOKS_FILE, type Env } from '../infra/settings';

/** One configured endpoint. */
export interface WebhookEndpoint {
  /** Name in the delivery log and in messages: the configured id, else the URL without credentials or query. */
  readonly name: string;
  /** Where to POST, without user or password (fetch refuses a URL that carries them). */
  readonly url: string;
  /** `Basic ...` from the configured URL's user and password, sent as `Authorization`. */
  readonly authorization?: string;
  readonly secret: string;
  readonly events: ReadonlySet<WebhookEventType>;
  /** Only these accounts' events; every account's when absent. */
  readonly accounts?: ReadonlySet<string>;
  /** How long this endpoint's attempts at one event go on (ms); absent: the worker's default (3 days). */
  readonly giveUpAfterMs?: number;
}

/** A file that cannot be used; `problems` lists every one found. */
export class WebhookConfigError extends Error {
  /** Stable code. */
  readonly code = 'invalid_webhooks_file';
  constructor(
    file: string,
    /** Each problem, one line each. */
    readonly problems: readonly string[],
  ) {
    super(`webhooks file ${file}: ${problems.join('; ')}`);
  }
}

/** Shortest secret accepted: a guessable key would make signatures worthless. */
export const MIN_SECRET_LENGTH = 16;
const KEYS = new Set(['id', 'url', 'secret', 'events', 'accounts', 'giveUpAfter']);
const SPAN_UNIT_MS: Record<string, number> = { m: 60_000, h: 3_600_000, d: 86_400_000 };
/** The longest `giveUpAfter`: an endpoint may hold an account's later events behind it this long. */
export const MAX_GIVE_UP_AFTER_MS = 30 * 86_400_000;

/** `giveUpAfter` (`30m`, `6h`, `3d`) in ms, or undefined when it is not such a span from 1 minute to 30 days. */
function giveUpSpan(value: unknown): number | undefined {
  const match = typeof value === 'string' ? /^(\d{1,5})([mhd])$/.exec(value) : null;
  const ms = match ? Number(match[1]) * (SPAN_UNIT_MS[match[2] ?? ''] ?? Number.NaN) : Number.NaN;
  return ms >= 60_000 && ms <= MAX_GIVE_UP_AFTER_MS ? ms : undefined;
}

/** The URL as the log may show it: no user, password, query or fragment. */
export function endpointName(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** A URL's percent-encoded user or password as text (as written when it is not valid encoding). */
function decoded(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function stringList(value: unknown): string[] | undefined {
  return Array.isArray(value) && value.length > 0 && value.every((v) => typeof v === 'string' && v !== '') ? (value as string[]) : undefined;
}

/**
 * Reads endpoints from the file's text.
 *
 * @throws WebhookConfigError listing every problem.
 */
export function parseWebhookConfig(text: string, file = 'webhooks file'): WebhookEndpoint[] {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new WebhookConfigError(file, [`not valid YAML or JSON (${(err as Error).message.split('\n')[0]})`]);
  }
  const list = (doc as { endpoints?: unknown } | null)?.endpoints;
  if (typeof doc !== 'object' || doc === null || !Array.isArray(list)) throw new WebhookConfigError(file, ['must be a mapping with an `endpoints` list']);
  const problems: string[] = [];
  const endpoints: WebhookEndpoint[] = [];
  const names = new Set<string>();
  list.forEach((raw: unknown, i) => {
    const where = `endpoints[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      problems.push(`${where} must be a mapping`);
      return;
    }
    const e = raw as Record<string, unknown>;
    const before = problems.length;
    for (const key of Object.keys(e)) if (!KEYS.has(key)) problems.push(`${where}: unknown field ${JSON.stringify(key.slice(0, 40))} (known: ${[...KEYS].join(', ')})`);
    let url: URL | undefined;
    try {
      url = typeof e.url === 'string' ? new URL(e.url) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) problems.push(`${where}.url must be an http:// or https:// URL`);
    // Nothing listens on port 0: every delivery would fail, holding the account's later events back.
    else if (url.port === '0') problems.push(`${where}.url has port 0, where nothing can listen; give the receiver's port`);
    if (typeof e.secret !== 'string' || e.secret.length < MIN_SECRET_LENGTH) problems.push(`${where}.secret must be a string of at least ${MIN_SECRET_LENGTH} characters`);
    const events = stringList(e.events);
    const unknown = (events ?? []).filter((t) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(t));
    if (!events || unknown.length > 0) problems.push(`${where}.events must be a non-empty list of ${WEBHOOK_EVENT_TYPES.join(', ')}`);
    const accounts = e.accounts === undefined ? undefined : stringList(e.accounts);
    if (e.accounts !== undefined && !accounts) problems.push(`${where}.accounts must be a non-empty list of account ids`);
    if (e.id !== undefined && (typeof e.id !== 'string' || !/^[A-Za-z0-9._-]{1,64}$/.test(e.id))) problems.push(`${where}.id must be 1 to 64 letters, digits, '.', '_' or '-'`);
    const giveUpAfterMs = e.giveUpAfter === undefined ? undefined : giveUpSpan(e.giveUpAfter);
    if (e.giveUpAfter !== undefined && giveUpAfterMs === undefined) {
      problems.push(`${where}.giveUpAfter must be a span such as 30m, 6h or 3d, from 1 minute to 30 days`);
    }
    if (problems.length > before || !url) return;
    const name = typeof e.id === 'string' ? e.id : endpointName(url);
    if (names.has(name)) problems.push(`${where}: endpoint ${name} is listed twice (give each an id)`);
    names.add(name);
    // A receiver behind HTTP basic auth: its user and password travel as a header, never in
    // the URL (fetch refuses such a URL, and the URL reaches messages).
    const authorization = url.username !== '' || url.password !== '' ? `Basic ${Buffer.from(`${decoded(url.username)}:${decoded(url.password)}`).toString('base64')}` : undefined;
    url.username = '';
    url.password = '';
    endpoints.push({
      name,
      url: url.href,
      ...(authorization ? { authorization } : {}),
      secret: e.secret as string,
      events: new Set(events as WebhookEventType[]),
      ...(accounts ? { accounts: new Set(accounts) } : {}),
      ...(giveUpAfterMs !== undefined ? { giveUpAfterMs } : {}),
    });
  });
  if (problems.length > 0) throw new WebhookConfigError(file, problems);
  return endpoints;
}

/**
 * The endpoints of the file named by `CREDITS_WEBHOOKS_FILE`; none when it is unset.
 *
 * @throws WebhookConfigError when the file cannot be read or is invalid.
 */
export function webhookEndpointsFromEnv(env?: Env): WebhookEndpoint[] {
  const file = CREDITS_WEBHOOKS_FILE.read(env);
  if (file === undefined) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new WebhookConfigError(file, [`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`]);
  }
  return parseWebhookConfig(text, file);
}

/** The endpoints subscribed to `event`. */
export function subscribers(endpoints: readonly WebhookEndpoint[], event: Pick<WebhookEvent, 'type' | 'accountId'>): WebhookEndpoint[] {
  return endpoints.filter((e) => e.events.has(event.type) && (!e.accounts || e.accounts.has(event.accountId)));
}
