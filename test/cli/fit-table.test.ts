/**
 * Fitting tables and prose to the terminal: no line longer than the width, whatever the cells,
 * nothing dropped, numbers never wrapped, and the terminal's width read only from a terminal.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OUTPUT_WIDTH, MIN_OUTPUT_WIDTH, fitTable, terminalWidth, wrapLine, wrapText } from '../../cli/fit-table';
import { renderTable, type Column } from '../../cli/text-table';

const word = fc.stringMatching(/^[a-z0-9-]{1,30}$/);
const cell = fc.array(word, { minLength: 0, maxLength: 12 }).map((words) => words.join(' '));

describe('fitTable', () => {
  it('is renderTable when the table fits', () => {
    const columns: Column[] = [{ heading: 'Plan' }, { heading: 'Credits', align: 'right' }];
    const rows = [['Growth', '1,500'], ['Scale', '2,000']];
    expect(fitTable(columns, rows, 80)).toEqual(renderTable(columns, rows));
  });

  it('wraps text cells of a wide table and keeps numbers whole and right-aligned', () => {
    const columns: Column[] = [{ heading: 'Name' }, { heading: 'Credits', align: 'right' }, { heading: 'Note' }];
    const lines = fitTable(columns, [['Voice', '100,000', 'a long note that cannot fit on one line of a narrow terminal at all']], 40);
    expect(lines.every((line) => line.length <= 40)).toBe(true);
    expect(lines[1]).toMatch(/^ {2}Voice +100,000 +a long note/);
    expect(lines.slice(1).join(' ').replace(/\s+/g, ' ')).toContain('a long note that cannot fit on one line of a narrow terminal at all');
  });

  it('no line exceeds the width, and every word survives (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 7 }).chain((n) =>
          fc.record({
            columns: fc.array(fc.record({ heading: word, align: fc.constantFrom<'left' | 'right'>('left', 'right') }), { minLength: n, maxLength: n }),
            rows: fc.array(fc.array(cell, { minLength: n, maxLength: n }), { maxLength: 5 }),
            width: fc.integer({ min: MIN_OUTPUT_WIDTH, max: 200 }),
          }),
        ),
        ({ columns, rows, width }) => {
          // Right-aligned cells are numbers in practice: one word each.
          const fixed = rows.map((row) => row.map((c, i) => (columns[i]?.align === 'right' ? (c.split(' ')[0] ?? '') : c)));
          const lines = fitTable(columns, fixed, width);
          expect(lines.filter((line) => line.length > width)).toEqual([]);
          const text = lines.join(' ');
          for (const w of fixed.flat().flatMap((c) => c.split(' ')).filter((w) => w !== '' && w.length <= 10)) expect(text).toContain(w);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('wrapping prose', () => {
  it('breaks at spaces with a hanging indent, and cuts a word longer than the line', () => {
    expect(wrapText('one two three', 7)).toEqual(['one two', 'three']);
    expect(wrapText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrapLine('  Policy: one two three four five six', 20)).toEqual(['  Policy: one two', '    three four five', '    six']);
    expect(wrapLine('short', 20)).toEqual(['short']);
  });
});

describe('terminalWidth', () => {
  it("is the terminal's columns on a terminal, else 100", () => {
    expect(terminalWidth({ isTTY: true, columns: 132 })).toBe(132);
    expect(terminalWidth({ isTTY: true, columns: 20 })).toBe(MIN_OUTPUT_WIDTH);
    expect(terminalWidth({ isTTY: false, columns: 132 })).toBe(DEFAULT_OUTPUT_WIDTH);
    expect(terminalWidth({})).toBe(100);
  });
});
