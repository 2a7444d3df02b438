/**
 * E-mail delivery of alerts through SMTP (nodemailer), configured by the environment:
 * `SMTP_URL` (`smtp://user:pass@host:port`, or `smtps://` for implicit TLS) and `SMTP_FROM`.
 * Without `SMTP_URL`, e-mail is off and alerts are delivered in-app only.
 *
 * The mailer sends exactly what it is given and reports failures as {@link NotifyError}s with
 * a message naming the server (never its password); sending each alert once is the caller's
 * job (the activity claims the delivery in the ledger before sending, and marks it sent after).
 */
import { createTransport } from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';
import { SMTP_FROM, SMTP_URL, type Env } from '../infra/settings';
import { NotifyError, type NotifyErrorCode } from './errors';

/** Where and as whom to send. */
export interface SmtpConfig {
  url: string;
  from: string;
}

/** One e-mail. */
export interface OutgoingMail {
  to: readonly string[];
  subject: string;
  text: string;
  html: string;
  /** RFC 5322 Message-ID, angle brackets included: stable per alert so receivers can de-duplicate. */
  messageId: string;
  headers?: Record<string, string>;
}

/** What the server accepted. */
export interface SentMail {
  messageId: string;
  accepted: string[];
  rejected: string[];
  /** The server's final reply, e.g. `250 OK: queued`. */
  response: string;
}

/** Sends alert e-mails. */
export interface AlertMailer {
  /** The server, without credentials, for messages: `smtp://mail.example.com:587`. */
  readonly description: string;
  /** The sender address of every mail. */
  readonly from: string;
  /**
   * Sends one mail.
   *
   * @throws NotifyError `smtp_refused`, `smtp_unreachable`, `smtp_auth_failed` or `smtp_failed`.
   */
  send(mail: OutgoingMail): Promise<SentMail>;
  /** Closes pooled connections. */
  close(): void;
}

/** `smtp://host:port` from an SMTP URL, credentials dropped. */
export function describeSmtpUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const port = parsed.port || (parsed.protocol === 'smtps:' ? '465' : '587');
    return `${parsed.protocol}//${parsed.hostname}:${port}`;
  } catch {
    return 'SMTP server (unparseable URL)';
  }
}

/**
 * The SMTP configuration in `env`, or null when `SMTP_URL` is unset (e-mail off).
 *
 * @throws NotifyError `invalid_config` when SMTP_URL is not an smtp(s) URL or SMTP_FROM is missing.
 */
export function smtpConfigFromEnv(env?: Env): SmtpConfig | null {
  const url = SMTP_URL.read(env);
  if (!url) return null;
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new NotifyError('invalid_config', `${SMTP_URL.name} is not a URL; expected smtp://user:password@host:port`);
  }
  if (protocol !== 'smtp:' && protocol !== 'smtps:') {
    throw new NotifyError('invalid_config', `${SMTP_URL.name} must start with smtp:// or smtps:// (got ${protocol}//...)`);
  }
  const from = SMTP_FROM.read(env);
  if (!from) {
    throw new NotifyError('invalid_config', `${SMTP_FROM.name} must be set when ${SMTP_URL.name} is: the sender address of alert e-mails`);
  }
  return { url, from };
}

/**
 * Whether `text` is one plain e-mail address as the mailer reads it: the mailer parses each
 * recipient as an address list, so `ops,other@x`, `Boss <other@x>` or `group: other@x;` would
 * send to `other@x` while the account's admins show the text given.
 */
export function isPlainAddress(text: string): boolean {
  const parsed = addressparser(text);
  const [only] = parsed;
  return parsed.length === 1 && only !== undefined && !('group' in only && only.group) && only.name === '' && only.address === text;
}

/** The domain of an address like `Name <user@domain>`, for Message-IDs. */
function senderDomain(from: string): string {
  const match = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return match?.[1] ?? 'ai-credits.invalid';
}

/**
 * The Message-ID of an alert's e-mail: the alert id made safe for a msg-id (every character
 * outside `[A-Za-z0-9-]` written as `=XX`, so distinct ids stay distinct) at the sender's domain.
 */
export function alertMessageId(alertId: string, from: string): string {
  const local = Array.from(Buffer.from(alertId, 'utf8'))
    .map((byte) => {
      const c = String.fromCharCode(byte);
      return /[A-Za-z0-9-]/.test(c) ? c : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
  return `<${local}.alert@${senderDomain(from)}>`;
}

const UNREACHABLE = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ETLS', 'EPROXY']);

/** Turns a nodemailer failure into a NotifyError saying what the server did. */
function toNotifyError(err: unknown, description: string, mail: OutgoingMail): NotifyError {
  const e = err as Error & { code?: string; responseCode?: number; response?: string; originalCode?: string };
  const responseCode = typeof e.responseCode === 'number' ? e.responseCode : null;
  let code: NotifyErrorCode = 'smtp_failed';
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH') code = 'smtp_auth_failed';
  else if (responseCode !== null && responseCode >= 400) code = 'smtp_refused';
  else if (e.code !== undefined && UNREACHABLE.has(e.code)) code = 'smtp_unreachable';
  const what = `alert e-mail ${mail.messageId} to ${mail.to.join(', ')}`;
  const verb =
    code === 'smtp_refused'
      ? 'refused'
      : code === 'smtp_unreachable'
        ? 'could not be reached for'
        : code === 'smtp_auth_failed'
          ? 'rejected the credentials in SMTP_URL for'
          : 'failed to take';
  const detail = e.message + (e.originalCode ? ` (${e.originalCode})` : '');
  return new NotifyError(code, `SMTP server ${description} ${verb} the ${what}: ${detail}; the mail was not sent`, {
    cause: err,
    responseCode,
  });
}

/** Options of {@link createSmtpMailer}. */
export interface SmtpMailerOptions {
  /** Connection, greeting and socket timeouts (ms). Default 15 s: a hung server fails the attempt, which Temporal retries. */
  timeoutMs?: number;
}

/** A mailer sending through the SMTP server of `config`. */
export function createSmtpMailer(config: SmtpConfig, options: SmtpMailerOptions = {}): AlertMailer {
  const timeout = options.timeoutMs ?? 15_000;
  const description = describeSmtpUrl(config.url);
  const transport = createTransport({
    url: config.url,
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  return {
    description,
    from: config.from,
    async send(mail: OutgoingMail): Promise<SentMail> {
      try {
        const info = await transport.sendMail({
          from: config.from,
          to: [...mail.to],
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          messageId: mail.messageId,
          headers: mail.headers ?? {},
        });
        const addresses = (list: unknown): string[] =>
          Array.isArray(list) ? list.map((a) => (typeof a === 'string' ? a : String((a as { address?: string }).address))) : [];
        return {
          messageId: info.messageId,
          accepted: addresses(info.accepted),
          rejected: addresses(info.rejected),
          response: info.response,
        };
      } catch (err) {
        throw toNotifyError(err, description, mail);
      }
    },
    close() {
      transport.close();
    },
  };
}
