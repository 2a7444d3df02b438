/**
 * The CLI's option parsers: numbers are read as JSON writes them, as the usage API reads a
 * quantity, so `usage record ... 0x10` is a usage error and not 16 credits' worth of usage.
 */
import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { fileName, positiveNumber, wholeNumber } from '../../cli/option-parsers';

describe('positiveNumber', () => {
  it.each([
    ['5', 5],
    [' 2.5 ', 2.5],
    ['0.000001', 0.000001],
    ['1e3', 1000],
  ])('reads %j as %d', (text, value) => {
    expect(positiveNumber(text)).toBe(value);
  });

  it.each(['0x10', '0b11', '0o7', '+5', '5.', '.5', '', 'five', '0', '-1', '-0', 'Infinity', '1e400'])('refuses %j', (text) => {
    expect(() => positiveNumber(text)).toThrow(InvalidArgumentError);
    expect(() => positiveNumber(text)).toThrow('expected a positive number, such as 5 or 2.5');
  });
});

describe('wholeNumber', () => {
  it.each(['0x10', '1e3', '-0', '2.5', ''])('refuses %j', (text) => {
    expect(() => wholeNumber(1)(text)).toThrow('expected a whole number of at least 1');
  });

  it('reads a whole number at or above its minimum', () => {
    expect(wholeNumber(1)(' 7 ')).toBe(7);
    expect(() => wholeNumber(2)('1')).toThrow(InvalidArgumentError);
  });
});

describe('fileName', () => {
  it('refuses an empty file name, and takes any other as given', () => {
    expect(() => fileName('')).toThrow('expected a file name, got an empty one');
    expect(() => fileName('  ')).toThrow(InvalidArgumentError);
    expect(fileName('out.csv')).toBe('out.csv');
  });

  it('makes `usage export --output ""` a usage error naming --output, before the ledger is opened', async () => {
    let stdout = '';
    let stderr = '';
    const io = {
      stdout: (text: string) => void (stdout += text),
      stderr: (text: string) => void (stderr += text),
      credits: {
        openLedger: () => Promise.reject(new Error('the ledger was opened')),
      },
    };
    expect(await main(['node', 'credits', 'usage', 'export', 'acme', '--output', ''], io)).toBe(2);
    expect({ stdout, stderr }).toEqual({ stdout: '', stderr: "credits: option '--output <file>' argument '' is invalid. expected a file name, got an empty one (see --help)\n" });
  });
});
