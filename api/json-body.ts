/**
 * The usage API's JSON bodies: Fastify's own parser (which refuses `__proto__` and
 * `constructor` keys), and then no object may name one member twice. JSON.parse keeps the last
 * of two `quantity` members where a gateway or a log may read the first: the same body would
 * be charged one amount and audited as another, so it is refused instead.
 */
import type { FastifyInstance } from 'fastify';

/** A body that names one member twice in one object. */
export class DuplicateMemberError extends Error {
  override readonly name = 'DuplicateMemberError';
  /** Fastify answers body parser errors with their status; the API's error handler words it. */
  readonly statusCode = 400;

  constructor(readonly member: string) {
    super(`a JSON object names the member ${JSON.stringify(member.slice(0, 32))} twice`);
  }
}

/** Whether `err` is a {@link DuplicateMemberError}. */
export function isDuplicateMemberError(err: unknown): err is DuplicateMemberError {
  return err instanceof DuplicateMemberError;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * The first member name an object of `text` gives twice, or undefined. `text` must be valid
 * JSON (JSON.parse read it): the scan then only has to tell keys from values, one pass, no
 * value built. Names are compared as JSON reads them (`"a"` and `"\u0061"` are one name).
 */
export function firstDuplicateMember(text: string): string | undefined {
  // One set of names per open object; null for an open array.
  const open: (Set<string> | null)[] = [];
  let atKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let end = i + 1;
      let escaped = false;
      while (end < text.length && text.charCodeAt(end) !== QUOTE) {
        if (text.charCodeAt(end) === BACKSLASH) {
          escaped = true;
          end += 1;
        }
        end += 1;
      }
      const names = open[open.length - 1];
      if (atKey && names) {
        const name = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        if (names.has(name)) return name;
        names.add(name);
        atKey = false;
      }
      i = end;
    } else if (c === OPEN_OBJECT) {
      open.push(new Set());
      atKey = true;
    } else if (c === OPEN_ARRAY) {
      open.push(null);
      atKey = false;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      open.pop();
      atKey = false;
    } else if (c === COMMA) {
      // After a comma inside an object comes a name; inside an array, a value.
      atKey = open.length > 0 && open[open.length - 1] !== null;
    }
  }
  return undefined;
}

/**
 * Installs the API's `application/json` parser on `app`: Fastify's default (refusing
 * prototype keys), then {@link firstDuplicateMember}.
 */
export function useStrictJsonBodies(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    parse(request, text, (err, value) => {
      if (err) return done(err, undefined);
      const twice = firstDuplicateMember(text);
      return twice === undefined ? done(null, value) : done(new DuplicateMemberError(twice), undefined);
    });
  });
}
