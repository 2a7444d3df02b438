/**
 * Determinism guard: histories recorded from real runs (test/tools/record-replay-histories.ts)
 * replayed against today's workflow code. A change that would make a running account's
 * workflow take a different path fails here instead of in production.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Worker } from '@temporalio/worker';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { workflowBundle } from '../helpers/workflow-harness';
import { patchIds } from '../helpers/patch-markers';
import { CALL_PARTS_ROUNDED_ONCE_PATCH, END_LOST_CALLS_WHEN_FULL_PATCH, START_GUARD_PATCH, UPDATE_ANSWERS_PATCH, VOID_EXPIRES_WITH_GRANT_PATCH } from '../../workflows/account-credits';

const DIR = join(__dirname, '..', 'fixtures', 'histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

describe('replay of recorded histories', () => {
  it('has recorded histories to replay, including a continue-as-new at a reset, trial conversions (with a tier, before and after the conversion patch) and a ledger outage spilling its backlog, ledger batches of 1,000 entries, a busy account (its ledger linger and throttled balance, each on a timer before its on-step patch and with its steps after), updates refused between accepted ones past the history bound, target-value updates retried into the next run by update id after a guarded start, a full open-call table ending its lost calls, the usage of an ended trial voided, and a call across a reset rounded once', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'paid-growth-run1.json',
        'paid-growth-run2.json',
        'trial-conversion-run1.json',
        'trial-tier-prepatch-conversion-run1.json',
        'trial-tier-conversion-run1.json',
        'ledger-outage-run1.json',
        'ledger-outage-run2.json',
        'ledger-spill-run1.json',
        'ledger-batch-large-run1.json',
        'busy-account-run1.json',
        'busy-account-on-step-run1.json',
        'busy-account-linger-on-step-run1.json',
        'rejected-updates-run1.json',
        'update-retries-run1.json',
        'update-retries-run2.json',
        'full-call-table-run1.json',
        'void-after-trial-run1.json',
        'call-rounded-once-run1.json',
      ]),
    );
  });

  it('holds the update-retries runs on their patched paths: the guarded start in the first, the answers recalled in the second', () => {
    const patches = (f: string) => patchIds(historyFromJSON(JSON.parse(readFileSync(join(DIR, f), 'utf8'))));
    expect(patches('update-retries-run1.json')).toEqual(expect.arrayContaining([START_GUARD_PATCH, UPDATE_ANSWERS_PATCH]));
    expect(patches('update-retries-run2.json')).toContain(UPDATE_ANSWERS_PATCH);
    // A continued run opens from its carried state: it does not ask the ledger.
    expect(patches('update-retries-run2.json')).not.toContain(START_GUARD_PATCH);
  });

  it('holds the full-call-table run on its patched path', () => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(DIR, 'full-call-table-run1.json'), 'utf8')));
    expect(patchIds(history)).toContain(END_LOST_CALLS_WHEN_FULL_PATCH);
  });

  it.each([
    ['void-after-trial-run1.json', VOID_EXPIRES_WITH_GRANT_PATCH],
    ['call-rounded-once-run1.json', CALL_PARTS_ROUNDED_ONCE_PATCH],
  ])('holds %s on its patched path', (file, patch) => {
    const history = historyFromJSON(JSON.parse(readFileSync(join(DIR, file), 'utf8')));
    expect(patchIds(history)).toContain(patch);
  });

  it('replays every one without a nondeterminism error', async () => {
    const histories = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: historyFromJSON(JSON.parse(readFileSync(join(DIR, f), 'utf8'))) }));
    const results = [];
    for await (const result of Worker.runReplayHistories({ workflowBundle: await workflowBundle() }, histories)) {
      results.push({ workflowId: result.workflowId, error: result.error ? String(result.error) : undefined });
    }
    expect(results).toEqual(histories.map((h) => ({ workflowId: h.workflowId, error: undefined })));
  }, 120_000);
});
