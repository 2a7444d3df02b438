/**
 * Plain-text tables for terminal output: columns padded to their widest cell, numbers
 * right-aligned so digits line up, no trailing spaces (output is diffed in tests and CI).
 */

/** How a column is aligned. */
export type Align = 'left' | 'right';

/** A column: its heading and alignment. */
export interface Column {
  readonly heading: string;
  readonly align?: Align;
}

/** Renders a heading row and data rows as lines indented by `indent` spaces. */
export function renderTable(columns: readonly Column[], rows: readonly (readonly string[])[], indent = 2): string[] {
  const widths = columns.map((column, i) => Math.max(column.heading.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    ' '.repeat(indent) +
    columns
      .map((column, i) => {
        const cell = cells[i] ?? '';
        const width = widths[i] ?? 0;
        return column.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(columns.map((c) => c.heading)), ...rows.map(line)];
}
