/**
 * The HTTP usage API: product services that run no Temporal SDK report usage, place and end
 * Voice Agent calls, read balances and ask whether a feature may be used, in JSON over HTTP.
 * Every call goes through the `CreditsClient` (so concurrent events of an account ride its
 * batched updates), and answers are the wire contract's shapes (docs/usage-api.md).
 *
 * Requests carry `Authorization: Bearer <key>`; the server holds only SHA-256 hashes of its
 * keys, optionally scoped to accounts. Errors are RFC 9457 problem bodies.
 */
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isAccountNotFoundError, isCreditsError, isCreditsInputError, isCreditsUnavailableError, isUsageOverloadedError, type CreditsClient } from '../client';
import { ACCOUNT_UPDATES } from '../workflows/messages';
import type { InputProblem } from '../domain/input-problems';
import { JSON_NUMBER_TEXT, quote } from '../domain/input-text';
import { isValidQuantity } from '../domain/pricing';
import { MAX_CALL_MINUTES, MAX_USAGE_QUANTITY } from '../domain/input-problems';
import type { AccountSummary, EndCallInput, RecordUsageInput, RecordUsageResult, StartCallInput } from '../domain/wire-contract';
import { DEFAULT_API_PORT } from '../infra/settings';
import { addOpsRoutes, temporalReadiness, type ReadinessCheck } from '../infra/ops-http';
import { ruleSetSource, rulesOfCycle, type RuleSet, type RulesOption } from '../ruleset';
import { checkEntitlement, type Entitlement } from './entitlement';
import { findApiCaller, type ApiCaller, type ApiKeyEntry } from './keys';
import { isDuplicateMemberError, useStrictJsonBodies } from './json-body';
import { RefusalLog, type RefusalLogBudget } from './refusal-log';
import { MAX_EVENTS_PER_REQUEST, OPENAPI_DOCUMENT } from './openapi-document';
import { ApiProblem, invalid, type EventProblem, type ProblemBody } from './problems';
import { DEFAULT_RATE_LIMIT, RateLimiter, type RateLimit } from './rate-limit';
import { consoleLog } from '../infra/console-log';

/** Largest request body by default: a full array of events fits with room to spare. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Options of {@link startUsageApi}. */
export interface UsageApiOptions {
  /** Client of the account workflows (the caller owns its connection). */
  client: CreditsClient;
  /** The keys the server accepts, as hashes (see `apiKeysFromEnv`); at least one. */
  keys: readonly ApiKeyEntry[];
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string;
  /** Port to listen on. Default 8788; 0 picks any free port (see the returned `address`). */
  port?: number;
  /** Rules for the entitlement check and the feature pre-check. Default `CREDITS_RULES`, else the shipped rules. */
  rules?: RulesOption;
  /** Largest request body in bytes (413 beyond). Default 1 MiB. */
  bodyLimit?: number;
  /** Most usage events in one request (422 beyond). Default {@link MAX_EVENTS_PER_REQUEST}. */
  maxEventsPerRequest?: number;
  /** Requests a second per key (429 beyond), or false for none. Default {@link DEFAULT_RATE_LIMIT}. */
  rateLimit?: RateLimit | false;
  /** Signals that close the server gracefully (stop accepting, finish open requests). Default none. */
  closeOnSignals?: readonly NodeJS.Signals[];
  /** Where refused keys and unexpected errors are logged (never a key). Default `console.error`. */
  log?: (message: string, error?: unknown) => void;
  /** What `/readyz` asks. Default: the client's Temporal frontend answers. */
  readinessChecks?: readonly ReadinessCheck[];
  /**
   * Longest a request waits for the accounts' answer before it is answered 503 with
   * Retry-After, in ms. The client retries an unreachable Temporal for minutes, longer than
   * most HTTP callers wait; past this the caller hears it and sends the request again with the
   * same idempotency keys, which charge nothing twice. Default {@link DEFAULT_ANSWER_TIMEOUT_MS}.
   */
  answerTimeoutMs?: number;
  /** How many refused-key lines each caller address may log per window. Default: ten a minute. */
  refusalLogBudget?: RefusalLogBudget;
}

/** Default of {@link UsageApiOptions.answerTimeoutMs}: inside the 30-60 s most HTTP clients wait. */
export const DEFAULT_ANSWER_TIMEOUT_MS = 25_000;

/** The 503 of an account service that did not answer: what to do, not the transport's words. */
const NO_ANSWER = 'the credits service did not answer in time; send the request again with the same idempotency keys (nothing is charged twice)';

/** A running usage API. */
export interface UsageApi {
  /** Base URL, e.g. `http://127.0.0.1:8788`. */
  address: string;
  /** Stops listening and waits for open requests to finish. */
  close(): Promise<void>;
}

const ACCOUNT_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BEARER = /^Bearer +(\S+) *$/i;
/**
 * The routes anyone may call: the API's description and the probes (scrapers and probes carry
 * no key, docs/operations.md). Every other route needs a key, whatever it is added as: the
 * check goes by the route the router matched, never by the raw URL, which a caller can write
 * as `/%761/...` or `http://host/v1/...` for the same route.
 */
const PUBLIC_ROUTES: ReadonlySet<string> = new Set(['/openapi.json', '/metrics', '/healthz', '/readyz']);
/**
 * Longest path parameter the router takes, in characters (the router measures it mostly
 * decoded): room for the longest call id (200) however it is encoded, where Fastify's default
 * of 100 refused valid call ids with a bare 414. A longer one names nothing that can exist.
 */
const MAX_PARAM_LENGTH = 1024;
/** JSON is UTF-8 (RFC 8259); a body declared in another charset would be read wrongly. */
const UTF8_CHARSET = /^"?(?:utf-8|utf8|us-ascii)"?$/i;
/** Fields an input problem's message may start with, to name the field when its code does not. */
const KNOWN_FIELDS = ['feature', 'quantity', 'idempotencyKey', 'userId', 'agentId', 'minutes', 'callId'];
/** A name a field could have: an unknown field so named is pointed at by name. */
const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/**
 * A request Node's HTTP parser refused before Fastify saw it (a malformed request line or
 * header, headers over the limit, a request too slow to arrive): answered with a problem body
 * like every other error, where Fastify's own answer is a bare JSON object. Nothing of the
 * request is echoed; the connection is closed, since the stream is no longer in step.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const problem =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new ApiProblem('headers_too_large', 'the request headers are over the size limit')
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new ApiProblem('request_timeout', 'the request did not arrive in time')
        : new ApiProblem('malformed_request', 'the request is not valid HTTP/1.1 (its request line or a header is malformed)');
  const body = JSON.stringify(problem.body());
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${problem.status} ${problem.body().title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n` +
        `Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy();
}

type AccountParams = { accountId: string };
type CallParams = AccountParams & { callId: string };

/** The field of the request an input problem is about, under `prefix` (e.g. `body`, `body[2]`). */
function problemField(problem: InputProblem, prefix: string): string | undefined {
  switch (problem.code) {
    case 'UnknownFeature':
    case 'UseCallUpdates':
      return `${prefix}.feature`;
    case 'MissingIdempotencyKey':
      return `${prefix}.idempotencyKey`;
    case 'UnknownCall':
      return 'path.callId';
    default: {
      const first = /^[A-Za-z]+/.exec(problem.message)?.[0];
      if (first === 'callId') return 'path.callId';
      if (problem.code === 'InvalidQuantity') return `${prefix}.${first === 'minutes' ? 'minutes' : 'quantity'}`;
      return first !== undefined && KNOWN_FIELDS.includes(first) ? `${prefix}.${first}` : prefix;
    }
  }
}

/** A schema refusal for people: where and what, without the caller's values. */
function schemaProblem(error: ErrorObject, prefix: string): { field: string; detail: string } {
  const path = error.instancePath
    .split('/')
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? `[${part}]` : `.${part}`))
    .join('');
  const field = `${prefix}${path}`;
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  if (error.keyword === 'required') return { field: `${field}.${params.missingProperty ?? ''}`, detail: `${field}.${params.missingProperty ?? ''} is required` };
  if (error.keyword === 'additionalProperties') {
    // The unknown field by its name when the name is one a field could have; else its parent.
    const name = params.additionalProperty ?? '';
    const at = FIELD_NAME.test(name) ? `${field}.${name}` : field;
    return { field: at, detail: `${field} has an unknown field ${quote(name)}` };
  }
  return { field, detail: `${field} ${error.message ?? 'is not valid'}` };
}

/** The problem answer of `err`, and whether it is unexpected (and so worth logging). */
function problemOf(err: unknown, prefix = 'body'): { problem: ApiProblem; unexpected: boolean } {
  if (err instanceof ApiProblem) return { problem: err, unexpected: false };
  if (isCreditsInputError(err)) {
    const field = problemField({ code: err.problem, message: err.message }, prefix);
    const kind = err.problem === 'UnknownCall' ? 'conflict' : 'invalid_request';
    return { problem: new ApiProblem(kind, err.message, { field, code: err.problem }), unexpected: false };
  }
  if (isAccountNotFoundError(err)) {
    // The client's message names the workflow, the namespace and a failed run's error: the
    // operators' words, not a product service's (the id was checked against its pattern).
    const detail = err.closed ? `account ${err.accountId} is closed: it takes no usage until billing ops start it again` : `unknown account ${err.accountId}`;
    return { problem: new ApiProblem('account_not_found', detail, { field: 'path.accountId' }), unexpected: false };
  }
  if (isCreditsUnavailableError(err)) {
    // The cause (task queue, gRPC text) goes to the log, not to the caller.
    return { problem: new ApiProblem('unavailable', NO_ANSWER, { headers: { 'retry-after': '1' } }), unexpected: true };
  }
  // The account's queue in this server is full: the caller backs off, nothing was recorded.
  if (isUsageOverloadedError(err)) return { problem: new ApiProblem('rate_limited', 'too many usage events are waiting for this account; retry shortly', { headers: { 'retry-after': '1' } }), unexpected: false };
  if (isCreditsError(err) && err.code === 'limit_reached') return { problem: new ApiProblem('conflict', err.message), unexpected: false };
  if (isDuplicateMemberError(err)) {
    return { problem: invalid('body', `the request body names the member ${quote(err.member)} twice in one object; give each field once`), unexpected: false };
  }
  const fastify = err as { code?: unknown; statusCode?: unknown } | null;
  if (fastify?.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return { problem: new ApiProblem('body_too_large', 'the request body is over the size limit', { field: 'body' }), unexpected: false };
  if (fastify?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return { problem: new ApiProblem('unsupported_media_type', 'send the body as application/json'), unexpected: false };
  }
  if (typeof fastify?.statusCode === 'number' && fastify.statusCode >= 400 && fastify.statusCode < 500) {
    // The body parser's refusals: bad or empty JSON, a forbidden `__proto__`, a bad length
    // (Fastify's parser reports them all as one error).
    return { problem: invalid('body', 'the request body is not valid JSON, or has a "__proto__" or "constructor" key'), unexpected: false };
  }
  return { problem: new ApiProblem('internal_error', 'the request failed because of an unexpected error; it has been logged'), unexpected: true };
}

function sendProblem(reply: FastifyReply, problem: ApiProblem): FastifyReply {
  return reply.code(problem.status).headers(problem.headers).type('application/problem+json').send(JSON.stringify(problem.body()));
}

/** Request body validators, compiled from the OpenAPI document's schemas. */
function bodyValidators(): Record<'UsageEvent' | 'StartCallBody' | 'EndCallBody', ValidateFunction> {
  const ajv = new Ajv2020({ strict: false, allErrors: false });
  addFormats(ajv);
  const id = 'https://ai-credits.invalid/usage-api.json';
  ajv.addSchema({ $id: id, components: OPENAPI_DOCUMENT.components });
  const get = (name: string) => ajv.getSchema(`${id}#/components/schemas/${name}`) as ValidateFunction;
  return { UsageEvent: get('UsageEvent'), StartCallBody: get('StartCallBody'), EndCallBody: get('EndCallBody') };
}

/**
 * Builds the application (routes, authentication, problem answers) without listening: what
 * {@link startUsageApi} serves, and what tests drive through `inject` where real HTTP cannot
 * reach a state (a request handled while the server closes).
 *
 * @param closing set `now` once the server is closing: every request is then answered 503.
 */
export function buildUsageApiApp(options: UsageApiOptions, closing: { now: boolean }): FastifyInstance {
  const { client, keys } = options;
  const log = options.log ?? consoleLog;
  const maxEvents = options.maxEventsPerRequest ?? MAX_EVENTS_PER_REQUEST;
  const limiter = options.rateLimit === false ? undefined : new RateLimiter(options.rateLimit ?? DEFAULT_RATE_LIMIT);
  const validate = bodyValidators();
  let rules: (() => RuleSet) | undefined;
  const ruleSet = (): RuleSet => {
    try {
      rules ??= ruleSetSource(options.rules, (err) => log('usage API: rules changed on disk but failed to load; using the previous rules', err));
      return rules();
    } catch (err) {
      log('usage API: cannot load the rules', err);
      throw new ApiProblem('unavailable', 'the rules cannot be read right now', { headers: { 'retry-after': '5' } });
    }
  };
  const callers = new WeakMap<FastifyRequest, ApiCaller>();
  const refusals = new RefusalLog(options.refusalLogBudget);
  const answerTimeoutMs = options.answerTimeoutMs ?? DEFAULT_ANSWER_TIMEOUT_MS;
  /**
   * The accounts' answer, or a 503 once {@link UsageApiOptions.answerTimeoutMs} has passed.
   * `work` gets a signal aborted then: usage events still waiting in the client's queue are
   * dropped unsent, so a caller told to send them again is not also charged by a late first
   * copy (the keys would make it a duplicate, but an overloaded account need not do the work).
   */
  const answered = async <T>(work: Promise<T> | ((signal: AbortSignal) => Promise<T>)): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new AbortController();
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        timeout.abort();
        reject(new ApiProblem('unavailable', NO_ANSWER, { headers: { 'retry-after': '5' } }));
      }, answerTimeoutMs);
    });
    try {
      return await Promise.race([typeof work === 'function' ? work(timeout.signal) : work, late]);
    } finally {
      clearTimeout(timer);
    }
  };

  const app = Fastify({
    logger: false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Closing answers the documented problem (the onRequest hook below), not Fastify's own body.
    return503OnClosing: false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // A path that is not valid percent-encoded UTF-8, or a parameter past the limit, names
    // nothing that can exist: a problem answer, where Fastify's own would echo the raw path.
    clientErrorHandler: answerClientError,
    frameworkErrors: (_err, _request, reply) => sendProblem(reply, new ApiProblem('not_found', `there is nothing at a path that is not valid percent-encoded UTF-8 or has a segment over ${MAX_PARAM_LENGTH} characters`)),
  });
  // JSON only: a text/plain body is a 415, not a string that fails later as a wrong type.
  app.removeContentTypeParser('text/plain');
  useStrictJsonBodies(app);
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers({ 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
    // A request still open at close ends its keep-alive connection, or close would wait for
    // the connection's idle timeout.
    if (closing.now) reply.header('connection', 'close');
    return payload;
  });
  app.setErrorHandler((err, request, reply) => {
    const { problem, unexpected } = problemOf(err);
    if (unexpected) log(`usage API: ${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]} failed`, err);
    return sendProblem(reply, problem);
  });
  // The method only: the path is the caller's raw input (the routes are in /openapi.json).
  app.setNotFoundHandler((request, reply) => sendProblem(reply, new ApiProblem('not_found', `there is no ${request.method} route at this path; the routes are listed in /openapi.json`)));

  app.addHook('onRequest', async () => {
    if (closing.now) throw new ApiProblem('unavailable', 'the server is closing; send the request again (same idempotency keys)', { headers: { 'retry-after': '1' } });
  });
  // Authentication, scope and rate limit, before the body is read: for every matched route
  // but the public ones (an unmatched path goes on to its 404, which does nothing).
  app.addHook('onRequest', async (request) => {
    const route = request.routeOptions.url;
    if (route === undefined || PUBLIC_ROUTES.has(route)) return;
    const where = `${request.method} ${route} from ${request.ip}`;
    const bearer = BEARER.exec(request.headers.authorization ?? '')?.[1];
    const caller = bearer === undefined ? undefined : findApiCaller(keys, bearer);
    if (caller === undefined) {
      // Logged without the key, or any part of it, and a few lines a minute per address.
      const suffix = refusals.note(request.ip);
      if (suffix !== undefined) log(`usage API: 401 for ${where}: ${bearer === undefined ? 'no bearer key' : 'a key the server does not hold'}${suffix}`);
      throw new ApiProblem('unauthorized', 'send a valid API key as "Authorization: Bearer <key>"', { headers: { 'www-authenticate': 'Bearer realm="ai-credits"' } });
    }
    callers.set(request, caller);
    const { accountId } = (request.params ?? {}) as Partial<AccountParams>;
    if (accountId !== undefined && !ACCOUNT_ID.test(accountId)) {
      throw new ApiProblem('account_not_found', 'no account can have this id: account ids are 1-64 characters of A-Z, a-z, 0-9, ".", "_" and "-"', { field: 'path.accountId' });
    }
    if (accountId !== undefined && caller.accounts !== undefined && !caller.accounts.has(accountId)) {
      throw new ApiProblem('forbidden', `this API key is not for account ${accountId}`, { field: 'path.accountId' });
    }
    const wait = limiter?.take(caller.keyIndex) ?? 0;
    if (wait > 0) throw new ApiProblem('rate_limited', 'too many requests for this API key', { headers: { 'retry-after': String(wait) } });
    // Only a body's charset matters (the routes that read a body are POSTs).
    const charset = request.method === 'POST' ? /;\s*charset\s*=\s*([^;]*)/i.exec(request.headers['content-type'] ?? '')?.[1]?.trim() : undefined;
    if (charset !== undefined && !UTF8_CHARSET.test(charset)) throw new ApiProblem('unsupported_media_type', 'send the body as UTF-8 application/json');
    // A compressed body would be read as broken JSON, and a coding the server does not apply
    // as the plain body it is not: neither is taken (RFC 9110, 8.4.1).
    const coding = request.method === 'POST' ? request.headers['content-encoding']?.trim().toLowerCase() : undefined;
    if (coding !== undefined && coding !== '' && coding !== 'identity') throw new ApiProblem('unsupported_media_type', 'send the body uncompressed: this server takes no Content-Encoding');
  });

  /** The problem of one usage event, or undefined when it may be sent. */
  const eventProblem = (event: unknown, prefix: string, index: number): EventProblem | undefined => {
    if (!validate.UsageEvent(event)) {
      const { field, detail } = schemaProblem((validate.UsageEvent.errors ?? [])[0] as ErrorObject, prefix);
      return { index, field, code: 'InvalidInput', detail };
    }
    const problem = ACCOUNT_UPDATES.recordUsage.check(event, {});
    if (problem) return { index, field: problemField(problem, prefix), code: problem.code, detail: problem.message };
    // Known to no version of the rules: no account can know it. (A feature some version has is
    // left to the account's own validator, which knows the version it runs on.)
    const { feature } = event as RecordUsageInput;
    if (!ruleSet().versions.some((v) => v.features.some((f) => f.id === feature))) {
      return { index, field: `${prefix}.feature`, code: 'UnknownFeature', detail: `unknown feature ${quote(feature)}` };
    }
    return undefined;
  };

  /** The body checked against a schema; a 422 naming the field otherwise. */
  const checkedBody = <T>(body: unknown, check: ValidateFunction): T => {
    if (!check(body)) {
      const { field, detail } = schemaProblem((check.errors ?? [])[0] as ErrorObject, 'body');
      throw invalid(field, detail, 'InvalidInput');
    }
    return body as T;
  };

  /** The input checked locally by the message's own check, its problem as a 422 naming the field. */
  const checkedInput = <T>(check: (input: unknown, context: object) => InputProblem | undefined, input: T): T => {
    const problem = check(input, {});
    if (problem) throw invalid(problemField(problem, 'body'), problem.message, problem.code);
    return input;
  };

  // Unauthenticated, like `/openapi.json`: scrapers and probes carry no API key (docs/operations.md).
  addOpsRoutes(app, { server: 'api', checks: options.readinessChecks ?? [temporalReadiness(() => client.temporal.connection)], log });

  app.get('/openapi.json', (_request, reply) => reply.type('application/json').send(OPENAPI_DOCUMENT));

  app.post<{ Params: AccountParams; Body: unknown }>('/v1/accounts/:accountId/usage', async (request) => {
    const { accountId } = request.params;
    const body = request.body;
    if (!Array.isArray(body)) {
      const bad = eventProblem(body, 'body', 0);
      if (bad) throw invalid(bad.field, bad.detail, bad.code);
      const answer = await answered((signal) => client.recordUsage(accountId, body as RecordUsageInput, { signal }));
      // A key already used for another event: nothing was recorded for this one, which a 200
      // would let a caller read as accepted (an array's events carry payloadMismatch instead).
      if (answer.payloadMismatch) {
        throw new ApiProblem(
          'conflict',
          'this idempotency key was first used for another usage event (another feature, quantity or userId); this event was not recorded: give a new event a new key',
          { field: 'body.idempotencyKey', code: 'IdempotencyKeyReused' },
        );
      }
      return answer;
    }
    if (body.length === 0) throw invalid('body', 'send at least one usage event');
    if (body.length > maxEvents) throw invalid('body', `at most ${maxEvents} usage events a request, got ${body.length}`);
    const errors = body.flatMap((event, index) => eventProblem(event, `body[${index}]`, index) ?? []);
    if (errors.length > 0) {
      // Refused whole and before sending: nothing of a malformed array is recorded.
      const detail = `${errors.length} of ${body.length} usage events are malformed; none was recorded`;
      throw new ApiProblem('invalid_request', detail, { field: errors[0]?.field, errors });
    }
    const settled = await answered((signal) => Promise.allSettled(body.map((event: RecordUsageInput) => client.recordUsage(accountId, event, { signal }))));
    // The account missing or unreachable fails the request whole: a retry with the same keys
    // is answered from the duplicate window for the events that did get through.
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected' && !isCreditsInputError(s.reason));
    if (failed) throw failed.reason;
    return settled.map((s, index): RecordUsageResult | { error: ProblemBody } =>
      s.status === 'fulfilled' ? s.value : { error: problemOf(s.reason, `body[${index}]`).problem.body() },
    );
  });

  app.post<{ Params: CallParams; Body: unknown }>('/v1/accounts/:accountId/calls/:callId/start', async (request) => {
    const { agentId } = checkedBody<{ agentId: string }>(request.body, validate.StartCallBody);
    const input = checkedInput<StartCallInput>(ACCOUNT_UPDATES.startCall.check, { callId: request.params.callId, agentId });
    return answered(client.startCall(request.params.accountId, input));
  });

  app.post<{ Params: CallParams; Body: unknown }>('/v1/accounts/:accountId/calls/:callId/end', async (request) => {
    const { minutes } = checkedBody<{ minutes: number }>(request.body, validate.EndCallBody);
    const input = checkedInput<EndCallInput>(ACCOUNT_UPDATES.endCall.check, { callId: request.params.callId, minutes });
    return answered(client.endCall(request.params.accountId, input));
  });

  app.get<{ Params: AccountParams }>('/v1/accounts/:accountId/balance', async (request) => {
    const summary: AccountSummary = await answered(client.summary(request.params.accountId, { running: true }));
    return { accountId: summary.accountId, available: summary.credits.available, alert: summary.alert, cycleEnd: summary.cycle.end, asOf: summary.asOf };
  });

  app.get<{ Params: AccountParams }>('/v1/accounts/:accountId/summary', async (request) => answered(client.summary(request.params.accountId, { running: true })));

  app.get<{ Params: AccountParams & { feature: string }; Querystring: { quantity?: unknown } }>(
    '/v1/accounts/:accountId/entitlements/:feature',
    async (request): Promise<Entitlement> => {
      const unknown = Object.keys(request.query).filter((name) => name !== 'quantity');
      if (unknown.length > 0) throw invalid('query', `the only query parameter is quantity; got ${unknown.length === 1 ? 'another one' : `${unknown.length} others`}`);
      const raw = request.query.quantity;
      if (Array.isArray(raw)) throw invalid('query.quantity', 'give quantity once');
      const quantity = raw === undefined ? 1 : typeof raw === 'string' && JSON_NUMBER_TEXT.test(raw) ? Number(raw) : Number.NaN;
      if (!isValidQuantity(quantity) || quantity > MAX_USAGE_QUANTITY) {
        throw invalid('query.quantity', `quantity must be a positive number up to ${MAX_USAGE_QUANTITY} with at most 6 decimals`, 'InvalidQuantity');
      }
      const summary = await answered(client.summary(request.params.accountId, { running: true }));
      const answer = checkEntitlement(summary, rulesOfCycle(ruleSet(), summary), request.params.feature, quantity);
      if (!answer) throw invalid('path.feature', `unknown feature ${quote(request.params.feature)}`, 'UnknownFeature');
      // A per-call feature's quantity is a call's minutes, and no call runs longer.
      if (answer.perCall && quantity > MAX_CALL_MINUTES) throw invalid('query.quantity', `a call runs at most ${MAX_CALL_MINUTES} minutes`, 'InvalidQuantity');
      return answer;
    },
  );

  return app;
}

/**
 * Starts the usage API and resolves once it listens.
 *
 * @throws Error when `keys` is empty (a server no one can call is a mistake), or the listen error (e.g. `EADDRINUSE`).
 */
export async function startUsageApi(options: UsageApiOptions): Promise<UsageApi> {
  if (options.keys.length === 0) throw new Error('usage API: no API keys; set CREDITS_API_KEY_HASHES or CREDITS_API_KEYS_FILE');
  const host = options.host ?? '127.0.0.1';
  const shutdown = { now: false };
  const app = buildUsageApiApp(options, shutdown);
  await app.listen({ host, port: options.port ?? DEFAULT_API_PORT });
  const { port } = app.server.address() as AddressInfo;
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  let closing: Promise<void> | undefined;
  const signals = options.closeOnSignals ?? [];
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shutdown.now = true;
      for (const signal of signals) process.off(signal, onSignal);
      await app.close();
    })();
    return closing;
  };
  const onSignal = (): void => {
    close().catch((err: unknown) => (options.log ?? console.error)('usage API: closing failed', err));
  };
  for (const signal of signals) process.once(signal, onSignal);
  return { address: `http://${shown.includes(':') ? `[${shown}]` : shown}:${port}`, close };
}
