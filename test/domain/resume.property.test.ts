/**
 * The property continue-as-new relies on: running a stream of events straight through gives
 * the same answers and the same final state as running it split at any point, with the state
 * carried across the split as JSON (exactly what continue-as-new does to it).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { CreditAccount, type AccountState } from '../../domain/account';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const HOUR = 3_600_000;

type Event =
  | { t: 'usage'; feature: string; quantity: number; key: string }
  | { t: 'call'; callId: string; minutes: number }
  | { t: 'users'; users: number }
  | { t: 'plan'; plan: string }
  | { t: 'tier'; tier: string | null }
  | { t: 'grant'; credits: number; cycles: number; key: string }
  | { t: 'toggle'; enabled: boolean }
  | { t: 'wait'; hours: number };

const event: fc.Arbitrary<Event> = fc.oneof(
  fc.record({
    t: fc.constant('usage' as const),
    feature: fc.constantFrom('enrichment', 'auto-updates', 'notetaker', 'lead-summaries', 'sms'),
    quantity: fc.integer({ min: 1, max: 4000 }).map((n) => n / 4),
    key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
  }),
  fc.record({ t: fc.constant('call' as const), callId: fc.constantFrom('c1', 'c2', 'c3'), minutes: fc.integer({ min: 1, max: 600 }).map((n) => n / 10) }),
  fc.record({ t: fc.constant('users' as const), users: fc.integer({ min: 1, max: 15 }) }),
  fc.record({ t: fc.constant('plan' as const), plan: fc.constantFrom('solo', 'essentials', 'growth', 'scale') }),
  fc.record({ t: fc.constant('tier' as const), tier: fc.constantFrom(null, 'tier-1', 'tier-3', 'tier-6') }),
  fc.record({ t: fc.constant('grant' as const), credits: fc.integer({ min: 1, max: 5000 }), cycles: fc.integer({ min: 1, max: 3 }), key: fc.constantFrom('g1', 'g2', 'g3') }),
  fc.record({ t: fc.constant('toggle' as const), enabled: fc.boolean() }),
  fc.record({ t: fc.constant('wait' as const), hours: fc.integer({ min: 1, max: 24 * 45 }) }),
);

/** Apply one event as the workflow would: time first (cycle resets), then the command. */
function apply(account: CreditAccount, e: Event, clock: { now: number }): unknown {
  if (e.t === 'wait') {
    clock.now += e.hours * HOUR;
    while (clock.now >= Date.parse(account.state.cycle.end)) account.startNextCycle(rules);
    account.expireGrants(clock.now);
    return account.summary(clock.now);
  }
  const now = clock.now;
  switch (e.t) {
    case 'usage':
      return account.recordUsage({ feature: e.feature, quantity: e.quantity, idempotencyKey: e.key }, now);
    case 'call':
      // Each call id is started once and ended once; repeats return the remembered answers.
      return e.callId in account.state.openCalls
        ? account.endCall({ callId: e.callId, minutes: e.minutes }, now)
        : account.startCall({ callId: e.callId, agentId: 'chloe' }, now);
    case 'users':
      return account.setUsers(e.users, now);
    case 'plan':
      return account.changePlan(e.plan, now);
    case 'tier':
      return account.changeCreditTier(e.tier, now);
    case 'grant':
      return account.grantCredits({ credits: e.credits, reason: 'ops', validForCycles: e.cycles, idempotencyKey: e.key }, now);
    case 'toggle':
      return account.setFeatureEnabled('enrichment', e.enabled, now);
  }
}

function openAccount(): { account: CreditAccount; clock: { now: number } } {
  const clock = { now: Date.parse('2026-06-10T09:00:00.000Z') };
  const account = CreditAccount.open(
    { accountId: 'prop', plan: 'growth', users: 3, cycleAnchor: '2026-05-31T08:00:00.000Z', tags: ['chloe-beta'], admins: ['a@x.io'] },
    rules,
    clock.now,
    'e1',
  );
  return { account, clock };
}

describe('resume from carried state', () => {
  it('one run equals the same stream split at any point and resumed', () => {
    fc.assert(
      fc.property(fc.array(event, { minLength: 1, maxLength: 60 }), fc.nat(), (events, cut) => {
        const split = cut % (events.length + 1);

        const straight = openAccount();
        const straightAnswers = events.map((e) => apply(straight.account, e, straight.clock));

        const first = openAccount();
        const answers = events.slice(0, split).map((e) => apply(first.account, e, first.clock));
        const carried = JSON.parse(JSON.stringify(first.account.state)) as AccountState;
        const resumed = new CreditAccount(carried);
        answers.push(...events.slice(split).map((e) => apply(resumed, e, first.clock)));

        expect(answers).toEqual(straightAnswers);
        expect(resumed.state).toEqual(straight.account.state);
        // The pool's books balance whatever happened.
        expect(resumed.available()).toBe(resumed.state.cycleGranted - resumed.state.cycleUsed);
      }),
      { numRuns: 200 },
    );
  });
});

/** A target-value update as the workflow answers it: from memory by its update id, or applied and remembered. */
function targetUpdate(account: CreditAccount, name: string, updateId: string, run: () => unknown): { answer: unknown; recalled: boolean } {
  const first = account.updateAnswer(name, updateId);
  if (first !== undefined) return { answer: first, recalled: true };
  const answer = run();
  account.rememberUpdate(name, updateId, answer as Parameters<CreditAccount['rememberUpdate']>[2]);
  return { answer, recalled: false };
}

const TARGET_NAMES: Partial<Record<Event['t'], string>> = { users: 'setUsers', plan: 'changePlan', tier: 'changeCreditTier', toggle: 'setFeatureEnabled' };

type Step = Event | { t: 'retry'; pick: number } | { t: 'carry' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { arbitrary: event, weight: 6 },
  { arbitrary: fc.record({ t: fc.constant('retry' as const), pick: fc.nat() }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constant('carry' as const) }), weight: 1 },
);

describe('target-value updates retried by update id', () => {
  it('answer a retry in the same or the next cycle with the first answer and change nothing, across any carry and reset', () => {
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 60 }), (steps) => {
        const opened = openAccount();
        let account = opened.account;
        const clock = opened.clock;
        // Each applied target update: its name, id, first answer and the cycle it was applied in.
        const applied: { name: string; updateId: string; answer: unknown; cycle: number; event: Event }[] = [];
        steps.forEach((s, i) => {
          if (s.t === 'carry') {
            account = new CreditAccount(JSON.parse(JSON.stringify(account.state)) as AccountState);
            return;
          }
          if (s.t === 'retry') {
            const original = applied[s.pick % Math.max(applied.length, 1)];
            if (!original) return;
            const before = JSON.stringify(account.state);
            const cycleBefore = account.state.cycle.index;
            let outcome: { answer: unknown; recalled: boolean };
            try {
              outcome = targetUpdate(account, original.name, original.updateId, () => apply(account, original.event, clock));
            } catch {
              return; // applied again (forgotten) and refused by the state now: nothing changed
            }
            if (original.cycle >= cycleBefore - 1) {
              expect(outcome.recalled).toBe(true);
              expect(outcome.answer).toEqual(original.answer);
              expect(JSON.stringify(account.state)).toBe(before);
            }
            return;
          }
          const name = TARGET_NAMES[s.t];
          if (!name) {
            try {
              apply(account, s, clock);
            } catch {
              // a command the state refuses changes nothing; the property is about retries
            }
            return;
          }
          try {
            const updateId = `u${i}`;
            const { answer } = targetUpdate(account, name, updateId, () => apply(account, s, clock));
            applied.push({ name, updateId, answer, cycle: account.state.cycle.index, event: s });
          } catch {
            // refused (e.g. a plan the state cannot take): not remembered, as in the workflow
          }
        });
        expect(account.available()).toBe(account.state.cycleGranted - account.state.cycleUsed);
      }),
      { numRuns: 200 },
    );
  });
});
