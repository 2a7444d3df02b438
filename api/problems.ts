/**
 * The usage API's errors as RFC 9457 problem details (`application/problem+json`): a stable
 * `type` per kind of problem, the HTTP `title`, `status`, a `detail` for people that never
 * echoes a caller's raw input, and, where one field is to blame, `field`: where it is in the
 * request (`body.quantity`, `body[2].feature`, `query.quantity`, `path.accountId`).
 */

/** Stable problem codes; each problem's `type` is `urn:ai-credits:problem:<code>`. */
export const API_PROBLEM_CODES = [
  'unauthorized',
  'forbidden',
  'not_found',
  'account_not_found',
  'conflict',
  'body_too_large',
  'unsupported_media_type',
  'invalid_request',
  'rate_limited',
  'unavailable',
  'internal_error',
  'malformed_request',
  'headers_too_large',
  'request_timeout',
] as const;
/** A stable problem code of the usage API. */
export type ApiProblemCode = (typeof API_PROBLEM_CODES)[number];

/** The `type` URI of a problem code. */
export function problemType(code: ApiProblemCode): string {
  return `urn:ai-credits:problem:${code}`;
}

/** One bad event of an array of usage events. */
export interface EventProblem {
  /** Position of the event in the array. */
  index: number;
  /** Where in the request, e.g. `body[2].quantity`. */
  field?: string;
  /** The input problem code (`UnknownFeature`, `InvalidQuantity`...) or `InvalidInput`. */
  code: string;
  detail: string;
}

/** The body of a problem answer. */
export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** Where in the request the problem is, when one field is to blame. */
  field?: string;
  /** The engine's input problem code, for a validator's refusal (e.g. `UnknownFeature`). */
  code?: string;
  /** Every bad event, when an array of usage events is refused. */
  errors?: EventProblem[];
}

const TITLES: Record<ApiProblemCode, string> = {
  unauthorized: 'Unauthorized',
  forbidden: 'Forbidden',
  not_found: 'Not Found',
  account_not_found: 'Account not found',
  conflict: 'Conflict',
  body_too_large: 'Content Too Large',
  unsupported_media_type: 'Unsupported Media Type',
  invalid_request: 'Unprocessable Content',
  rate_limited: 'Too Many Requests',
  unavailable: 'Service Unavailable',
  internal_error: 'Internal Server Error',
  malformed_request: 'Bad Request',
  headers_too_large: 'Request Header Fields Too Large',
  request_timeout: 'Request Timeout',
};

const STATUSES: Record<ApiProblemCode, number> = {
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  account_not_found: 404,
  conflict: 409,
  body_too_large: 413,
  unsupported_media_type: 415,
  invalid_request: 422,
  rate_limited: 429,
  unavailable: 503,
  internal_error: 500,
  malformed_request: 400,
  headers_too_large: 431,
  request_timeout: 408,
};

/** An error the usage API answers with a problem body. */
export class ApiProblem extends Error {
  override name = 'ApiProblem';
  readonly problem: ApiProblemCode;
  readonly status: number;
  readonly field: string | undefined;
  readonly inputCode: string | undefined;
  readonly errors: EventProblem[] | undefined;
  /** Extra headers, e.g. `retry-after` or `www-authenticate`. */
  readonly headers: Record<string, string>;

  constructor(
    problem: ApiProblemCode,
    detail: string,
    extra: { field?: string; code?: string; errors?: EventProblem[]; headers?: Record<string, string> } = {},
  ) {
    super(detail);
    this.problem = problem;
    this.status = STATUSES[problem];
    this.field = extra.field;
    this.inputCode = extra.code;
    this.errors = extra.errors;
    this.headers = extra.headers ?? {};
  }

  /** The problem body (RFC 9457). */
  body(): ProblemBody {
    const body: ProblemBody = { type: problemType(this.problem), title: TITLES[this.problem], status: this.status, detail: this.message };
    if (this.field !== undefined) body.field = this.field;
    if (this.inputCode !== undefined) body.code = this.inputCode;
    if (this.errors !== undefined) body.errors = this.errors;
    return body;
  }
}

/** A 422 naming the field at fault. */
export function invalid(field: string | undefined, detail: string, code?: string): ApiProblem {
  return new ApiProblem('invalid_request', detail, { field, code });
}
