/**
 * Ledger throughput benchmark (a script, not a test): appends N usage entries in batches the
 * way the account workflow does, replays one batch to show idempotency costs nothing extra,
 * then exports them all as CSV into a byte-counting sink. Prints throughput and peak RSS.
 *
 *   npm run bench:ledger -- [--entries 100000] [--batch 500] [--url pglite:/tmp/x | postgres://...]
 *
 * Without --url it uses CREDITS_LEDGER_URL, else a fresh embedded database in a temp directory
 * (removed afterwards).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { formatCount } from '../display';
import type { LedgerEntry } from '../domain/effects';
import { CREDITS_LEDGER_URL } from '../infra/settings';
import { exportUsageCsv } from '../ledger/csv-export';
import { openLedgerStore } from '../ledger/open-store';

const { values } = parseArgs({
  options: {
    entries: { type: 'string', default: '100000' },
    batch: { type: 'string', default: '500' },
    url: { type: 'string' },
  },
});
const total = Number(values.entries);
const batchSize = Number(values.batch);
if (!Number.isSafeInteger(total) || total < 1 || !Number.isSafeInteger(batchSize) || batchSize < 1) {
  console.error('--entries and --batch must be positive integers');
  process.exit(2);
}

const configured = values.url ?? CREDITS_LEDGER_URL.read();
const scratch = configured ? null : mkdtempSync(join(tmpdir(), 'ledger-bench-'));
const url = configured ?? `pglite:${join(scratch ?? '', 'ledger')}`;
const accountId = `bench-${Date.now()}`;
const start = Date.parse('2026-06-03T00:00:00.000Z');

function entry(seq: number): LedgerEntry {
  return {
    entryId: `${accountId}:${seq}`,
    accountId,
    seq,
    at: new Date(start + seq * 1000).toISOString(),
    kind: 'usage',
    cycleIndex: 0,
    credits: 1,
    balanceAfter: total - seq,
    rulesVersion: 'bench',
    feature: 'enrichment',
    quantity: 1,
    unit: 'field',
    userId: `user-${seq % 10}`,
    idempotencyKey: `usage-${seq}`,
    decision: 'accepted',
    debits: [{ grantId: 'included-0', credits: 1 }],
  };
}

function rate(count: number, ms: number): string {
  return `${formatCount(Math.round((count / ms) * 1000))}/s`;
}

async function main(): Promise<void> {
  const opened = performance.now();
  const store = await openLedgerStore({ url });
  console.log(`ledger: ${store.label} (opened in ${Math.round(performance.now() - opened)} ms)`);
  try {
    let written = 0;
    const appendStart = performance.now();
    for (let first = 1; first <= total; first += batchSize) {
      const batch: LedgerEntry[] = [];
      for (let seq = first; seq < first + batchSize && seq <= total; seq += 1) batch.push(entry(seq));
      written += await store.appendEntries(batch);
    }
    const appendMs = performance.now() - appendStart;
    console.log(`append: ${written} entries in batches of ${batchSize}: ${Math.round(appendMs)} ms, ${rate(written, appendMs)}`);

    const replay = Array.from({ length: Math.min(batchSize, total) }, (_, i) => entry(i + 1));
    const replayStart = performance.now();
    const rewritten = await store.appendEntries(replay);
    console.log(`replayed batch: ${rewritten} written (expected 0), ${Math.round(performance.now() - replayStart)} ms`);

    let bytes = 0;
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        bytes += chunk.length;
        done();
      },
    });
    const exportStart = performance.now();
    const { rows } = await exportUsageCsv(store, { accountId }, sink);
    const exportMs = performance.now() - exportStart;
    console.log(`export: ${rows} rows, ${(bytes / 1e6).toFixed(1)} MB of CSV: ${Math.round(exportMs)} ms, ${rate(rows, exportMs)}`);
  } finally {
    await store.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
  // maxRSS is the process's high-water mark in KiB, so nothing is missed between samples.
  console.log(`peak RSS: ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
