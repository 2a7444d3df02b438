/**
 * CSV export: columns, RFC 4180 quoting, kinds, and streaming with back-pressure. The store
 * here is a generator that makes entries on demand, so the test sees exactly how far the
 * export reads ahead of what the destination has taken.
 */
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { LedgerEntry } from '../../domain/effects';
import { CSV_COLUMNS, DEFAULT_EXPORT_KINDS, entryToCsvRow, exportUsageCsv, spreadsheetText } from '../../ledger/csv-export';
import type { EntryFilter, LedgerStore } from '../../ledger/store';
import { plainEntry, usageEntry } from './entry-fixtures';

/** A store over a fixed list, recording the filters it was asked for. */
function listStore(entries: LedgerEntry[], filters: EntryFilter[] = []): Pick<LedgerStore, 'streamEntries'> {
  return {
    async *streamEntries(filter) {
      filters.push(filter);
      yield* entries.filter((e) => filter.kinds === undefined || filter.kinds.includes(e.kind));
    },
  };
}

/** A writable collecting text. */
function textSink(): { sink: Writable; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { sink, text: () => chunks.join('') };
}

/**
 * Minimal RFC 4180 reader for checking round trips: quoted fields may hold commas, CRLF and
 * doubled quotes; records end with CRLF.
 */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      record.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      i += 1;
    } else field += c;
  }
  return records;
}

describe('CSV export', () => {
  it('writes the header and one row per usage entry, in the documented columns', async () => {
    const { sink, text } = textSink();
    const entry = usageEntry('acme', 7, {
      entryId: 'acme:01a2b3c4:7',
      debits: [
        { grantId: 'g-promo', credits: 1 },
        { grantId: 'g-included', credits: 3 },
      ],
      credits: 4,
    });
    expect(await exportUsageCsv(listStore([entry]), { accountId: 'acme' }, sink)).toEqual({ rows: 1 });
    expect(text()).toBe(
      `${CSV_COLUMNS.join(',')}\r\n` +
        '2026-06-03T00:07:00.000Z,acme,user-1,enrichment,2,field,4,g-promo:1;g-included:3,9986,accepted,,key-7,rules-v1,usage,1,acme:01a2b3c4:7,,,-4,01a2b3c4\r\n',
    );
  });

  it('quotes commas, quotes, CR and LF as RFC 4180 says, and reads back the same', async () => {
    const awkward = usageEntry('acme', 1, {
      userId: 'Doe, John',
      feature: 'say "hi"',
      idempotencyKey: 'line one\nline two',
      unit: 'carriage\rreturn',
      quantity: 0.000001,
    });
    const { sink, text } = textSink();
    await exportUsageCsv(listStore([awkward]), { accountId: 'acme' }, sink);
    const line = text().slice(text().indexOf('\r\n') + 2);
    expect(line).toContain(',"Doe, John","say ""hi""",0.000001,"carriage\rreturn",');
    expect(line).toContain(',"line one\nline two",');
    const [header, row] = parseCsv(text());
    expect(header).toEqual([...CSV_COLUMNS]);
    expect(row?.[2]).toBe('Doe, John');
    expect(row?.[3]).toBe('say "hi"');
    expect(row?.[5]).toBe('carriage\rreturn');
    expect(row?.[11]).toBe('line one\nline two');
    expect(row).toHaveLength(CSV_COLUMNS.length);
  });

  it('exports usage and calls by default, every kind on request, explicit kinds as given', async () => {
    const entries = [
      usageEntry('k', 1),
      usageEntry('k', 2, { kind: 'call_end', feature: 'voice_agent' }),
      usageEntry('k', 3, { kind: 'expiry', feature: undefined, credits: 700, decision: undefined }),
    ];
    const filters: EntryFilter[] = [];
    const count = async (filter: EntryFilter, allKinds?: boolean) =>
      (await exportUsageCsv(listStore(entries, filters), filter, textSink().sink, { allKinds })).rows;
    expect(await count({ accountId: 'k' })).toBe(2);
    expect(filters.at(-1)?.kinds).toEqual(DEFAULT_EXPORT_KINDS);
    expect(await count({ accountId: 'k' }, true)).toBe(3);
    expect(filters.at(-1)?.kinds).toBeUndefined();
    expect(await count({ accountId: 'k', kinds: ['expiry'] })).toBe(1);
  });

  it("exports a call's overage write-off with the grants, not with the usage, whose credits then sum to what was used", async () => {
    const overage = plainEntry('k', 4, {
      kind: 'call_overage',
      credits: 70,
      balanceAfter: 0,
      note: 'calls ran 70 credits past zero; written off when credits were added',
    });
    const call = usageEntry('k', 3, { kind: 'call_end', feature: 'voice-agent', unit: 'minute', quantity: 10, credits: 200 });
    const usage = textSink();
    expect(await exportUsageCsv(listStore([call, overage]), { accountId: 'k' }, usage.sink)).toEqual({ rows: 1 });
    // The call's row already holds the 200 credits it used, the 70 past zero among them.
    expect(parseCsv(usage.text()).slice(1).map((r) => Number(r[CSV_COLUMNS.indexOf('credits')]))).toEqual([200]);
    const { sink, text } = textSink();
    expect(await exportUsageCsv(listStore([call, overage]), { accountId: 'k' }, sink, { allKinds: true })).toEqual({ rows: 2 });
    const row = parseCsv(text())[2];
    expect(row?.[CSV_COLUMNS.indexOf('kind')]).toBe('call_overage');
    expect(row?.[CSV_COLUMNS.indexOf('credits')]).toBe('70');
    expect(row?.[CSV_COLUMNS.indexOf('balance_after')]).toBe('0');
    expect(row?.[CSV_COLUMNS.indexOf('note')]).toBe('calls ran 70 credits past zero; written off when credits were added');
  });

  it('streams: reads only a bounded number of entries ahead of a slow destination', async () => {
    const total = 20_000;
    let produced = 0;
    let mostAhead = 0;
    const store: Pick<LedgerStore, 'streamEntries'> = {
      async *streamEntries() {
        for (let seq = 1; seq <= total; seq += 1) {
          produced += 1;
          yield usageEntry('stream', seq);
        }
      },
    };
    // A slow destination (one tick per chunk) counting the records it has taken.
    let lines = 0;
    const counting = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _encoding, done) {
        lines += chunk.toString('utf8').split('\r\n').length - 1;
        mostAhead = Math.max(mostAhead, produced - lines);
        setImmediate(done);
      },
    });
    const result = await exportUsageCsv(store, { accountId: 'stream' }, counting);
    expect(result.rows).toBe(total);
    expect(lines).toBe(total + 1);
    // Stream buffers (16 objects each side, 16 KiB of text) hold about 150 rows: never the history.
    expect(mostAhead).toBeLessThan(1_000);
  });
});

describe('CSV export: no cell runs as a formula', () => {
  const column = (name: (typeof CSV_COLUMNS)[number]) => CSV_COLUMNS.indexOf(name);
  const NUMERIC = new Set(['quantity', 'credits', 'balance_after', 'cycle', 'amount_cents', 'balance_change']);

  it.each([
    ['=HYPERLINK("http://evil.example","x")'],
    ['+1+1'],
    ['-2+3+cmd|\' /C calc\'!A0'],
    ['@SUM(A1:A9)'],
    ['\t=1'],
    ['\r=1'],
    ['-5'],
  ])('a text cell %j gets a leading single quote', async (value) => {
    const entry = usageEntry('acme', 1, { userId: value, feature: value, unit: value, idempotencyKey: value, note: value, reason: undefined });
    const { sink, text } = textSink();
    await exportUsageCsv(listStore([entry]), { accountId: 'acme' }, sink);
    const [, row] = parseCsv(text());
    for (const name of ['user', 'feature', 'unit', 'idempotency_key', 'note'] as const) expect(row?.[column(name)]).toBe(`'${value}`);
  });

  it('leaves text that starts otherwise as it is', () => {
    for (const value of ['enrichment', 'a=b', 'user-1', ' =1', '1-2', '']) expect(spreadsheetText(value)).toBe(value);
  });

  it('escapes a value that starts with the escape quote itself, so two values never export alike', () => {
    expect(spreadsheetText('-k')).toBe("'-k");
    expect(spreadsheetText("'-k")).toBe("''-k");
    expect(spreadsheetText("'quoted")).toBe("''quoted");
    // Dropping one leading quote gives back what was written.
    const undo = (cell: string) => (cell.startsWith("'") ? cell.slice(1) : cell);
    fc.assert(fc.property(fc.string(), (value) => undo(spreadsheetText(value)) === value));
  });

  it('keeps negative numbers in numeric columns as numbers: a void reverses its usage', async () => {
    const usage = usageEntry('acme', 1, { credits: 5, quantity: 2.5 });
    const reversal = usageEntry('acme', 2, {
      kind: 'void',
      credits: -5,
      quantity: -2.5,
      balanceAfter: -3,
      decision: undefined,
      idempotencyKey: 'key-1',
      debits: [{ grantId: 'g1.e1', credits: -5 }],
      note: 'voided: charged twice',
    });
    const { sink, text } = textSink();
    // Voids are part of the default (usage) export.
    expect(await exportUsageCsv(listStore([usage, reversal]), { accountId: 'acme' }, sink)).toEqual({ rows: 2 });
    const [, first, second] = parseCsv(text());
    expect(second?.[column('kind')]).toBe('void');
    expect(second?.[column('credits')]).toBe('-5');
    expect(second?.[column('quantity')]).toBe('-2.5');
    expect(second?.[column('balance_after')]).toBe('-3');
    expect(second?.[column('grant_debited')]).toBe('g1.e1:-5');
    expect(second?.[column('idempotency_key')]).toBe(first?.[column('idempotency_key')]);
    expect(Number(first?.[column('credits')]) + Number(second?.[column('credits')])).toBe(0);
    expect(entryToCsvRow(usageEntry('acme', 3, { amountCents: -100 }))[column('amount_cents')]).toBe('-100');
  });

  it('any text in any text column comes out safe, and reads back as the text after the added quote', () => {
    const dangerous = fc.oneof(fc.constantFrom('=', '+', '-', '@', '\t', '\r', "'", '').chain((head) => fc.string().map((rest) => `${head}${rest}`)), fc.string());
    fc.assert(
      fc.property(dangerous, (value) => {
        const row = entryToCsvRow(usageEntry('acme', 1, { userId: value, feature: value, unit: value, idempotencyKey: value, note: value, rulesVersion: value }));
        CSV_COLUMNS.forEach((name, i) => {
          const cell = row[i] ?? '';
          if (NUMERIC.has(name)) {
            expect(Number.isFinite(Number(cell))).toBe(true);
            return;
          }
          expect(cell).not.toMatch(/^[=+\-@\t\r]/);
        });
        // A value starting with the escape quote itself gets one more, so it reads back too.
        expect(row[column('user')]).toBe(/^[=+\-@\t\r']/.test(value) ? `'${value}` : value);
      }),
    );
  });
});
