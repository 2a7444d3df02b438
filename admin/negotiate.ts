/**
 * Whether a request wants JSON (the `/api/` routes, or a client asking for JSON only) or a
 * page: errors and refusals answer in the form the caller reads.
 */
import type { FastifyRequest } from 'fastify';

/** True for a caller that reads pages: a browser asks for `text/html` (curl and scripts do not). */
export function acceptsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html') && !wantsJson(request);
}

/** True for the JSON routes and for callers that accept JSON but not HTML. */
export function wantsJson(request: FastifyRequest): boolean {
  if (request.url.startsWith('/api/')) return true;
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}
