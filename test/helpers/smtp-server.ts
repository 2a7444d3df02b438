/**
 * A local SMTP server for tests (smtp-server on 127.0.0.1, a free port): it keeps every message
 * it accepts, decoded enough to assert on recipients, subject and text, and can be told to
 * refuse mail, as a real server does when it is full or misconfigured.
 */
import { SMTPServer } from 'smtp-server';

/** A message the server accepted. */
export interface ReceivedMail {
  envelopeFrom: string;
  envelopeTo: string[];
  /** Header values by lower-case name, folded lines joined. */
  headers: Map<string, string>;
  /** The decoded text/plain and text/html parts. */
  text: string;
  html: string;
  raw: string;
}

/** The running server. */
export interface TestSmtpServer {
  /** `smtp://tester:secret@127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly received: ReceivedMail[];
  /** User names that logged in. */
  readonly logins: string[];
  /** Refuse every message with this reply from now on (e.g. 451 or 550), or accept again with null. */
  refuse(reply: { code: number; message: string } | null): void;
  /** Mailboxes refused at RCPT TO with `550 5.1.1 User unknown`, as a server refuses one that does not exist. */
  readonly unknownMailboxes: Set<string>;
  close(): Promise<void>;
}

function decodeQuotedPrintable(body: string): string {
  const bytes = body
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => `%${hex}`)
    .replace(/%(?![0-9A-F]{2})/gi, '%25');
  return decodeURIComponent(bytes);
}

function parseHeaders(block: string): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of block.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  return headers;
}

function splitPart(part: string): { headers: Map<string, string>; body: string } {
  const end = part.search(/\r?\n\r?\n/);
  if (end < 0) return { headers: parseHeaders(part), body: '' };
  return { headers: parseHeaders(part.slice(0, end)), body: part.slice(end).replace(/^\r?\n\r?\n/, '') };
}

function decodeBody(headers: Map<string, string>, body: string): string {
  const encoding = (headers.get('content-transfer-encoding') ?? '7bit').toLowerCase();
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body);
  if (encoding === 'base64') return Buffer.from(body, 'base64').toString('utf8');
  return body;
}

/** Splits a message into headers and its text and HTML parts (single-part or multipart/alternative). */
export function parseMail(raw: string, envelopeFrom: string, envelopeTo: string[]): ReceivedMail {
  const { headers, body } = splitPart(raw);
  const parts: { headers: Map<string, string>; body: string }[] = [];
  const boundary = /boundary="?([^";]+)"?/i.exec(headers.get('content-type') ?? '')?.[1];
  if (boundary) {
    for (const chunk of body.split(`--${boundary}`).slice(1)) {
      if (chunk.startsWith('--')) break;
      parts.push(splitPart(chunk.replace(/^\r?\n/, '')));
    }
  } else {
    parts.push({ headers, body });
  }
  const partOf = (type: string): string => {
    const part = parts.find((p) => (p.headers.get('content-type') ?? 'text/plain').startsWith(type));
    return part ? decodeBody(part.headers, part.body).replace(/\r\n/g, '\n').trimEnd() : '';
  };
  return { envelopeFrom, envelopeTo, headers, text: partOf('text/plain'), html: partOf('text/html'), raw };
}

/** Starts a server with login `tester`/`secret` (any credentials are accepted). */
export async function startSmtpServer(): Promise<TestSmtpServer> {
  const received: ReceivedMail[] = [];
  const logins: string[] = [];
  let refusal: { code: number; message: string } | null = null;
  const unknownMailboxes = new Set<string>();
  const server = new SMTPServer({
    logger: false,
    disabledCommands: ['STARTTLS'],
    authOptional: true,
    allowInsecureAuth: true,
    onAuth(auth, _session, callback) {
      logins.push(auth.username ?? '');
      callback(null, { user: auth.username });
    },
    onMailFrom(_address, _session, callback) {
      if (refusal === null) return callback();
      const err = Object.assign(new Error(refusal.message), { responseCode: refusal.code });
      callback(err);
    },
    onRcptTo(address, _session, callback) {
      if (!unknownMailboxes.has(address.address)) return callback();
      callback(Object.assign(new Error('5.1.1 User unknown'), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const to = session.envelope.rcptTo.map((r) => r.address);
        received.push(parseMail(Buffer.concat(chunks).toString('utf8'), from, to));
        callback();
      });
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.on('error', reject);
    const listener = server.listen(0, '127.0.0.1', () => {
      const address = listener.address();
      if (typeof address === 'object' && address) resolve(address.port);
      else reject(new Error('SMTP test server has no port'));
    });
  });
  return {
    url: `smtp://tester:secret@127.0.0.1:${port}`,
    port,
    received,
    logins,
    refuse(reply) {
      refusal = reply;
    },
    unknownMailboxes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
