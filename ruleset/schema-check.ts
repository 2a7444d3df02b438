/**
 * The JSON-schema layer: ajv (draft 2020-12, strict, all errors) checks the shape of the
 * file, and each ajv error is translated into an analyst's sentence with a stable code.
 * The same schema file drives editor autocompletion through yaml-language-server.
 */
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { plural } from '../display';
import rulesSchema from '../schema/rules.schema.json';
import type { Finding } from './finding';
import { describeSubject, describeType, describeValue, quoteText } from './wording';
import type { DataPath } from './yaml-source';

/** The schema a rules file must satisfy (also published at schema/rules.schema.json). */
export const RULES_SCHEMA: object = rulesSchema;

let validator: ValidateFunction | undefined;

/** Compiled once per process: compiling the schema costs far more than validating a file. */
function rulesValidator(): ValidateFunction {
  validator ??= new Ajv2020({ strict: true, allErrors: true, verbose: true }).compile(RULES_SCHEMA);
  return validator;
}

/** Every way `data` departs from the schema, in analyst language. */
export function checkSchema(data: unknown): Finding[] {
  const validate = rulesValidator();
  if (validate(data)) return [];
  const findings: Finding[] = [];
  for (const error of validate.errors ?? []) {
    const finding = translate(error, data);
    if (finding !== undefined) findings.push(finding);
  }
  return findings;
}

/** JSON-pointer instance path to data path, with list positions as numbers. */
function toDataPath(pointer: string, data: unknown): DataPath {
  const path: (string | number)[] = [];
  let node: unknown = data;
  for (const raw of pointer.split('/').slice(1)) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const index = Number(segment);
      path.push(index);
      node = node[index];
    } else {
      path.push(segment);
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[segment] : undefined;
    }
  }
  return path;
}

const BOUNDS = {
  minimum: 'at least',
  exclusiveMinimum: 'more than',
  maximum: 'at most',
  exclusiveMaximum: 'less than',
} as const;

interface SchemaNode {
  readonly title?: string;
  readonly properties?: Record<string, unknown>;
}

function translate(error: ErrorObject, data: unknown): Finding | undefined {
  const path = toDataPath(error.instancePath, data);
  const subject = describeSubject(data, path);
  const parent = (error.parentSchema ?? {}) as SchemaNode;
  // The root schema's title names the whole document, not an expected value.
  const expected = path.length > 0 ? parent.title : undefined;
  const got = `got ${describeValue(error.data)}`;
  const params = error.params as Record<string, unknown>;

  switch (error.keyword) {
    case 'if':
      // Only says "a branch failed"; the branch's own errors say what and where.
      return undefined;
    case 'additionalProperties': {
      const field = String(params.additionalProperty);
      const container = path.length === 0 ? 'the rules file' : subject;
      const allowed = Object.keys(parent.properties ?? {}).join(', ');
      return {
        path: [...path, field],
        target: 'key',
        code: 'unknown-field',
        message: `${quoteText(field)} is not a field of ${container} (expected one of: ${allowed})`,
      };
    }
    case 'required':
      return { path, code: 'missing-field', message: `${subject} is missing "${String(params.missingProperty)}"` };
    case 'type':
      return { path, code: 'wrong-type', message: `${subject} must be ${expected ?? describeType(params.type)}, ${got}` };
    case 'const':
      return {
        path,
        code: 'bad-value',
        message: `${subject} must be ${expected ?? describeValue(params.allowedValue)}, ${got}`,
      };
    case 'enum': {
      const values = (params.allowedValues as unknown[]).map(String).join(', ');
      return { path, code: 'bad-value', message: `${subject} must be ${expected ?? `one of ${values}`}, ${got}` };
    }
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum':
      return {
        path,
        code: 'out-of-range',
        message: `${subject} must be ${BOUNDS[error.keyword]} ${String(params.limit)}, ${got}`,
      };
    case 'pattern':
    case 'format':
      return { path, code: 'bad-format', message: `${subject} must be ${expected ?? 'in the expected format'}, ${got}` };
    case 'minLength':
      return {
        path,
        code: 'bad-format',
        message:
          params.limit === 1 ? `${subject} must not be empty` : `${subject} must be at least ${plural(Number(params.limit), 'character')} long`,
      };
    case 'maxLength':
      return { path, code: 'bad-format', message: `${subject} must be at most ${plural(Number(params.limit), 'character')} long` };
    case 'minItems':
      return { path, code: 'wrong-count', message: `${subject} must list at least ${plural(Number(params.limit), 'item')}` };
    case 'maxItems':
      return { path, code: 'wrong-count', message: `${subject} must list at most ${plural(Number(params.limit), 'item')}` };
    default:
      return { path, code: 'bad-value', message: `${subject} is not valid here, ${got}` };
  }
}
