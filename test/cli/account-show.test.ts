/**
 * `credits account show`'s text, from summaries the credit domain makes (no server): what ops
 * must read off the tier line.
 */
import { describe, expect, it } from 'vitest';
import { CreditAccount } from '../../domain/account';
import { formatAccountSummary } from '../../cli/account-show';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const ANCHOR = '2026-06-03T00:00:00.000Z';

const tierLine = (a: CreditAccount, nowMs: number): string | undefined =>
  formatAccountSummary(a.summary(nowMs)).find((line) => line.trimStart().startsWith('Credit tier'));

describe('the tier line', () => {
  it('says how long a tier bought in a trial is paid for when that outlasts the cycle, and when it is next charged', () => {
    const start = Date.parse('2026-06-05T00:00:00.000Z');
    const a = CreditAccount.open({ accountId: 'acme', plan: 'growth', users: 1, cycleAnchor: ANCHOR, trial: true, creditTier: 'tier-2' }, rules, start, 'e1');
    // Converted on Jun 20 with the paid calendar from Jun 5: the trial's Jun 3 - Jul 3 charge
    // pays for the tier through the first paid cycle's end, Jul 5.
    const convertAt = Date.parse('2026-06-20T00:00:00.000Z');
    a.convertTrial('growth', rules, convertAt, '2026-06-05T00:00:00.000Z');
    expect(a.summary(convertAt).cycle.end).toBe('2026-07-05T00:00:00.000Z');
    // The trial's cycle ended first: the paid cycle is the later end, and nothing more is shown.
    expect(tierLine(a, convertAt)).toMatch(/Credit tier +Tier 2: \$50\.00\/month for 3,200 credits$/);

    const late = CreditAccount.open({ accountId: 'acme', plan: 'growth', users: 1, cycleAnchor: ANCHOR, trial: true, creditTier: 'tier-2' }, rules, start, 'e1');
    late.startNextCycle(rules); // the trial's tier renewed on Jul 3, paid through Aug 3
    const lateAt = Date.parse('2026-07-03T00:00:02.000Z');
    late.convertTrial('growth', rules, lateAt, '2026-06-05T00:00:00.000Z');
    expect(late.summary(lateAt).cycle.end).toBe('2026-07-05T00:00:00.000Z');
    // The Jul 5 - Aug 5 cycle is paid for all but two days: granted without a charge, and the
    // tier next charged at its end.
    expect(tierLine(late, lateAt)).toMatch(/Credit tier +Tier 2: \$50\.00\/month for 3,200 credits, paid through 2026-08-03 00:00 UTC; next charged 2026-08-05 00:00 UTC$/);
    // Cancelled at the reset: no next charge is named.
    late.changeCreditTier(null, lateAt + 1000);
    expect(late.summary(lateAt + 1000).tier?.nextChargeAt).toBeUndefined();
    expect(tierLine(late, lateAt + 1000)).toMatch(/paid through 2026-08-03 00:00 UTC \(cancelled on 2026-07-05 00:00 UTC\)$/);
  });
});
