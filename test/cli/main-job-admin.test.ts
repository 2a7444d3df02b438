/**
 * The CLI's ledger commands through a running main job's admin server: a refusal reaches the
 * user as the server's own sentence (its JSON error or an RFC 9457 problem), never a bare
 * `400 Bad Request`, and an HTML page is never echoed.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminErrorMessage, fetchFromAdmin } from '../../cli/main-job-admin';

let server: Server;
let url: string;

// Answers as the admin server does: JSON errors only to a client that asks for JSON.
beforeAll(async () => {
  server = createServer((request, response) => {
    const accept = request.headers.accept ?? '';
    const json = accept.includes('application/json') && !accept.includes('text/html');
    if (request.url?.startsWith('/problem')) {
      response.writeHead(404, { 'content-type': 'application/problem+json' });
      response.end(JSON.stringify({ type: 'urn:ai-credits:problem:account_not_found', title: 'Not Found', status: 404, detail: 'no account acme-x' }));
    } else if (json) {
      response.writeHead(400, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: 'bad_request', message: 'cycle 9 has not started yet: the current cycle is 2' } }));
    } else {
      response.writeHead(400, { 'content-type': 'text/html' });
      response.end('<!doctype html><p>cycle 9 has not started yet</p>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('fetchFromAdmin', () => {
  it("says the admin server's message, not its status line", async () => {
    await expect(fetchFromAdmin(url, '/accounts/a/usage.csv?cycle=9', 'export a')).rejects.toThrow(
      "cannot export a through the main job's admin server: cycle 9 has not started yet: the current cycle is 2 (400 Bad Request)",
    );
  });

  it("says a problem body's detail", async () => {
    await expect(fetchFromAdmin(url, '/problem', 'export acme-x')).rejects.toThrow(
      "cannot export acme-x through the main job's admin server: no account acme-x (404 Not Found)",
    );
  });
});

describe('adminErrorMessage', () => {
  it('falls back to the status for HTML, empty or unreadable bodies', () => {
    expect(adminErrorMessage(502, 'Bad Gateway', '<html>oops</html>')).toBe('502 Bad Gateway');
    expect(adminErrorMessage(500, 'Internal Server Error', '')).toBe('500 Internal Server Error');
    expect(adminErrorMessage(500, 'Internal Server Error', '{"other":1}')).toBe('500 Internal Server Error');
    expect(adminErrorMessage(503, 'Service Unavailable', 'ledger down')).toBe('ledger down (503 Service Unavailable)');
    expect(adminErrorMessage(400, 'Bad Request', 'x'.repeat(600))).toBe('400 Bad Request');
  });

  it('prefers the error message, then the detail, then the title', () => {
    expect(adminErrorMessage(404, 'Not Found', JSON.stringify({ title: 'Not Found', detail: 'gone' }))).toBe('gone (404 Not Found)');
    expect(adminErrorMessage(404, 'Not Found', JSON.stringify({ title: 'Nothing here' }))).toBe('Nothing here (404 Not Found)');
  });
});
