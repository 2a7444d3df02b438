/**
 * Makes a ledger to simulate against: accounts driven through the credit core exactly as the
 * workflow drives it (opened, commands at their instants, time moved on by simulate/clock),
 * and every ledger entry and charge the core queues written to the store. The tests record
 * their scenarios with {@link recordAccount}; run as a script it fills a ledger with
 * 1,000 accounts and 1,000,000 usage events for `npm run bench:simulate`.
 *
 *   tsx bench/simulate-ledger.ts [LEDGER_URL] [--accounts N] [--events N]
 */
import type { RestartHistory } from '../domain/input-problems';
import { CreditAccount } from '../domain/account';
import { cycleContaining } from '../domain/calendar';
import type { LedgerEntry } from '../domain/effects';
import type { AccountStartInput } from '../domain/wire-contract';
import { openLedgerStore } from '../ledger/open-store';
import type { LedgerStore } from '../ledger/store';
import { defaultRulesPath, loadRuleSet, rulesForCycleStart, type RuleSet } from '../ruleset';
import { advanceTo } from '../simulate/clock';

/** One command of a scenario at its instant. */
export interface ScenarioStep {
  at: string;
  run: (account: CreditAccount) => unknown;
}

/** Writes what the core queued: ledger entries in batches, charges one by one. */
class Sink {
  private batch: LedgerEntry[] = [];
  constructor(private readonly store: LedgerStore) {}

  async take(account: CreditAccount): Promise<void> {
    for (const effect of account.state.outbox) {
      if (effect.type === 'ledger') this.batch.push(effect.entry);
      else if (effect.type === 'charge') await this.store.recordCharge(effect.charge);
    }
    account.state.outbox.length = 0;
    if (this.batch.length >= 2000) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.batch.length === 0) return;
    await this.store.appendEntries(this.batch);
    this.batch = [];
  }
}

/**
 * Drives one account through the core (opened at `openedAt`, then each step at its instant,
 * then time moved on to `untilMs`) and writes its ledger. Steps must be in time order.
 * `epoch` names the workflow that wrote it: another one for the same account is that account
 * started again (a new pool), as a restart under its id writes it.
 */
export async function recordAccount(
  store: LedgerStore,
  ruleSet: RuleSet,
  input: AccountStartInput,
  openedAt: string,
  steps: readonly ScenarioStep[],
  untilMs: number,
  epoch = 'e1',
  restart?: RestartHistory,
): Promise<void> {
  const sink = new Sink(store);
  const rulesFor = (cycle: { start: string }) => ruleSet.at(cycle.start);
  const openedMs = Date.parse(openedAt);
  // As the workflow does: the version in force at the start of the cycle the account opens in.
  const cycleStart = Date.parse(cycleContaining(input.cycleAnchor, openedMs).start);
  const opening = rulesForCycleStart(ruleSet, new Date(cycleStart).toISOString());
  const account = CreditAccount.open(input, opening, openedMs, epoch, restart);
  await sink.take(account);
  for (const step of steps) {
    const atMs = Date.parse(step.at);
    advanceTo(account, atMs, rulesFor);
    await sink.take(account);
    step.run(account);
    await sink.take(account);
  }
  advanceTo(account, untilMs, rulesFor);
  await sink.take(account);
  await sink.flush();
}

/** A seeded xorshift32 generator, so every run makes the same ledger. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 4_294_967_296;
  };
}

const PLANS = ['solo', 'essentials', 'growth', 'scale'];
const TIERS = [null, null, 'tier-1', 'tier-2', 'tier-3'];

/**
 * Fills `store` with `accounts` accounts sharing `events` usage events, spread over the
 * cycles from 2026-07-01 to `untilMs`: plans, users and tiers vary, some accounts run out.
 */
export async function generateLedger(store: LedgerStore, ruleSet: RuleSet, accounts: number, events: number, untilMs: number, onAccount?: (done: number) => void): Promise<void> {
  const rand = random(12);
  const perAccount = Math.floor(events / accounts);
  const startMs = Date.parse('2026-07-01T00:00:00Z');
  for (let i = 0; i < accounts; i++) {
    const plan = PLANS[i % PLANS.length] ?? 'growth';
    const tier = TIERS[Math.floor(rand() * TIERS.length)] ?? null;
    const input: AccountStartInput = {
      accountId: `acct-${String(i).padStart(5, '0')}`,
      plan,
      users: 1 + Math.floor(rand() * 12),
      cycleAnchor: new Date(startMs + Math.floor(rand() * 28) * 86_400_000).toISOString(),
      ...(tier ? { creditTier: tier } : {}),
    };
    const heavy = rand() < 0.3;
    const steps: ScenarioStep[] = [];
    const count = perAccount + (i < events % accounts ? 1 : 0);
    const begin = Date.parse(input.cycleAnchor);
    for (let e = 0; e < count; e++) {
      const at = new Date(begin + Math.floor(((e + 0.5) * (untilMs - begin)) / count)).toISOString();
      const feature = rand() < 0.8 ? 'enrichment' : 'auto-updates';
      const quantity = heavy ? 5 + Math.floor(rand() * 40) : 1 + Math.floor(rand() * 8);
      const key = `u${i}-${e}`;
      steps.push({ at, run: (a) => a.recordUsage({ feature, quantity, idempotencyKey: key }, Date.parse(at)) });
    }
    await recordAccount(store, ruleSet, input, input.cycleAnchor, steps, untilMs);
    onAccount?.(i + 1);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: number) => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args[at + 1]) : fallback;
  };
  const url = args[0] && !args[0].startsWith('--') ? args[0] : undefined;
  const accounts = option('--accounts', 1000);
  const events = option('--events', 1_000_000);
  const store = await openLedgerStore({ url });
  try {
    const started = Date.now();
    await generateLedger(store, loadRuleSet(defaultRulesPath()), accounts, events, Date.parse('2026-11-01T00:00:00Z'), (done) => {
      if (done % 50 === 0) process.stderr.write(`\r${done}/${accounts} accounts`);
    });
    process.stderr.write(`\nwrote ${accounts} accounts, ${events} usage events to ${store.label} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
  } finally {
    await store.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
