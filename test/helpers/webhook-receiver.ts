/**
 * A local webhook receiver for tests: it can be down (its port closed), answer an error
 * status, or take events, checking each one's signature with the client library's helper and
 * dropping duplicates by event id, as a real receiver should.
 */
import { createServer, type Server } from 'node:http';
import { verifyWebhookSignature, WEBHOOK_SIGNATURE_HEADER, type WebhookEvent } from '../../client';
import { freePort } from '../../infra/postgres-server';

/** What the receiver got. */
export interface WebhookReceiver {
  readonly url: string;
  /** Every request that reached it, in order, with its signature check and its Authorization header. */
  readonly requests: { event: WebhookEvent; verified: boolean; authorization?: string }[];
  /** Events kept once each by id, as a receiver dropping duplicates keeps them. */
  readonly events: Map<string, WebhookEvent>;
  /** What it answers: a status, 2xx taking the event. */
  status: number;
  up(): Promise<void>;
  down(): Promise<void>;
}

/** A receiver on a free port, down until `up()` is called. */
export async function webhookReceiver(secret: string): Promise<WebhookReceiver> {
  const port = await freePort();
  let server: Server | undefined;
  const receiver: WebhookReceiver = {
    url: `http://127.0.0.1:${port}/hooks`,
    requests: [],
    events: new Map(),
    status: 200,
    async up() {
      server = createServer((req, res) => {
        let body = '';
        req.setEncoding('utf8');
        req.on('data', (chunk: string) => (body += chunk));
        req.on('end', () => {
          const header = req.headers[WEBHOOK_SIGNATURE_HEADER.toLowerCase()];
          const verified = verifyWebhookSignature(body, typeof header === 'string' ? header : undefined, secret).ok;
          const event = JSON.parse(body) as WebhookEvent;
          const { authorization } = req.headers;
          receiver.requests.push({ event, verified, ...(authorization ? { authorization } : {}) });
          const ok = receiver.status >= 200 && receiver.status < 300;
          if (ok && verified && !receiver.events.has(event.id)) receiver.events.set(event.id, event);
          res.writeHead(receiver.status).end();
        });
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    },
    async down() {
      const s = server;
      server = undefined;
      if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  return receiver;
}
