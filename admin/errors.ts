/**
 * Errors the admin server answers with on purpose: each carries the HTTP status and a stable
 * `code` for the JSON body, and a message written for the admin reading it.
 */

/** A failure with its HTTP status; the message is shown to the user as it is. */
export class HttpError extends Error {
  override name = 'HttpError';

  constructor(
    /** HTTP status code. */
    readonly status: number,
    /** Stable machine-readable code, the JSON error's `code`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** 400 `bad_request`: the request's parameters are wrong; the message says how. */
export function badRequest(message: string): HttpError {
  return new HttpError(400, 'bad_request', message);
}
