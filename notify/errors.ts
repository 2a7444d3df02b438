/**
 * Errors of alert delivery, with stable codes. Every one of them is worth retrying: a
 * refusing or unreachable SMTP server, or wrong credentials, can be fixed while Temporal keeps
 * retrying the activity, and the alert is then delivered once.
 */

/** Ways delivering an alert e-mail can fail. */
export const NOTIFY_ERROR_CODES = [
  /** The SMTP server answered with a refusal (a 4xx or 5xx reply to MAIL, RCPT or DATA). */
  'smtp_refused',
  /** The SMTP server could not be reached, timed out or dropped the connection. */
  'smtp_unreachable',
  /** The SMTP server refused the credentials in SMTP_URL. */
  'smtp_auth_failed',
  /** Any other failure of the mail transport. */
  'smtp_failed',
  /** SMTP_URL / SMTP_FROM are malformed. */
  'invalid_config',
  /** Another attempt is delivering the same alert right now; try again shortly. */
  'delivery_in_progress',
] as const;
/** Way delivering an alert e-mail can fail. */
export type NotifyErrorCode = (typeof NOTIFY_ERROR_CODES)[number];

/** A delivery failure with a machine-readable code. */
export class NotifyError extends Error {
  override readonly name = 'NotifyError';
  /** What went wrong, for programs. */
  readonly code: NotifyErrorCode;
  /** The SMTP reply code, when the server answered. */
  readonly responseCode: number | null;

  constructor(code: NotifyErrorCode, message: string, options?: { cause?: unknown; responseCode?: number | null }) {
    super(message, options);
    this.code = code;
    this.responseCode = options?.responseCode ?? null;
  }
}

/** Whether `err` is a {@link NotifyError} (also across copies of this module). */
export function isNotifyError(err: unknown): err is NotifyError {
  if (err instanceof NotifyError) return true;
  if (!(err instanceof Error) || err.name !== 'NotifyError') return false;
  const code: unknown = (err as Error & { code?: unknown }).code;
  return typeof code === 'string' && (NOTIFY_ERROR_CODES as readonly string[]).includes(code);
}
