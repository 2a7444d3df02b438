/**
 * The usage API's OpenAPI 3.1 document. The server serves it at `GET /openapi.json`, a copy is
 * checked in as `api/openapi.json` (a test keeps the two equal), and the server validates
 * request bodies against its schemas, so the document cannot drift from what is enforced.
 */
import { MAX_CALL_MINUTES, MAX_USAGE_QUANTITY } from '../domain/input-problems';
import { USAGE_REJECTIONS } from '../domain/wire-contract';
import { API_PROBLEM_CODES, problemType } from './problems';

/** Most usage events one `POST .../usage` may carry; more is refused whole (422). */
export const MAX_EVENTS_PER_REQUEST = 1_000;

const KEY_TEXT = { type: 'string', minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7E]+$' } as const;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ 'application/json': { schema } });
const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ref('Problem') } } });

const ERRORS = {
  '401': problem('No key, or a key the server does not hold'),
  '403': problem('The key is not for this account'),
  '404': problem('Unknown account'),
  '429': problem('Too many requests for this key, or too many usage events waiting for this account in this server; see Retry-After'),
  '500': problem('An unexpected error; it has been logged'),
  '503': problem('The credits service (Temporal) did not answer; retry later with the same idempotency keys'),
};
const BODY_ERRORS = {
  '413': problem('Body over the size limit'),
  '415': problem('Body not `application/json`, in a charset other than UTF-8, or with a Content-Encoding'),
  '422': problem('Bad JSON, a wrong type, an unknown feature, too many events: `field` names where'),
};

const accountParam = { name: 'accountId', in: 'path', required: true, schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' } };
const callParam = { name: 'callId', in: 'path', required: true, schema: KEY_TEXT };

/** A call's start or end: `<shape>Body` in, `<shape>Result` out. */
function callOperation(operationId: string, summary: string, shape: 'StartCall' | 'EndCall', conflict: string) {
  return {
    post: {
      operationId,
      summary,
      parameters: [accountParam, callParam],
      requestBody: { required: true, content: json(ref(`${shape}Body`)) },
      responses: { '200': { description: `The ${operationId} result`, content: json(ref(`${shape}Result`)) }, '409': problem(conflict), ...ERRORS, ...BODY_ERRORS },
    },
  };
}

/** The OpenAPI 3.1 document of the usage API. */
export const OPENAPI_DOCUMENT = {
  openapi: '3.1.0',
  info: {
    title: 'AI credits usage API',
    version: '1.0.0',
    description:
      'Usage intake and balances of AI credits accounts over HTTP, for product services without a Temporal SDK. ' +
      'Shapes are those of docs/wire-contract.md. Authenticate with `Authorization: Bearer <key>`.',
  },
  security: [{ bearer: [] }],
  paths: {
    '/v1/accounts/{accountId}/usage': {
      post: {
        operationId: 'recordUsage',
        summary: 'Record one usage event, or an array of them (answered in order, each on its own)',
        parameters: [accountParam],
        requestBody: {
          required: true,
          content: json({ oneOf: [ref('UsageEvent'), { type: 'array', minItems: 1, maxItems: MAX_EVENTS_PER_REQUEST, items: ref('UsageEvent') }] }),
        },
        responses: {
          '200': {
            description: 'The answer of each event: one object for one event, an array for an array',
            content: json({ oneOf: [ref('UsageResult'), { type: 'array', items: { oneOf: [ref('UsageResult'), ref('EventError')] } }] }),
          },
          '409': problem(
            'One event whose idempotency key was first used for another event (another feature, quantity or userId): it was not recorded (`code` IdempotencyKeyReused). In an array such an event is answered with `payloadMismatch: true`',
          ),
          ...ERRORS,
          ...BODY_ERRORS,
        },
      },
    },
    '/v1/accounts/{accountId}/calls/{callId}/start': callOperation('startCall', 'Ask to place a Voice Agent call (idempotent by call id)', 'StartCall', 'The call cannot be opened: a bounded table of the account is full'),
    '/v1/accounts/{accountId}/calls/{callId}/end': callOperation('endCall', 'Report the end of a Voice Agent call (idempotent by call id)', 'EndCall', 'The account never started this call'),
    '/v1/accounts/{accountId}/balance': {
      get: {
        operationId: 'balance',
        summary: 'Credits available now, the alert state and when the cycle ends',
        parameters: [accountParam],
        responses: { '200': { description: 'The balance', content: json(ref('Balance')) }, ...ERRORS },
      },
    },
    '/v1/accounts/{accountId}/summary': {
      get: {
        operationId: 'summary',
        summary: "The account's summary (the `summary` query of the wire contract)",
        parameters: [accountParam],
        responses: { '200': { description: 'The summary', content: json(ref('AccountSummary')) }, ...ERRORS },
      },
    },
    '/v1/accounts/{accountId}/entitlements/{feature}': {
      get: {
        operationId: 'entitlement',
        summary: 'May this account use N units of a feature now? Records nothing',
        parameters: [
          accountParam,
          { name: 'feature', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 100 } },
          {
            name: 'quantity',
            in: 'query',
            required: false,
            description: `Units of the feature (at most 6 decimals); for a per-call feature, a call's minutes, at most ${MAX_CALL_MINUTES}. The only query parameter`,
            schema: { type: 'number', exclusiveMinimum: 0, maximum: MAX_USAGE_QUANTITY, default: 1 },
          },
        ],
        responses: {
          '200': { description: 'The forecast', content: json(ref('Entitlement')) },
          '422': problem('Unknown feature, a bad quantity, or a query parameter other than one quantity: `field` names which'),
          ...ERRORS,
        },
      },
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API key; the server holds only its SHA-256 hash' } },
    schemas: {
      UsageEvent: {
        type: 'object',
        additionalProperties: false,
        required: ['feature', 'quantity', 'idempotencyKey'],
        properties: {
          feature: { type: 'string', minLength: 1, maxLength: 100 },
          quantity: { type: 'number', exclusiveMinimum: 0, maximum: MAX_USAGE_QUANTITY },
          idempotencyKey: KEY_TEXT,
          userId: KEY_TEXT,
        },
      },
      UsageResult: {
        type: 'object',
        required: ['accepted', 'credits', 'balance', 'duplicate'],
        properties: {
          accepted: { type: 'boolean' },
          reason: { enum: [...USAGE_REJECTIONS] },
          credits: { type: 'integer', minimum: 0 },
          cost: { type: 'integer', minimum: 0 },
          balance: { type: 'integer' },
          duplicate: { type: 'boolean' },
          payloadMismatch: { type: 'boolean' },
        },
      },
      EventError: {
        type: 'object',
        required: ['error'],
        description: 'An event of an array the account refused as malformed (the others were answered)',
        properties: { error: ref('Problem') },
      },
      StartCallBody: { type: 'object', additionalProperties: false, required: ['agentId'], properties: { agentId: KEY_TEXT } },
      StartCallResult: {
        type: 'object',
        required: ['authorized', 'balance'],
        properties: { authorized: { type: 'boolean' }, reason: { type: 'string' }, balance: { type: 'integer' } },
      },
      EndCallBody: {
        type: 'object',
        additionalProperties: false,
        required: ['minutes'],
        properties: { minutes: { type: 'number', exclusiveMinimum: 0, maximum: MAX_CALL_MINUTES } },
      },
      EndCallResult: {
        type: 'object',
        required: ['credits', 'balance', 'capped'],
        properties: { credits: { type: 'integer' }, balance: { type: 'integer' }, minutesCharged: { type: 'number' }, capped: { type: 'boolean' } },
      },
      Balance: {
        type: 'object',
        additionalProperties: false,
        required: ['accountId', 'available', 'alert', 'cycleEnd', 'asOf'],
        properties: {
          accountId: { type: 'string' },
          available: { type: 'integer' },
          alert: { enum: ['ok', 'warning', 'exhausted'] },
          cycleEnd: { type: 'string', format: 'date-time' },
          asOf: { type: 'string', format: 'date-time' },
        },
      },
      AccountSummary: {
        type: 'object',
        required: ['accountId', 'plan', 'users', 'trial', 'tier', 'cycle', 'credits', 'grants', 'usage', 'alert', 'features', 'rulesVersion', 'asOf'],
        properties: {
          accountId: { type: 'string' },
          plan: { type: 'object', required: ['id', 'name'], properties: { id: { type: 'string' }, name: { type: 'string' } } },
          users: { type: 'integer', minimum: 1 },
          trial: { type: 'boolean' },
          tier: { type: ['object', 'null'] },
          cycle: {
            type: 'object',
            required: ['index', 'start', 'end'],
            properties: { index: { type: 'integer' }, start: { type: 'string', format: 'date-time' }, end: { type: 'string', format: 'date-time' } },
          },
          credits: {
            type: 'object',
            required: ['available', 'granted', 'used', 'overdraft', 'callOverage'],
            properties: Object.fromEntries(['available', 'granted', 'used', 'overdraft', 'callOverage'].map((k) => [k, { type: 'integer' }])),
          },
          grants: { type: 'array', items: { type: 'object', required: ['grantId', 'source', 'amount', 'remaining', 'expiresAt'] } },
          usage: {
            type: 'array',
            items: {
              type: 'object',
              required: ['feature', 'quantity', 'credits', 'count', 'rejected'],
              properties: { feature: { type: 'string' }, quantity: { type: 'number' }, credits: { type: 'integer' }, count: { type: 'integer' }, rejected: { type: 'integer' } },
            },
          },
          telephonyMinutes: { type: 'number' },
          alert: { enum: ['ok', 'warning', 'exhausted'] },
          features: { type: 'array', items: { type: 'object', required: ['feature', 'enabled'] } },
          rulesVersion: { type: 'string' },
          asOf: { type: 'string', format: 'date-time' },
        },
      },
      Entitlement: {
        type: 'object',
        additionalProperties: false,
        required: ['accountId', 'feature', 'quantity', 'allowed', 'cost', 'balance', 'perCall'],
        properties: {
          accountId: { type: 'string' },
          feature: { type: 'string' },
          quantity: { type: 'number' },
          allowed: { type: 'boolean' },
          reason: { enum: [...USAGE_REJECTIONS] },
          cost: { type: 'integer', minimum: 0 },
          balance: { type: 'integer' },
          perCall: { type: 'boolean' },
        },
      },
      Problem: {
        type: 'object',
        description: 'RFC 9457 problem details',
        required: ['type', 'title', 'status', 'detail'],
        properties: {
          type: { enum: API_PROBLEM_CODES.map(problemType) },
          title: { type: 'string' },
          status: { type: 'integer', minimum: 400, maximum: 599 },
          detail: { type: 'string' },
          field: { type: 'string', description: 'Where in the request: `body.quantity`, `body[2].feature`, `query.quantity`, `path.accountId`' },
          code: { type: 'string', description: "The engine's input problem code, e.g. `UnknownFeature`" },
          errors: {
            type: 'array',
            items: {
              type: 'object',
              required: ['index', 'code', 'detail'],
              properties: { index: { type: 'integer', minimum: 0 }, field: { type: 'string' }, code: { type: 'string' }, detail: { type: 'string' } },
            },
          },
        },
      },
    },
  },
} as const;
