/**
 * Reaching the ledger through a running main job's admin server. The embedded ledger (PGlite)
 * serves one process, the main job's worker, so while it runs the CLI's ledger commands ask
 * its admin server for what they would otherwise read from the database themselves.
 */
import { CliFailure } from './io';

/**
 * The admin server answers errors as JSON only to a client that asks for it (a browser gets an
 * HTML page); the CLI asks, and takes any of the JSON bodies the servers write.
 */
const ACCEPT = 'application/json, application/problem+json;q=0.9, text/csv;q=0.8';

/** Longest server message the CLI repeats: a clear sentence, never a page of markup. */
const MAX_MESSAGE = 500;

/**
 * What a failed answer says, for a person: the admin server's `{error: {message}}`, an RFC 9457
 * problem's `detail` (or `title`), a short plain-text body, else the HTTP status.
 */
export function adminErrorMessage(status: number, statusText: string, body: string): string {
  const fallback = `${status} ${statusText}`.trim();
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    const text = body.trim();
    // An HTML page (or a long body) is no message; a short plain-text one is.
    return text === '' || text.startsWith('<') || text.length > MAX_MESSAGE ? fallback : `${text} (${fallback})`;
  }
  const fields = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as {
    error?: { message?: unknown };
    detail?: unknown;
    title?: unknown;
  };
  const said = [fields.error?.message, fields.detail, fields.title].find((m): m is string => typeof m === 'string' && m.trim() !== '');
  return said === undefined ? fallback : `${said.slice(0, MAX_MESSAGE)} (${fallback})`;
}

/**
 * GETs `path` from the admin server at `adminUrl`.
 *
 * @returns the response, which is OK and has a body.
 * @throws CliFailure saying the server did not answer, or the error it answered with.
 */
export async function fetchFromAdmin(adminUrl: string, path: string, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${adminUrl}${path}`, { headers: { accept: ACCEPT } });
  } catch (err) {
    throw new CliFailure(`the main job holds the embedded ledger, but its admin server at ${adminUrl} did not answer: ${(err as Error).message}`);
  }
  if (response.ok && response.body) return response;
  const message = adminErrorMessage(response.status, response.statusText, await response.text());
  throw new CliFailure(`cannot ${what} through the main job's admin server: ${message}`);
}
