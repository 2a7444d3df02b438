/**
 * A finding is a diagnostic before it has a position: checks speak in data paths (they see
 * plain data), and the YAML source turns each path back into a line and column.
 */
import type { Diagnostic, DiagnosticCode } from './diagnostics';
import type { DataPath, RulesSource } from './yaml-source';

/** A problem at a path in the parsed data. */
export interface Finding {
  readonly path: DataPath;
  /** `key` points at a field's name rather than its value (e.g. a field that should not exist). */
  readonly target?: 'key' | 'value';
  readonly code: DiagnosticCode;
  readonly message: string;
}

/** Places a finding in the file it came from. */
export function locateFinding(source: RulesSource, finding: Finding): Diagnostic {
  const { line, column } = source.locate(finding.path, finding.target);
  return { file: source.file, line, column, code: finding.code, message: finding.message };
}
