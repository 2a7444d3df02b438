/**
 * Checks real usage API answers against the OpenAPI document: the operation's listed statuses,
 * the media type and the response schema.
 */
import Ajv2020 from 'ajv/dist/2020';
import type { ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { OPENAPI_DOCUMENT } from '../../api/openapi-document';

const SPEC_ID = 'https://ai-credits.invalid/openapi.json';
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ ...OPENAPI_DOCUMENT, $id: SPEC_ID });

const pointer = (parts: string[]) => parts.map((p) => encodeURIComponent(p.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');

/** The path template of the document a concrete path matches, if any. */
export function templateOf(path: string): string | undefined {
  return Object.keys(OPENAPI_DOCUMENT.paths).find((template) =>
    new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path.split('?')[0] ?? ''),
  );
}

/**
 * Why an answer does not match the document, or undefined when it does. A path the document
 * does not describe is checked only for being a problem body when it is one.
 */
export function specMismatch(method: string, path: string, status: number, contentType: string, body: unknown): string | undefined {
  const template = templateOf(path);
  const mediaType = contentType.split(';')[0]?.trim() ?? '';
  let validate: ValidateFunction | undefined;
  if (template === undefined) {
    if (mediaType !== 'application/problem+json') return `no operation for ${method} ${path}`;
    validate = ajv.getSchema(`${SPEC_ID}#/components/schemas/Problem`);
  } else {
    const operation = (OPENAPI_DOCUMENT.paths as Record<string, Record<string, { responses: Record<string, { content?: Record<string, unknown> }> }>>)[template]?.[method.toLowerCase()];
    if (!operation) return `no ${method} on ${template}`;
    const response = operation.responses[String(status)];
    if (!response) return `${method} ${template} does not list status ${status}`;
    if (!response.content?.[mediaType]) return `${method} ${template} ${status} does not list ${mediaType}`;
    validate = ajv.getSchema(`${SPEC_ID}#/${pointer(['paths', template, method.toLowerCase(), 'responses', String(status), 'content', mediaType, 'schema'])}`);
  }
  if (!validate) return 'no schema';
  return validate(body) ? undefined : ajv.errorsText(validate.errors);
}
