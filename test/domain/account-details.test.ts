/**
 * Account details on a running account (issue 9, item 8): admins and tags are replaced, each
 * change writes a ledger entry, and a tag added while a promotion is open grants it at once,
 * once, expiring at the promotion window's end.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CreditAccount } from '../../domain/account';
import type { LedgerEntry } from '../../domain/effects';
import type { AccountStartInput } from '../../domain/wire-contract';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const ANCHOR = '2026-06-03T00:00:00.000Z';
const at = (when: string) => Date.parse(when);
const open = (over: Partial<AccountStartInput> = {}, now = at('2026-06-10T12:00:00.000Z')) =>
  CreditAccount.open({ accountId: 'acme', plan: 'growth', users: 2, cycleAnchor: ANCHOR, ...over }, rules, now, 'e1');

function entries(a: CreditAccount, kind: LedgerEntry['kind']): LedgerEntry[] {
  return a.state.outbox.flatMap((e) => (e.type === 'ledger' && e.entry.kind === kind ? [e.entry] : []));
}
const promotions = (a: CreditAccount) => a.state.grants.filter((g) => g.source === 'promotion');

describe('setAdmins', () => {
  it('replaces the list (repeats kept once) and logs what was added and removed', () => {
    const a = open({ admins: ['old@acme.test', 'keep@acme.test'] });
    const t = at('2026-06-11T00:00:00.000Z');
    expect(a.setAdmins(['keep@acme.test', 'new@acme.test', 'new@acme.test'], t)).toEqual({ admins: ['keep@acme.test', 'new@acme.test'], changed: true });
    expect(a.summary(t).admins).toEqual(['keep@acme.test', 'new@acme.test']);
    expect(entries(a, 'admins_change')).toMatchObject([{ credits: 0, at: '2026-06-11T00:00:00.000Z', note: 'admins: added new@acme.test; removed old@acme.test' }]);
  });

  it('the same admins in another order change nothing and log nothing', () => {
    const a = open({ admins: ['a@acme.test', 'b@acme.test'] });
    expect(a.setAdmins(['b@acme.test', 'a@acme.test'], at('2026-06-11T00:00:00.000Z'))).toEqual({ admins: ['a@acme.test', 'b@acme.test'], changed: false });
    expect(entries(a, 'admins_change')).toEqual([]);
  });

  it('an empty list removes every admin', () => {
    const a = open({ admins: ['a@acme.test'] });
    expect(a.setAdmins([], at('2026-06-11T00:00:00.000Z'))).toEqual({ admins: [], changed: true });
    expect(entries(a, 'admins_change')[0]?.note).toBe('admins: added none; removed a@acme.test');
  });

  it('the next low-credit alert goes to the new admins', () => {
    const a = open({ plan: 'solo', users: 1, admins: ['old@acme.test'] });
    const t = at('2026-06-11T00:00:00.000Z');
    a.setAdmins(['new@acme.test'], t);
    a.recordUsage({ feature: 'enrichment', quantity: 500, idempotencyKey: 'all' }, t);
    const alerts = a.state.outbox.flatMap((e) => (e.type === 'alert' ? [e.alert] : []));
    expect(alerts.length).toBeGreaterThan(0);
    for (const alert of alerts) expect(alert.admins).toEqual(['new@acme.test']);
  });
});

describe('setTags', () => {
  it('a tag added inside the promotion window grants the promotion at once, expiring at the window end, once', () => {
    const a = open();
    expect(promotions(a)).toEqual([]);
    const t = at('2026-06-20T00:00:00.000Z');
    const before = a.available();
    expect(a.setTags(['chloe-beta', 'emea'], t)).toEqual({ tags: ['chloe-beta', 'emea'], changed: true, promotionsGranted: ['chloe-beta-2026'], creditsGranted: 100_000 });
    expect(promotions(a)).toMatchObject([{ amount: 100_000, grantedAt: '2026-06-20T00:00:00.000Z', expiresAt: '2026-08-03T00:00:00.000Z' }]);
    expect(a.available()).toBe(before + 100_000);
    expect(a.available()).toBe(a.state.cycleGranted - a.state.cycleUsed);
    // The promotion's credits are on its grant entry only: the change entry moves none.
    expect(entries(a, 'tags_change')).toMatchObject([{ credits: 0, note: 'tags: added chloe-beta, emea; removed none; promotion chloe-beta-2026 granted' }]);

    // Removed and added again: never granted twice, and removing takes nothing back.
    expect(a.setTags([], t)).toMatchObject({ tags: [], changed: true, promotionsGranted: [], creditsGranted: 0 });
    expect(promotions(a)).toHaveLength(1);
    expect(a.setTags(['chloe-beta'], t)).toMatchObject({ promotionsGranted: [], creditsGranted: 0 });
    a.startNextCycle(rules);
    expect(promotions(a)).toHaveLength(1);
  });

  it('a tag added in the second cycle of the window grants it until the window ends', () => {
    const a = open({}, at('2026-06-04T00:00:00.000Z'));
    a.startNextCycle(rules); // Jul 3
    expect(a.setTags(['chloe-beta'], at('2026-07-20T00:00:00.000Z')).creditsGranted).toBe(100_000);
    expect(promotions(a)[0]?.expiresAt).toBe('2026-08-03T00:00:00.000Z');
  });

  it('a tag added before the window grants nothing now, and the promotion at the window start', () => {
    const a = open({ cycleAnchor: '2026-05-03T00:00:00.000Z' }, at('2026-05-10T00:00:00.000Z'));
    expect(a.setTags(['chloe-beta'], at('2026-05-20T00:00:00.000Z'))).toMatchObject({ changed: true, promotionsGranted: [], creditsGranted: 0 });
    expect(promotions(a)).toEqual([]);
    a.startNextCycle(rules); // Jun 3: the window opens
    expect(promotions(a)).toMatchObject([{ expiresAt: '2026-08-03T00:00:00.000Z' }]);
  });

  it('a tag added after the window grants nothing', () => {
    const a = open({}, at('2026-08-04T00:00:00.000Z'));
    expect(a.setTags(['chloe-beta'], at('2026-08-10T00:00:00.000Z'))).toMatchObject({ changed: true, promotionsGranted: [], creditsGranted: 0 });
    expect(promotions(a)).toEqual([]);
  });

  it('the same tags change nothing and log nothing', () => {
    const a = open({ tags: ['x', 'y'] });
    expect(a.setTags(['y', 'x', 'x'], at('2026-06-11T00:00:00.000Z'))).toEqual({ tags: ['x', 'y'], changed: false, promotionsGranted: [], creditsGranted: 0 });
    expect(entries(a, 'tags_change')).toEqual([]);
  });
});

describe('setTags: properties', () => {
  it('whatever tags come and go, and whenever, the promotion is granted at most once, inside its window, until its end', () => {
    const windowStart = at('2026-06-03T00:00:00.000Z');
    const windowEnd = '2026-08-03T00:00:00.000Z';
    const step = fc.oneof(
      { weight: 4, arbitrary: fc.record({ tags: fc.subarray(['chloe-beta', 'emea', 'vip']), day: fc.integer({ min: 0, max: 29 }) }) },
      { weight: 1, arbitrary: fc.constant('reset' as const) },
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 12 }), (steps) => {
        const a = open({ cycleAnchor: '2026-05-03T00:00:00.000Z' }, at('2026-05-04T00:00:00.000Z'));
        for (const st of steps) {
          if (st === 'reset') {
            a.startNextCycle(rules);
            continue;
          }
          const when = Date.parse(a.state.cycle.start) + st.day * 86_400_000;
          const result = a.setTags(st.tags, when);
          if (result.creditsGranted > 0) {
            expect(when).toBeGreaterThanOrEqual(windowStart);
            expect(when).toBeLessThan(Date.parse(windowEnd));
          }
          expect(a.available()).toBe(a.state.cycleGranted - a.state.cycleUsed);
        }
        const promos = a.state.grants.filter((g) => g.source === 'promotion');
        expect(promos.length).toBeLessThanOrEqual(1);
        for (const p of promos) expect(p.expiresAt).toBe(windowEnd);
        expect(a.state.promotionsGranted.length).toBeLessThanOrEqual(1);
      }),
      { numRuns: 200 },
    );
  });
});
