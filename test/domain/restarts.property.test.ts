/**
 * Restarts at random, at the domain level as the workflow runs them: histories of usage, tier
 * and users changes, trial conversions and resets, with closed accounts started again on the
 * same or another calendar (the ledger's restart facts read from the billing record so far,
 * which keeps the first charge of an id as the real store does). Nothing may be granted under
 * a charge id the record already holds for another tier or amount, and no renewal may be
 * charged while an earlier workflow's charge still pays for over half of its period (a tier
 * bought in between excepted: it renews at the next reset, as any upgrade does).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CreditAccount } from '../../domain/account';
import type { ChargeRequest } from '../../domain/effects';
import { cycleContaining } from '../../domain/calendar';
import { restartHistoryOf } from '../../ledger/restart-history';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const OPENED = Date.parse('2026-07-20T09:30:00.000Z');
type Step =
  | { t: 'wait'; hours: number }
  | { t: 'usage'; q: number }
  | { t: 'tier'; tier: string | null }
  | { t: 'users'; n: number }
  | { t: 'convert'; share: number }
  | { t: 'restart'; anchorDaysBack: number; sameAnchor: boolean; tier: string | null };
const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ t: fc.constant('wait' as const), hours: fc.integer({ min: 1, max: 24 * 40 }) }) },
  fc.record({ t: fc.constant('usage' as const), q: fc.integer({ min: 1, max: 3000 }) }),
  { weight: 2, arbitrary: fc.record({ t: fc.constant('tier' as const), tier: fc.option(fc.constantFrom('tier-1', 'tier-2', 'tier-5')) }) },
  fc.record({ t: fc.constant('users' as const), n: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ t: fc.constant('convert' as const), share: fc.double({ min: 0, max: 1, noNaN: true }) }),
  { weight: 2, arbitrary: fc.record({ t: fc.constant('restart' as const), anchorDaysBack: fc.integer({ min: 0, max: 60 }), sameAnchor: fc.boolean(), tier: fc.option(fc.constantFrom('tier-1', 'tier-2', 'tier-5')) }) },
);

describe('restart histories', () => {
  it('charge each paid period once', () => {
    fc.assert(
      fc.property(fc.boolean(), fc.option(fc.constantFrom('tier-1', 'tier-2')), fc.integer({ min: 0, max: 40 }), fc.array(step, { maxLength: 25 }), (trial, tier, back, steps) => {
        let now = OPENED;
        let epochN = 1;
        const billing = new Map<string, ChargeRequest>();
        const dupes: string[] = [];
        const drain = (a: CreditAccount) => {
          for (const e of a.state.outbox) {
            if (e.type !== 'charge') continue;
            const prev = billing.get(e.charge.chargeId);
            if (prev) {
              if (prev.tierId !== e.charge.tierId || prev.amountCents !== e.charge.amountCents) dupes.push(`${e.charge.chargeId}: ${prev.tierId} kept, ${e.charge.tierId} not charged`);
            } else billing.set(e.charge.chargeId, e.charge);
          }
          a.state.outbox.length = 0;
        };
        let a = CreditAccount.open({ accountId: 'p', plan: 'growth', users: 3, ...(trial ? { trial: true } : {}), cycleAnchor: new Date(OPENED - back * DAY).toISOString(), ...(tier ? { creditTier: tier } : {}) }, rules, now, `e${epochN}`);
        drain(a);
        const trace: string[] = [];
        for (const s of steps) {
          trace.push(JSON.stringify(s));
          try {
            if (s.t === 'wait') {
              now += s.hours * HOUR;
              while (now >= Date.parse(a.state.cycle.end)) { a.startNextCycle(rules); drain(a); }
              a.expireGrants(now);
            } else if (s.t === 'usage') a.recordUsage({ feature: 'enrichment', quantity: s.q, idempotencyKey: `u${trace.length}` }, now);
            else if (s.t === 'tier') a.changeCreditTier(s.tier, now);
            else if (s.t === 'users') a.setUsers(s.n, now);
            else if (s.t === 'convert' && a.state.trial) {
              const start = Date.parse(a.trialStartedAt() ?? '');
              a.convertTrial('growth', rules, now, new Date(Math.floor(start + s.share * (now - start))).toISOString());
            } else if (s.t === 'restart') {
              now += HOUR;
              const anchor = s.sameAnchor ? a.state.anchor : new Date(now - s.anchorDaysBack * DAY).toISOString();
              const period = cycleContaining(anchor, now);
              const history = restartHistoryOf([], [...billing.values()], { start: period.start, at: new Date(now).toISOString() }, () => undefined);
              const paidTier = history.paidThisPeriod?.tierId;
              const t = paidTier ?? s.tier;
              epochN += 1;
              a = CreditAccount.open({ accountId: 'p', plan: a.state.planId, users: a.state.users, cycleAnchor: anchor, ...(t ? { creditTier: t } : {}), restartClosed: true } as never, rules, now, `e${epochN}`, history);
            }
          } catch (err) {
            trace.push(`  threw ${(err as Error).message}`);
          }
          drain(a);
        }
        // A charge id reused for another tier or amount: granted, never billed.
        const found = [...dupes];
        // A renewal or purchase charged inside more than half of an earlier charge's paid period.
        const cs = [...billing.values()].sort((x, y) => Date.parse(x.at) - Date.parse(y.at));
        for (let i = 0; i < cs.length; i++) for (let j = i + 1; j < cs.length; j++) {
          const [p, q] = [cs[i]!, cs[j]!];
          if (q.reason === 'upgrade' || q.reason === 'purchase' || !p.paidThrough || !q.paidThrough) continue;
          if (p.chargeId.split(':')[1] === q.chargeId.split(':')[1] && p.reason !== 'cycle_start') continue;
          // A tier bought after p (a purchase or an upgrade) ends p's hold on renewals: the tier
          // bought renews at the next reset, as any upgrade's does (the help page's alignment).
          if (cs.some((c) => c.reason !== 'cycle_start' && Date.parse(c.at) >= Date.parse(p.at) && Date.parse(c.at) < Date.parse(q.at))) continue;
          const overlap = Date.parse(p.paidThrough) - Date.parse(q.at);
          const len = Date.parse(q.paidThrough) - Date.parse(q.at);
          if (overlap > len / 2) found.push(`${q.chargeId} (${q.at}) overlaps ${p.chargeId} paid through ${p.paidThrough} by ${(overlap / DAY).toFixed(1)}d of ${(len / DAY).toFixed(1)}d`);
        }
        expect(found, trace.join('\n')).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});
