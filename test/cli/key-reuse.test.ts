/**
 * A key reused with another payload (`payloadMismatch`) in `usage record` and `account grant`:
 * the account answers with the first use's outcome and applies nothing, so the CLI says the new
 * values were not applied and exits 1, in text and in JSON; a plain repeat stays exit 0.
 */
import { describe, expect, it } from 'vitest';
import { reportGrant } from '../../cli/account-commands';
import { CliFailure, EXIT_CODES } from '../../cli/io';
import { reportUsageRecord } from '../../cli/usage-commands';
import type { GrantCreditsResult, RecordUsageResult } from '../../domain/wire-contract';

/** Runs `print` with captured output; returns what it printed and the failure it ended with. */
function run(print: (io: { stdout: (t: string) => void; stderr: (t: string) => void }) => void): { stdout: string; failure?: CliFailure } {
  let stdout = '';
  try {
    print({ stdout: (t) => void (stdout += t), stderr: () => undefined });
  } catch (err) {
    if (!(err instanceof CliFailure)) throw err;
    return { stdout, failure: err };
  }
  return { stdout };
}

describe('usage record', () => {
  const first: RecordUsageResult = { accepted: true, credits: 5, balance: 995, duplicate: false };

  it('says a key first used for another usage was NOT recorded, and exits 1', () => {
    const mismatch = { ...first, duplicate: true, payloadMismatch: true };
    const text = run((io) => reportUsageRecord(io, false, mismatch, 'U1'));
    expect(text.stdout).toBe(
      'key U1 was already used for another usage (another feature, quantity or user): that first usage stands (accepted: 5 credits); this one was NOT recorded and nothing was charged for it: send it again with a new key\n',
    );
    expect(text.failure?.message).toBe('usage not recorded: key U1 was already used for another usage; send it again with a new key');
    expect(text.failure?.exitCode).toBe(EXIT_CODES.failure);
    const json = run((io) => reportUsageRecord(io, true, mismatch, 'U1'));
    expect(JSON.parse(json.stdout)).toEqual(mismatch);
    expect(json.failure?.exitCode).toBe(EXIT_CODES.failure);
    const refusedFirst = { accepted: false, reason: 'credits_exhausted', credits: 0, balance: 0, duplicate: true, payloadMismatch: true } as const;
    expect(run((io) => reportUsageRecord(io, false, refusedFirst, 'U2')).stdout).toMatch(/^key U2 .*: that first usage stands \(refused \(credits_exhausted\)\); this one was NOT recorded/);
  });

  it('keeps a plain repeat of the same usage a success', () => {
    expect(run((io) => reportUsageRecord(io, false, { ...first, duplicate: true }, 'U1'))).toEqual({
      stdout: 'accepted: 5 credits, balance 995 (repeat of key U1: nothing charged again)\n',
    });
  });
});

describe('account grant', () => {
  const asked = { accountId: 'acme', credits: 500, key: 'TICKET-9' };
  const first: GrantCreditsResult = { grantId: 'g3.01a20b43', expiresAt: '2027-01-03T00:00:00.000Z', duplicate: false };

  it('says a key first used for another grant granted nothing, and exits 1', () => {
    const mismatch = { ...first, duplicate: true, payloadMismatch: true };
    const text = run((io) => reportGrant(io, false, asked, mismatch));
    expect(text.stdout).toBe(
      'acme: key TICKET-9 was already used for another grant (other credits, reason or cycles): that grant g3.01a20b43 stands (expires 2027-01-03 00:00 UTC); these values were NOT applied and nothing was granted: use a new key for a new grant\n',
    );
    expect(text.failure?.message).toBe('nothing granted: key TICKET-9 was already used for grant g3.01a20b43, with other values; use a new key');
    expect(text.failure?.exitCode).toBe(EXIT_CODES.failure);
    const json = run((io) => reportGrant(io, true, asked, mismatch));
    expect(JSON.parse(json.stdout)).toEqual(mismatch);
    expect(json.failure?.exitCode).toBe(EXIT_CODES.failure);
  });

  it('keeps a plain repeat of the same grant a success', () => {
    expect(run((io) => reportGrant(io, false, asked, { ...first, duplicate: true }))).toEqual({
      stdout: 'acme: key TICKET-9 was already used for grant g3.01a20b43; nothing more granted\n',
    });
  });
});
