/**
 * Reaching the ledger through a running main job's admin server. The embedded ledger (PGlite)
 * serves one process, the main job's worker, so while it runs the CLI's ledger commands ask
 * its admin server for what they would otherwise read from the database themselves.
 */
import { CliFailure } from './io';

/**
 * GETs `path` from the admin server at `adminUrl`.
 *
 * @returns the response, which is OK and has a body.
 * @throws CliFailure saying the server did not answer, or the error it answered with.
 */
export async function fetchFromAdmin(adminUrl: string, path: string, what: string): Promise<Response> {
  let response: Response;
  try {
    response = await fetch(`${adminUrl}${path}`);
  } catch (err) {
    throw new CliFailure(`the main job holds the embedded ledger, but its admin server at ${adminUrl} did not answer: ${(err as Error).message}`);
  }
  if (response.ok && response.body) return response;
  const text = await response.text();
  let message = text;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    // an HTML error page: say the status only
    message = `${response.status} ${response.statusText}`;
  }
  throw new CliFailure(`cannot ${what} through the main job's admin server: ${message}`);
}
