/**
 * The code bench/usage-domain.ts times, bundled by it and run both in plain Node and in a V8
 * context of its own (as the workflow sandbox runs the domain). Takes the compiled rules as an
 * argument: the context has no file system.
 */
import { CreditAccount } from '../domain/account';
import type { Rules } from '../ruleset/types';

/** Microseconds per usage event of each round of `perRound` events, in batches of `batch`. */
export function timeUsageBatches(rules: Rules, rounds: number, perRound: number, batch: number): number[] {
  const t0 = Date.parse('2026-06-10T12:00:00.000Z');
  const account = CreditAccount.open({ accountId: 'bench-0', plan: 'scale', users: 10, cycleAnchor: '2026-06-03T00:00:00.000Z', creditTier: 'tier-17' }, rules, t0, 'e1');
  let key = 0;
  const events = () => Array.from({ length: batch }, () => ({ feature: 'enrichment', quantity: 1, idempotencyKey: `e-0-${key++}` }));
  // The outbox is emptied as the workflow's ledger writes would (its drain is not timed here).
  const send = (at: number) => {
    account.recordUsageBatch(events(), at);
    account.state.outbox.length = 0;
  };
  for (let i = 0; i < 20; i++) send(t0 + i);
  const perEvent: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const started = performance.now();
    let sent = 0;
    while (sent < perRound) {
      send(t0 + 1000 + key);
      sent += batch;
    }
    perEvent.push((1000 * (performance.now() - started)) / sent);
  }
  return perEvent;
}
