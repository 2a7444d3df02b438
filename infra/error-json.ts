/**
 * Errors as JSON for structured logs. `JSON.stringify` writes an Error as `{}` (its message,
 * name and stack are not own enumerable properties), which hides exactly what a log of a
 * failure is for; these helpers write what failed, of which kind, why and where.
 */

/** How many causes deep an error is written; deeper causes are cut (and cycles end). */
const MAX_CAUSE_DEPTH = 8;

/** An error as a log line shows it. */
export interface ErrorJson {
  name: string;
  message: string;
  /** A stable code, when the error has one (`LedgerError`, Node system errors, gRPC statuses). */
  code?: string | number;
  /** A failure type, when the error has one (Temporal's `ApplicationFailure`). */
  type?: string;
  /** A gRPC error's own text. */
  details?: string;
  stack?: string;
  /** The cause, written the same way when it is an Error, as it is otherwise. */
  cause?: unknown;
}

/** `err` as JSON-ready data with its cause chain; anything that is not an Error as it is. */
export function errorToJson(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return err;
  const fields = err as Error & { code?: unknown; type?: unknown; details?: unknown };
  const json: ErrorJson = { name: err.name, message: err.message };
  if (typeof fields.code === 'string' || typeof fields.code === 'number') json.code = fields.code;
  if (typeof fields.type === 'string') json.type = fields.type;
  if (typeof fields.details === 'string') json.details = fields.details;
  if (err.stack !== undefined) json.stack = err.stack;
  if (err.cause !== undefined) json.cause = depth < MAX_CAUSE_DEPTH ? errorToJson(err.cause, depth + 1) : '(deeper causes cut)';
  return json;
}

/** A `JSON.stringify` replacer writing Errors (wherever they sit) with {@link errorToJson}, bigints as text. */
export function jsonLogReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return errorToJson(value);
  if (typeof value === 'bigint') return value.toString();
  return value;
}

/** One log record as a JSON line; a record that cannot be written (a cycle) is written as text instead. */
export function jsonLogLine(record: Record<string, unknown>): string {
  try {
    return `${JSON.stringify(record, jsonLogReplacer)}\n`;
  } catch (err) {
    const text = { time: record.time, level: record.level, message: String(record.message), unwritable: String(err) };
    return `${JSON.stringify(text)}\n`;
  }
}
