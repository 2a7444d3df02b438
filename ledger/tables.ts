/**
 * The ledger's three tables described column by column (see `table-spec.ts`): the entries
 * the workflow appends, the charges the billing record keeps, and the in-app notifications.
 */
import { LEDGER_KINDS, type AlertNotice, type ChargeRequest, type LedgerEntry } from '../domain/effects';
import { USAGE_REJECTIONS } from '../domain/wire-contract';
import { GRANT_SOURCES } from '../ruleset/types';
import type { TableSpec } from './table-spec';

/** Why a usage or call was refused (the call-only reason added to the usage ones). */
const REJECTION_REASONS: readonly string[] = [...USAGE_REJECTIONS, 'agent_inactive', 'too_many_open_calls'];

function checkDebits(value: unknown): string | null {
  const ok =
    Array.isArray(value) &&
    value.every(
      (d: unknown) =>
        typeof d === 'object' &&
        d !== null &&
        typeof (d as { grantId?: unknown }).grantId === 'string' &&
        Number.isSafeInteger((d as { credits?: unknown }).credits),
    );
  return ok ? null : 'must be a list of { grantId: string, credits: integer }';
}

function checkAdmins(value: unknown): string | null {
  return Array.isArray(value) && value.every((a) => typeof a === 'string') ? null : 'must be a list of e-mail addresses';
}

/** An alert's trial: `{endsAt}`, an instant or null. */
function checkTrial(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be {"endsAt": instant or null}';
  const keys = Object.keys(value);
  const endsAt = (value as { endsAt?: unknown }).endsAt;
  const fits = keys.length === 1 && keys[0] === 'endsAt' && (endsAt === null || (typeof endsAt === 'string' && !Number.isNaN(Date.parse(endsAt))));
  return fits ? null : 'must be {"endsAt": instant or null}';
}

/** `ledger_entries`: every LedgerEntry field in its own column. */
export const ENTRY_TABLE: TableSpec<LedgerEntry> = {
  table: 'ledger_entries',
  key: 'entry_id',
  what: 'ledger entry',
  columns: [
    { field: 'entryId', column: 'entry_id', type: 'text' },
    { field: 'accountId', column: 'account_id', type: 'text' },
    { field: 'seq', column: 'seq', type: 'bigint', min: 0 },
    { field: 'at', column: 'at', type: 'timestamptz' },
    { field: 'kind', column: 'kind', type: 'text', oneOf: LEDGER_KINDS },
    { field: 'cycleIndex', column: 'cycle_index', type: 'integer', min: 0 },
    { field: 'credits', column: 'credits', type: 'bigint' },
    { field: 'balanceAfter', column: 'balance_after', type: 'bigint' },
    { field: 'rulesVersion', column: 'rules_version', type: 'text' },
    { field: 'feature', column: 'feature', type: 'text', optional: true },
    { field: 'quantity', column: 'quantity', type: 'float', optional: true },
    { field: 'unit', column: 'unit', type: 'text', optional: true },
    { field: 'userId', column: 'user_id', type: 'text', optional: true },
    { field: 'idempotencyKey', column: 'idempotency_key', type: 'text', optional: true },
    { field: 'decision', column: 'decision', type: 'text', optional: true, oneOf: ['accepted', 'rejected'] },
    { field: 'reason', column: 'reason', type: 'text', optional: true, oneOf: REJECTION_REASONS },
    { field: 'debits', column: 'debits', type: 'jsonb', optional: true, check: checkDebits },
    { field: 'grantId', column: 'grant_id', type: 'text', optional: true },
    { field: 'source', column: 'source', type: 'text', optional: true, oneOf: GRANT_SOURCES },
    { field: 'amountCents', column: 'amount_cents', type: 'bigint', optional: true },
    { field: 'callId', column: 'call_id', type: 'text', optional: true },
    { field: 'agentId', column: 'agent_id', type: 'text', optional: true },
    { field: 'note', column: 'note', type: 'text', optional: true },
  ],
};

/** `charges`: the billing record, one row per charge id. */
export const CHARGE_TABLE: TableSpec<ChargeRequest> = {
  table: 'charges',
  key: 'charge_id',
  what: 'charge',
  columns: [
    { field: 'chargeId', column: 'charge_id', type: 'text' },
    { field: 'accountId', column: 'account_id', type: 'text' },
    { field: 'at', column: 'at', type: 'timestamptz' },
    { field: 'tierId', column: 'tier_id', type: 'text' },
    { field: 'amountCents', column: 'amount_cents', type: 'bigint', min: 0 },
    { field: 'currency', column: 'currency', type: 'text' },
    { field: 'reason', column: 'reason', type: 'text', oneOf: ['cycle_start', 'purchase', 'upgrade'] },
    { field: 'cycleIndex', column: 'cycle_index', type: 'integer', min: 0 },
    { field: 'rulesVersion', column: 'rules_version', type: 'text' },
    { field: 'paidThrough', column: 'paid_through', type: 'timestamptz', optional: true },
  ],
};

/** `notifications`: the in-app copy of every low-credit alert. */
export const NOTIFICATION_TABLE: TableSpec<AlertNotice> = {
  table: 'notifications',
  key: 'alert_id',
  what: 'alert',
  columns: [
    { field: 'alertId', column: 'alert_id', type: 'text' },
    { field: 'accountId', column: 'account_id', type: 'text' },
    { field: 'at', column: 'at', type: 'timestamptz' },
    { field: 'state', column: 'state', type: 'text', oneOf: ['warning', 'exhausted'] },
    { field: 'cycleIndex', column: 'cycle_index', type: 'integer', min: 0 },
    { field: 'cycleEnd', column: 'cycle_end', type: 'timestamptz' },
    { field: 'available', column: 'available', type: 'bigint' },
    { field: 'granted', column: 'granted', type: 'bigint' },
    { field: 'used', column: 'used', type: 'bigint' },
    { field: 'projectedRunOutAt', column: 'projected_run_out_at', type: 'timestamptz', nullable: true },
    { field: 'rulesVersion', column: 'rules_version', type: 'text' },
    { field: 'admins', column: 'admins', type: 'jsonb', check: checkAdmins },
    { field: 'trial', column: 'trial', type: 'jsonb', optional: true, check: checkTrial },
  ],
};
