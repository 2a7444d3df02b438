/**
 * Terminal output that fits the terminal: tables whose text columns wrap inside their cells
 * when the table is wider than the screen (numbers never wrap, so digits stay lined up), or,
 * on a screen too narrow for any table, one block per row; and prose lines wrapped at spaces.
 */
import { renderTable, type Column } from './text-table';

/** Width used when stdout is not a terminal (a pipe, a file, CI): wide enough, still readable. */
export const DEFAULT_OUTPUT_WIDTH = 100;
/** Narrowest width honoured; below it lines would be a word or two. */
export const MIN_OUTPUT_WIDTH = 40;

/** A text column is not narrowed below this (or its natural width, when smaller) even if its words are shorter. */
const MIN_WRAPPED_COLUMN = 10;
const GAP = 2;

/** The width to fit: the terminal's columns when stdout is one, else {@link DEFAULT_OUTPUT_WIDTH}. */
export function terminalWidth(stream: { isTTY?: boolean; columns?: number } = process.stdout): number {
  const columns = stream.isTTY === true ? stream.columns : undefined;
  return typeof columns === 'number' && columns > 0 ? Math.max(MIN_OUTPUT_WIDTH, columns) : DEFAULT_OUTPUT_WIDTH;
}

/** `text` as lines of at most `width` characters, broken at spaces; a longer word is cut. */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ').filter((w) => w !== '')) {
    let rest = word;
    if (line !== '' && line.length + 1 + rest.length <= width) {
      line += ` ${rest}`;
      continue;
    }
    if (line !== '') lines.push(line);
    while (rest.length > width) {
      lines.push(rest.slice(0, width));
      rest = rest.slice(width);
    }
    line = rest;
  }
  lines.push(line);
  return lines;
}

/**
 * A prose line wrapped to `width`, continuation lines indented two more than its own indent,
 * so a wrapped sentence reads as one item.
 */
export function wrapLine(line: string, width: number): string[] {
  if (line.length <= width) return [line];
  const indent = line.length - line.trimStart().length;
  const hanging = indent + 2;
  const [first = '', ...rest] = wrapText(line.trimStart(), width - hanging);
  // The first line may use the two columns the hanging indent takes from the rest.
  return [' '.repeat(indent) + first, ...rest.map((part) => ' '.repeat(hanging) + part)];
}

/** Cells of one row, each wrapped to its column's width, as terminal lines. */
function wrappedRow(columns: readonly Column[], widths: readonly number[], cells: readonly string[], indent: number): string[] {
  const wrapped = columns.map((_, i) => wrapText(cells[i] ?? '', widths[i] ?? 0));
  const height = Math.max(...wrapped.map((parts) => parts.length));
  return Array.from({ length: height }, (_, line) =>
    (
      ' '.repeat(indent) +
      columns
        .map((column, i) => {
          const cell = wrapped[i]?.[line] ?? '';
          const width = widths[i] ?? 0;
          return column.align === 'right' ? cell.padStart(width) : cell.padEnd(width);
        })
        .join(' '.repeat(GAP))
    ).trimEnd(),
  );
}

/** One block per row: its first cell, then `Heading: value` lines; for screens too narrow for the table. */
function stackedRows(columns: readonly Column[], rows: readonly (readonly string[])[], indent: number, width: number): string[] {
  const pad = ' '.repeat(indent);
  return rows.flatMap((cells) => [
    ...wrapLine(`${pad}${cells[0] ?? ''}`, width),
    ...columns.slice(1).flatMap((column, i) => wrapLine(`${pad}  ${column.heading}: ${cells[i + 1] ?? ''}`, width)),
  ]);
}

/**
 * {@link renderTable}, fitted to `width`: as is when it fits; else its widest text columns
 * narrowed in turn, their cells wrapped over several lines; else (too narrow even so) one
 * block per row. No line is longer than `width`.
 */
export function fitTable(columns: readonly Column[], rows: readonly (readonly string[])[], width: number, indent = 2): string[] {
  const widths = columns.map((column, i) => Math.max(column.heading.length, ...rows.map((row) => (row[i] ?? '').length)));
  const total = () => indent + widths.reduce((sum, w) => sum + w, 0) + GAP * (columns.length - 1);
  if (total() <= width) return renderTable(columns, rows, indent);
  // A text column narrows down to its longest word (ids and amounts are never cut), or
  // MIN_WRAPPED_COLUMN when its words are shorter; numbers do not narrow.
  const longestWord = (i: number) => Math.max(...[columns[i]?.heading ?? '', ...rows.map((row) => row[i] ?? '')].flatMap((cell) => cell.split(' ').map((w) => w.length)));
  const floors = widths.map((w, i) => (columns[i]?.align === 'right' ? w : Math.min(w, Math.max(MIN_WRAPPED_COLUMN, longestWord(i)))));
  while (total() > width) {
    let widest = -1;
    for (const [i, w] of widths.entries()) {
      if (w > (floors[i] ?? w) && (widest < 0 || w > (widths[widest] ?? 0))) widest = i;
    }
    if (widest < 0) return stackedRows(columns, rows, indent, width);
    widths[widest] = (widths[widest] ?? 0) - 1;
  }
  return [wrappedRow(columns, widths, columns.map((c) => c.heading), indent), ...rows.map((row) => wrappedRow(columns, widths, row, indent))].flat();
}
