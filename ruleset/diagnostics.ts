/**
 * Diagnostics: the one shape in which every problem with a rules file is reported, whether
 * the YAML reader, the JSON schema, a semantic check or the loader found it. The pricing
 * team reads them in a terminal or an editor, so each names a place and speaks plainly.
 */

/**
 * Stable error codes. Tests, scripts and people grep for them, so a code is never renamed
 * or reused for another meaning; add new ones at the end of their group.
 */
export const DIAGNOSTIC_CODES = [
  // Reading the file.
  'not-found',
  'unreadable',
  'file-too-large',
  'empty-file',
  'yaml-syntax',
  'duplicate-key',
  'too-many-aliases',
  'multiple-documents',
  'too-many-errors',
  'yaml-version',
  'cr-line-endings',
  'non-ascii-indent',
  // The schema.
  'unknown-field',
  'missing-field',
  'wrong-type',
  'bad-value',
  'out-of-range',
  'bad-format',
  'wrong-count',
  // Semantic checks.
  'effective-from',
  'duplicate-plan',
  'duplicate-alias',
  'duplicate-feature',
  'duplicate-tier',
  'duplicate-promotion',
  'unknown-plan',
  'unknown-feature',
  'toggle-not-credit',
  'per-call-not-credit',
  'missing-cost',
  'unexpected-cost',
  'tier-order',
  'tier-rate',
  'promotion-date',
  'consumption-priority',
  'bad-text',
  'blank-name',
  'duplicate-per-call',
  'plan-order',
  'rules-too-large',
  // Directories and dated versions.
  'no-rules-files',
  'duplicate-effective-from',
  'no-version-in-force',
  'bad-instant',
] as const;

/** A stable kebab-case error code; see {@link DIAGNOSTIC_CODES}. */
export type DiagnosticCode = (typeof DIAGNOSTIC_CODES)[number];

/** One problem, located in a file. Line and column are 1-based, as editors count them. */
export interface Diagnostic {
  /** The path as the user gave it (not made absolute), so messages match what they typed. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly code: DiagnosticCode;
  /** One line a pricing analyst understands; never raw validator text, never a stack trace. */
  readonly message: string;
  /** On a `too-many-errors` diagnostic: how many problems it stands for, not shown. */
  readonly notShown?: number;
}

/** How many problems `diagnostics` report, counting those a `too-many-errors` line stands for. */
export function problemCount(diagnostics: readonly Diagnostic[]): number {
  return diagnostics.reduce((sum, d) => sum + (d.code === 'too-many-errors' ? (d.notShown ?? 1) : 1), 0);
}

/** Renders a diagnostic as `path:line:col code: message`, the form editors and CI logs link. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.file}:${d.line}:${d.column} ${d.code}: ${d.message}`;
}

/** Orders diagnostics by file, then position, then code, so output is stable and reads top-down. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  if (a.line !== b.line) return a.line - b.line;
  if (a.column !== b.column) return a.column - b.column;
  if (a.code !== b.code) return a.code < b.code ? -1 : 1;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

/** Sorts by position and drops exact repeats (two schema branches can report the same thing). */
export function sortDiagnostics(list: readonly Diagnostic[]): Diagnostic[] {
  const seen = new Set<string>();
  const unique: Diagnostic[] = [];
  for (const d of list) {
    const key = formatDiagnostic(d);
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push(d);
  }
  return unique.sort(compareDiagnostics);
}

/**
 * Thrown when rules cannot be loaded or a version cannot be chosen. It carries every
 * diagnostic, so callers can print them all rather than the first.
 */
export class RulesError extends Error {
  /** Every problem found, sorted by position. */
  readonly diagnostics: readonly Diagnostic[];

  constructor(diagnostics: readonly Diagnostic[]) {
    const sorted = sortDiagnostics(diagnostics);
    const first = sorted[0];
    const summary = first === undefined ? 'invalid rules' : formatDiagnostic(first);
    const more = sorted.length > 1 ? ` (and ${sorted.length - 1} more)` : '';
    super(`${summary}${more}`);
    this.name = 'RulesError';
    this.diagnostics = Object.freeze(sorted);
  }
}

/** Type guard for {@link RulesError} that also works across module copies (checks the shape). */
export function isRulesError(err: unknown): err is RulesError {
  if (err instanceof RulesError) return true;
  return (
    err instanceof Error &&
    err.name === 'RulesError' &&
    Array.isArray((err as { diagnostics?: unknown }).diagnostics)
  );
}
