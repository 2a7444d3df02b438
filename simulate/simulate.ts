/**
 * What a draft rules file would have done: every account of the ledger (or a filtered few)
 * replayed through the credit core with the rules in force and with the draft, and the two
 * compared per account and in total. Accounts are read one at a time, their entries a page
 * at a time, so memory does not grow with the number of events.
 */
import type { LedgerStore } from '../ledger/store';
import type { RuleSet } from '../ruleset/load';
import type { Rules } from '../ruleset/types';
import { addFigures, emptyFigures, type Figures } from './figures';
import { describePeriod, type Period } from './period';
import { replayAccount, type AccountOutcome, type RunFigures, type SimulationWarning } from './replay';
import { replayInWorkers } from './workers';

/** Why a simulation could not run. */
export type SimulationErrorCode = 'unknown_account' | 'empty_period' | 'empty_ledger' | 'no_current_cycle';

/** A simulation that could not run, with a sentence saying why. */
export class SimulationError extends Error {
  override readonly name = 'SimulationError';

  constructor(
    readonly code: SimulationErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** What to simulate. */
export interface SimulationRequest {
  store: LedgerStore;
  /** The dated rules versions that were in force. */
  ruleSet: RuleSet;
  /** The draft; null replays the baseline only (a check of the replay against the ledger). */
  draft: Rules | null;
  period: Period;
  /** Only these accounts (each must be in the ledger). */
  accounts?: readonly string[];
  /** Only accounts carrying this tag (at the end of the replay). */
  tag?: string;
  /** Only accounts on this plan id (at the end of the replay). */
  plan?: string;
  /** Now, in epoch ms (default: the clock): replays run up to it. */
  nowMs?: number;
  /** Told after each account: accounts done, accounts in all, entries read so far. */
  onProgress?: (done: number, total: number, entries: number) => void;
  /** Ledger rows read per round trip (default 5000). */
  pageSize?: number;
  /**
   * Worker threads to replay on (the ledger is still read on this thread); 0 or 1 replays
   * here. Needs the compiled worker file (dist/) or a TypeScript loader that workers inherit (tsx).
   */
  workers?: number;
}

/** How one account's tier revenue changes under the draft. */
export interface AccountChange {
  accountId: string;
  plan: string;
  baselineCents: number;
  draftCents: number;
  changeCents: number;
  baselinePausedAt: string | null;
  draftPausedAt: string | null;
}

/** The simulation's answer. */
export interface SimulationReport {
  period: string;
  /** The draft's version and file, or null. */
  draft: { version: string; source: string } | null;
  /** Accounts with at least one cycle in the period. */
  accounts: AccountOutcome[];
  totals: { ledger: Figures; baseline: RunFigures; draft: RunFigures | null };
  /** The accounts whose revenue changes most (largest change first, at most 10), and those newly or no longer paused. */
  changes: { biggest: AccountChange[]; newlyPaused: AccountChange[]; noLongerPaused: AccountChange[] };
  /** How many accounts bring more tier revenue under the draft, less, or the same. */
  distribution: { gain: number; lose: number; equal: number };
  /** Where the replay was not faithful (baseline differs from the ledger) or a command could not run. */
  warnings: SimulationWarning[];
  /** Ledger entries read. */
  entries: number;
}

/** Most warnings a report carries; the count beyond is said in the last one. */
const MAX_WARNINGS = 1000;

function emptyRun(): RunFigures {
  return { ...emptyFigures(), revenueByTier: {} };
}

function addRun(into: RunFigures, more: RunFigures): void {
  addFigures(into, more);
  for (const [tier, cents] of Object.entries(more.revenueByTier)) into.revenueByTier[tier] = (into.revenueByTier[tier] ?? 0) + cents;
}

/** When each manual grant of the account expired, by grant id: the replay gives its grants the same life. */
export async function manualGrantExpiries(store: LedgerStore, accountId: string): Promise<Map<string, number>> {
  const expiries = new Map<string, number>();
  for await (const entry of store.streamEntries({ accountId, kinds: ['expiry'] })) {
    if (entry.source === 'manual' && entry.grantId !== undefined) expiries.set(entry.grantId, Date.parse(entry.at));
  }
  return expiries;
}

/** The accounts a request names, checked against the ledger's. */
async function chooseAccounts(store: LedgerStore, wanted: readonly string[] | undefined): Promise<string[]> {
  const all = await store.listAccountIds();
  if (wanted === undefined || wanted.length === 0) return all;
  const known = new Set(all);
  const missing = wanted.filter((id) => !known.has(id));
  if (missing.length > 0) {
    throw new SimulationError('unknown_account', `the ledger (${store.label}) holds no account ${missing.map((id) => JSON.stringify(id)).join(', ')}`);
  }
  return [...new Set(wanted)];
}

function changeOf(outcome: AccountOutcome): AccountChange {
  const draft = outcome.draft ?? outcome.baseline;
  return {
    accountId: outcome.accountId,
    plan: outcome.plan,
    baselineCents: outcome.baseline.revenueCents,
    draftCents: draft.revenueCents,
    changeCents: draft.revenueCents - outcome.baseline.revenueCents,
    baselinePausedAt: outcome.baseline.pausedAt,
    draftPausedAt: draft.pausedAt,
  };
}

/**
 * Runs the simulation.
 *
 * @throws SimulationError `unknown_account` for an account the ledger does not hold,
 *   `empty_period` when no chosen account has a cycle in the period; LedgerError when the
 *   ledger cannot be read.
 */
export async function simulate(request: SimulationRequest): Promise<SimulationReport> {
  const { store, ruleSet, draft, period } = request;
  const nowMs = request.nowMs ?? Date.now();
  const ids = await chooseAccounts(store, request.accounts);
  if (ids.length === 0) throw new SimulationError('empty_ledger', `the ledger (${store.label}) holds no accounts yet: there is nothing to simulate`);
  const pageSize = request.pageSize ?? 5000;
  const outcomes: (AccountOutcome | undefined)[] = new Array<AccountOutcome | undefined>(ids.length);
  let entries = 0;
  let done = 0;
  const record = (index: number, outcome: AccountOutcome) => {
    outcomes[index] = outcome;
    entries += outcome.entries;
    done += 1;
    request.onProgress?.(done, ids.length, entries);
  };
  const workers = Math.min(request.workers ?? 0, ids.length);
  if (workers > 1) {
    const setup = { versions: [...ruleSet.versions], draft, period, untilMs: nowMs };
    await replayInWorkers(ids, store, setup, workers, (accountId) => manualGrantExpiries(store, accountId), record, pageSize);
  } else {
    for (const [index, accountId] of ids.entries()) {
      const manualExpiries = await manualGrantExpiries(store, accountId);
      const stream = store.streamEntries({ accountId }, { pageSize });
      record(index, await replayAccount(accountId, stream, { ruleSet, draft, period, untilMs: nowMs, manualExpiries }));
    }
  }
  const accounts: AccountOutcome[] = [];
  const warnings: SimulationWarning[] = [];
  let warningsLeftOut = 0;
  for (const outcome of outcomes) {
    if (outcome === undefined || outcome.cycles.length === 0) continue;
    if (request.tag !== undefined && !outcome.tags.includes(request.tag)) continue;
    if (request.plan !== undefined && outcome.plan !== request.plan) continue;
    for (const warning of outcome.warnings) {
      if (warnings.length < MAX_WARNINGS) warnings.push(warning);
      else warningsLeftOut += 1;
    }
    accounts.push(outcome);
  }
  if (warningsLeftOut > 0) warnings.push({ accountId: '*', cycleIndex: null, message: `${warningsLeftOut} more warnings left out` });
  if (accounts.length === 0) {
    throw new SimulationError('empty_period', `no account${request.tag || request.plan ? ' matching the filters' : ''} has a cycle in the period (${describePeriod(period)})`);
  }

  const totals = { ledger: emptyFigures(), baseline: emptyRun(), draft: draft ? emptyRun() : null };
  for (const outcome of accounts) {
    addFigures(totals.ledger, outcome.ledger);
    addRun(totals.baseline, outcome.baseline);
    if (totals.draft && outcome.draft) addRun(totals.draft, outcome.draft);
  }
  const changes = accounts.map(changeOf);
  const distribution = { gain: 0, lose: 0, equal: 0 };
  for (const change of changes) {
    if (change.changeCents > 0) distribution.gain += 1;
    else if (change.changeCents < 0) distribution.lose += 1;
    else distribution.equal += 1;
  }
  const biggest = changes
    .filter((c) => c.changeCents !== 0)
    .sort((a, b) => Math.abs(b.changeCents) - Math.abs(a.changeCents) || a.accountId.localeCompare(b.accountId))
    .slice(0, 10);
  return {
    period: describePeriod(period),
    draft: draft ? { version: draft.version, source: draft.source } : null,
    accounts,
    totals,
    changes: {
      biggest,
      newlyPaused: draft ? changes.filter((c) => c.baselinePausedAt === null && c.draftPausedAt !== null) : [],
      noLongerPaused: draft ? changes.filter((c) => c.baselinePausedAt !== null && c.draftPausedAt === null) : [],
    },
    distribution,
    warnings,
    entries,
  };
}
