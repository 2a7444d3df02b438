/**
 * One account's ledger replayed through the pure credit core (`CreditAccount`), twice in one
 * pass over its entries: with the rules that were in force (the baseline, which must come out
 * as the ledger's own figures) and with a draft for the cycles of the period. Every fact the
 * replay needs (plan, users, tier, anchor, tags, toggles, manual grants, trial conversions)
 * is read from the ledger's own entries; the core decides everything else again.
 */
import type { RestartHistory } from '../domain/input-problems';
import { CreditAccount } from '../domain/account';
import { cycleContaining } from '../domain/calendar';
import type { LedgerEntry } from '../domain/effects';
import type { AccountStartInput } from '../domain/wire-contract';
import { isRulesError } from '../ruleset/diagnostics';
import type { RuleSet } from '../ruleset/load';
import type { Rules } from '../ruleset/types';
import { advanceTo, type CycleOpening } from './clock';
import { FIGURE_FIELDS, addFigures, countEntry, emptyFigures, isOutageRefusal, type Figures } from './figures';
import { periodContains, type Period } from './period';

/** A replay that did not go as the ledger says: the baseline differs, or a command could not run. */
export interface SimulationWarning {
  accountId: string;
  /** The cycle it concerns, when it concerns one. */
  cycleIndex: number | null;
  message: string;
}

/** What one run of an account came to over the period. */
export interface RunFigures extends Figures {
  /** Tier revenue in cents by tier id. */
  revenueByTier: Record<string, number>;
}

/** One account's outcome. */
export interface AccountOutcome {
  accountId: string;
  /** The plan and tier at the end of the replay (baseline). */
  plan: string;
  tier: string | null;
  tags: string[];
  /** Indexes of the cycles in the period. */
  cycles: number[];
  /** The ledger's own figures for those cycles. */
  ledger: Figures;
  /** The replay with the rules in force. */
  baseline: RunFigures;
  /** The replay with the draft; null when no draft was given. */
  draft: RunFigures | null;
  /** Ledger entries read. */
  entries: number;
  warnings: SimulationWarning[];
  /** When the replayed run opened (its opening entry); null when none was read. */
  openedAt: string | null;
}

/** What a replay needs besides the entries. */
export interface ReplayOptions {
  /** The dated rules versions (what was in force). */
  ruleSet: RuleSet;
  /** The draft, used for the cycles of the period; null for the baseline only. */
  draft: Rules | null;
  period: Period;
  /** Replay up to this instant (epoch ms): now. */
  untilMs: number;
  /** When each manual grant of the account expired, by its ledger grant id (see {@link manualGrantExpiries}). */
  manualExpiries: ReadonlyMap<string, number>;
  /** Shown the baseline's account once the replay reached `untilMs` (the forecast reads it). */
  inspect?: (baseline: CreditAccount, cycles: ReadonlyMap<number, RunFigures>) => void;
}

const OPENING = /^account opened on (\S+)( \(trial\))?(?:: (\d+) users, tier (\S+), anchor (\S+), tags:(.*?)(?:; restarted (\{"promotions":.*\}))?)?$/;
const CYCLE_NOTE = /^cycle (\d+): (\S+) -> (\S+)$/;

/** Whether an entry is an account's opening. */
export function isOpening(entry: LedgerEntry): boolean {
  return entry.kind === 'cycle_start' && (entry.note ?? '').startsWith('account opened on ');
}

/**
 * The start input an opening entry records. Entries written before the facts were recorded
 * name only the plan: the users are then read from the first included grant, the anchor is the
 * opening instant, and `guessed` says so. A closed account started again on purpose records what
 * the ledger told it (`restart`: promotions not to grant again, the tier charge that paid).
 */
export function startFromOpening(
  entry: LedgerEntry,
  firstIncluded: number | null,
  rules: Rules,
): { input: AccountStartInput; guessed: boolean; restart?: RestartHistory } {
  const m = OPENING.exec(entry.note ?? '');
  if (!m) throw new Error(`not an opening entry: ${entry.entryId}`);
  const [, plan = '', trial, users, tier, anchor, tags, restarted] = m;
  const base = { accountId: entry.accountId, plan, ...(trial ? { trial: true } : {}) };
  if (users !== undefined && tier !== undefined && anchor !== undefined) {
    const tagList = (tags ?? '').trim().split(' ').filter((t) => t !== '');
    return {
      input: { ...base, users: Number(users), cycleAnchor: anchor, ...(tier === 'none' ? {} : { creditTier: tier }), ...(tagList.length ? { tags: tagList } : {}) },
      guessed: false,
      ...(restarted === undefined ? {} : { restart: restartFacts(restarted) }),
    };
  }
  const perUser = rules.plans.find((p) => p.id === plan)?.creditsPerUser ?? 0;
  const guessedUsers = firstIncluded !== null && perUser > 0 ? Math.max(1, Math.round(firstIncluded / perUser)) : 1;
  return { input: { ...base, users: guessedUsers, cycleAnchor: entry.at }, guessed: true };
}

/** A restart's recorded facts; none from text that is not them (an edited ledger), and the replay then differs from it, and says so. */
function restartFacts(text: string): RestartHistory | undefined {
  try {
    const facts = JSON.parse(text) as Partial<RestartHistory> | null;
    return facts && typeof facts === 'object' && facts.promotions && 'paidThisPeriod' in facts ? (facts as RestartHistory) : undefined;
  } catch {
    return undefined;
  }
}

/** One run of the core over the account: its account, and its figures by cycle. */
class Run {
  account: CreditAccount | null = null;
  readonly cycles = new Map<number, RunFigures>();
  private readonly inPeriodByIndex = new Map<number, boolean>();

  constructor(
    readonly name: 'baseline' | 'draft',
    private readonly options: ReplayOptions,
    private readonly warn: (cycleIndex: number | null, message: string) => void,
  ) {}

  /**
   * Whether cycle `index` is in the period, decided when the cycle opens, on the calendar it
   * opens on (memoised): a trial's conversion moves the calendar, and the cycles before it must
   * keep the windows they ran in.
   */
  inPeriod(index: number, anchor: string, anchorIndex: number): boolean {
    let known = this.inPeriodByIndex.get(index);
    if (known === undefined) {
      known = periodContains(this.options.period, anchor, anchorIndex, index);
      this.inPeriodByIndex.set(index, known);
    }
    return known;
  }

  /**
   * The rules the cycle `index` opening at `at` uses (by a reset, the opening or a conversion):
   * the draft inside the period, else the version in force. Both runs ask it at every opening,
   * so both decide the period's cycles alike, and the figures compare the same cycles.
   */
  rulesAt(at: string, index: number, anchor: string, anchorIndex: number): Rules {
    const inside = this.inPeriod(index, anchor, anchorIndex);
    if (this.name === 'draft' && this.options.draft !== null && inside) return this.options.draft;
    try {
      return this.options.ruleSet.at(at);
    } catch (err) {
      if (isRulesError(err)) return this.options.ruleSet.earliest;
      throw err;
    }
  }

  readonly rulesFor = (cycle: CycleOpening): Rules => {
    const s = this.account?.state;
    return this.rulesAt(cycle.start, cycle.index, s?.anchor ?? cycle.start, s?.anchorIndex ?? cycle.index);
  };

  readonly onUnfit = (cycle: CycleOpening, rules: Rules): void => {
    this.warn(cycle.index, `${this.name}: rules ${rules.version} lack the account's plan or tier; the cycle kept the previous version`);
  };

  /** Runs a command; a command the core refuses to run is a warning, and the replay goes on. */
  apply(what: string, command: (account: CreditAccount) => void): void {
    const account = this.account;
    if (!account) return;
    try {
      command(account);
    } catch (err) {
      this.warn(account.state.cycle.index, `${this.name}: ${what} could not be replayed: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.drain();
  }

  /** Counts and drops the effects the core queued. */
  drain(): void {
    const s = this.account?.state;
    if (!s) return;
    for (const effect of s.outbox) {
      if (effect.type === 'ledger') {
        const cycle = this.bucket(effect.entry.cycleIndex);
        countEntry(cycle, effect.entry);
      } else if (effect.type === 'charge') {
        const cycle = this.bucket(effect.charge.cycleIndex);
        cycle.revenueByTier[effect.charge.tierId] = (cycle.revenueByTier[effect.charge.tierId] ?? 0) + effect.charge.amountCents;
      }
    }
    s.outbox.length = 0;
  }

  private bucket(index: number): RunFigures {
    let figures = this.cycles.get(index);
    if (!figures) {
      figures = { ...emptyFigures(), revenueByTier: {} };
      this.cycles.set(index, figures);
    }
    return figures;
  }

  /** The figures of the cycles in the period, summed. */
  total(cycles: readonly number[]): RunFigures {
    const total: RunFigures = { ...emptyFigures(), revenueByTier: {} };
    for (const index of cycles) {
      const figures = this.cycles.get(index);
      if (!figures) continue;
      addFigures(total, figures);
      for (const [tier, cents] of Object.entries(figures.revenueByTier)) total.revenueByTier[tier] = (total.revenueByTier[tier] ?? 0) + cents;
    }
    return total;
  }
}

/** `cycle 3: 2026-07-01T… -> 2026-08-01T…` read back: the cycle's start. */
function cycleStartOf(entry: LedgerEntry): string | undefined {
  return CYCLE_NOTE.exec(entry.note ?? '')?.[2];
}

/** The tags after a `tags_change` entry, from the tags before it. */
function tagsAfter(before: readonly string[], note: string): string[] | undefined {
  const m = /^tags: added (.*?); removed (.*?)(?:; promotion .*)?$/.exec(note);
  if (!m) return undefined;
  const list = (text: string | undefined) => (text === undefined || text === 'none' ? [] : text.split(', '));
  const removed = list(m[2]);
  return [...before.filter((t) => !removed.includes(t)), ...list(m[1])];
}

/** The cycle count a manual grant was given for, from when it expired on the account's calendar. */
function validForCycles(account: CreditAccount, expiredAtMs: number | undefined): number {
  const s = account.state;
  if (expiredAtMs === undefined) return 1200;
  const current = cycleContaining(s.anchor, Date.parse(s.cycle.start)).offset;
  const last = cycleContaining(s.anchor, expiredAtMs - 1).offset;
  return Math.max(1, last - current + 1);
}

/**
 * Replays one account's entries (in sequence order; read once, never held) through the core.
 * The entries must all belong to one account and start with its opening.
 */
export async function replayAccount(accountId: string, entries: AsyncIterable<LedgerEntry>, options: ReplayOptions): Promise<AccountOutcome> {
  const warnings: SimulationWarning[] = [];
  const warn = (cycleIndex: number | null, message: string) => {
    if (warnings.length < 100) warnings.push({ accountId, cycleIndex, message });
  };
  const freshRuns = () => [new Run('baseline', options, warn), ...(options.draft ? [new Run('draft', options, warn)] : [])];
  const runs = freshRuns();
  const ledgerCycles = new Map<number, Figures>();
  const callParts = new Map<string, number>();
  let pendingConversion: string | null = null;
  let conversionAnchor: string | null = null;
  let opening: LedgerEntry | null = null;
  let count = 0;
  // The latest instant the ledger holds: every reset, expiry and grant the account went
  // through writes entries, so nothing happened to it after this but the passing of time.
  let lastAtMs = -Infinity;

  const open = (entry: LedgerEntry, firstIncluded: number | null) => {
    const rulesThen = options.ruleSet.byVersion(entry.rulesVersion) ?? options.ruleSet.earliest;
    const { input, guessed, restart } = startFromOpening(entry, firstIncluded, rulesThen);
    if (guessed) warn(entry.cycleIndex, 'the opening entry predates recorded start facts: users and anchor are inferred');
    const atMs = Date.parse(entry.at);
    const window = cycleContaining(input.cycleAnchor, atMs);
    for (const run of runs) {
      const rules = run.rulesAt(window.start, window.offset, input.cycleAnchor, 0);
      try {
        run.account = CreditAccount.open(input, rules, atMs, 'sim', restart);
      } catch (err) {
        warn(entry.cycleIndex, `${run.name}: the account could not be opened: ${err instanceof Error ? err.message : String(err)}`);
      }
      run.drain();
    }
  };

  for await (const entry of entries) {
    // What happened after `untilMs` is not part of this replay (a forecast as of an earlier day).
    if (Date.parse(entry.at) > options.untilMs) break;
    count += 1;
    lastAtMs = Math.max(lastAtMs, Date.parse(entry.at));
    // An account started again under its id (a new workflow, a new pool) comes as a second
    // epoch after the first (see LedgerStore.streamEntries): the replay starts over from its
    // opening, as the engine did, and the earlier pool's figures leave the comparison.
    if (opening !== null && isOpening(entry)) {
      warn(entry.cycleIndex, `the account was started again at ${entry.at} (a new workflow and pool): only that latest run is replayed, the earlier one's cycles are left out`);
      runs.splice(0, runs.length, ...freshRuns());
      ledgerCycles.clear();
      callParts.clear();
      pendingConversion = null;
      conversionAnchor = null;
      opening = null;
    }
    if (entry.kind !== 'usage' || !isOutageRefusal(entry)) {
      let figures = ledgerCycles.get(entry.cycleIndex);
      if (!figures) ledgerCycles.set(entry.cycleIndex, (figures = emptyFigures()));
      countEntry(figures, entry);
    }
    if (opening === null) {
      if (!isOpening(entry)) {
        warn(entry.cycleIndex, 'the history does not start with the account opening; nothing replayed');
        break;
      }
      opening = entry;
      // A legacy opening names no users: its first included grant (the next entry or so) tells them.
      if (OPENING.exec(entry.note ?? '')?.[3] !== undefined) open(entry, null);
      continue;
    }
    if (runs[0]?.account === null && runs[0] !== undefined) {
      open(opening, entry.kind === 'grant' && entry.source === 'included' ? entry.credits : null);
      if (entry.kind === 'grant') continue;
    }
    const atMs = Date.parse(entry.at);
    for (const run of runs) {
      if (run.account) advanceTo(run.account, atMs, run.rulesFor, run.onUnfit);
      run.drain();
    }
    applyEntry(entry);
  }

  function applyEntry(entry: LedgerEntry): void {
    const atMs = Date.parse(entry.at);
    const note = entry.note ?? '';
    const each = (what: string, command: (account: CreditAccount, run: Run) => void) => {
      for (const run of runs) run.apply(what, (account) => command(account, run));
    };
    switch (entry.kind) {
      case 'usage':
        if (isOutageRefusal(entry) || entry.idempotencyKey === undefined || entry.feature === undefined) return;
        each('a usage', (a) =>
          a.recordUsage(
            { feature: entry.feature ?? '', quantity: entry.quantity ?? 0, idempotencyKey: entry.idempotencyKey ?? '', ...(entry.userId ? { userId: entry.userId } : {}) },
            atMs,
          ),
        );
        return;
      case 'call_start': {
        const callId = entry.callId;
        if (callId === undefined) return;
        each('a call start', (a, run) => {
          const answer = a.startCall({ callId, agentId: entry.agentId ?? '' }, atMs);
          // The ledger refused this call, so no end of it exists: left open, it would be
          // charged as a call lost for a whole day at the reset. Its length is unknown.
          if (entry.decision === 'rejected' && answer.authorized) {
            a.endCall({ callId, minutes: 0 }, atMs);
            warn(entry.cycleIndex, `${run.name}: call ${callId}, refused in the ledger, would be authorised; its length is unknown, so it is counted as 0 minutes`);
          }
        });
        return;
      }
      case 'call_part':
        if (entry.callId !== undefined) callParts.set(entry.callId, (callParts.get(entry.callId) ?? 0) + (entry.quantity ?? 0));
        return;
      case 'call_end': {
        if (entry.callId === undefined) return;
        const minutes = (callParts.get(entry.callId) ?? 0) + (entry.quantity ?? 0);
        callParts.delete(entry.callId);
        each('a call end', (a) => a.endCall({ callId: entry.callId ?? '', minutes: Math.round(minutes * 1e6) / 1e6 }, atMs));
        return;
      }
      case 'grant':
        if (entry.source !== 'manual') return;
        each('a manual grant', (a) =>
          a.grantCredits(
            {
              credits: entry.credits,
              reason: note || 'manual grant',
              validForCycles: validForCycles(a, entry.grantId === undefined ? undefined : options.manualExpiries.get(entry.grantId)),
              idempotencyKey: entry.idempotencyKey ?? entry.entryId,
            },
            atMs,
          ),
        );
        return;
      case 'users_change': {
        const m = /^users \d+ -> (\d+)$/.exec(note);
        if (m) each('a users change', (a) => a.setUsers(Number(m[1]), atMs));
        return;
      }
      case 'plan_change': {
        const conversion = /^trial \S+ -> paid (\S+?)(?:, anchor (\S+))?$/.exec(note);
        if (conversion) {
          pendingConversion = conversion[1] ?? null;
          conversionAnchor = conversion[2] ?? null;
          return;
        }
        const m = /^\S+ -> (\S+)(?: at .*)?$/.exec(note);
        if (m) each('a plan change', (a) => a.changePlan(m[1] ?? '', atMs));
        return;
      }
      case 'cycle_start': {
        const plan = pendingConversion;
        if (plan === null) return;
        pendingConversion = null;
        const start = cycleStartOf(entry) ?? entry.at;
        // The CRM anchor the conversion recorded; older entries name none, and the paid cycle's
        // start stands for it (the same calendar, but on a day 29-31 anchor's shorter months).
        const anchor = conversionAnchor ?? start;
        conversionAnchor = null;
        each('a trial conversion', (a, run) => {
          // The conversion opens the next cycle on the paid calendar: the cycle of `anchor`
          // holding the conversion (the period is decided on that calendar, as for any cycle).
          const index = a.state.cycle.index + 1;
          const { offset } = cycleContaining(anchor, atMs);
          a.convertTrial(plan, a.conversionRules(run.rulesAt(entry.at, index, anchor, index - offset), plan), atMs, anchor);
        });
        return;
      }
      case 'tier_change': {
        const cancelled = /^pending change cancelled, stays (\S+)$/.exec(note);
        const m = cancelled ?? /^\S+ -> (\S+)(?: at .*)?$/.exec(note);
        if (m) each('a tier change', (a) => a.changeCreditTier(m[1] === 'none' ? null : (m[1] ?? null), atMs));
        return;
      }
      case 'feature_toggle':
        if (entry.feature !== undefined) each('a feature toggle', (a) => a.setFeatureEnabled(entry.feature ?? '', note === 'enabled', atMs));
        return;
      case 'agent_toggle':
        if (entry.agentId !== undefined) each('an agent toggle', (a) => a.setVoiceAgentActive(entry.agentId ?? '', note === 'activated', atMs));
        return;
      case 'tags_change':
        each('a tags change', (a) => {
          const tags = tagsAfter(a.state.tags, note);
          if (tags) a.setTags(tags, atMs);
        });
        return;
      case 'void':
        if (entry.idempotencyKey !== undefined) each('a void', (a) => a.voidUsage({ idempotencyKey: entry.idempotencyKey ?? '', reason: note || 'void' }, atMs));
        return;
      default:
        return;
    }
  }

  if (opening !== null && runs[0]?.account === null) open(opening, null);
  // Time moves on only as far as the ledger goes: a closed account (nothing marks it, its
  // ledger just ends) would otherwise be reset, granted and charged to the end of the period.
  const endMs = Math.min(options.untilMs, lastAtMs);
  for (const run of runs) {
    if (run.account) advanceTo(run.account, endMs, run.rulesFor, run.onUnfit);
    run.drain();
  }

  const baseline = runs[0] as Run;
  if (baseline.account) options.inspect?.(baseline.account, baseline.cycles);
  const s = baseline.account?.state;
  // Only cycles the ledger holds (every cycle that began has its start entry): a closed
  // account's replay would otherwise go on granting and charging to the end of the period.
  const cycles = s ? [...baseline.cycles.keys()].filter((i) => ledgerCycles.has(i) && baseline.inPeriod(i, s.anchor, s.anchorIndex)).sort((a, b) => a - b) : [];
  const ledger = emptyFigures();
  for (const index of cycles) {
    const recorded = ledgerCycles.get(index) ?? emptyFigures();
    addFigures(ledger, recorded);
    const replayed = baseline.cycles.get(index) ?? emptyFigures();
    for (const field of FIGURE_FIELDS) {
      if (recorded[field] !== replayed[field]) {
        warn(index, `baseline differs from the ledger: ${field} ${replayed[field]} replayed, ${recorded[field]} in the ledger`);
      }
    }
  }
  return {
    accountId,
    plan: s?.planId ?? '',
    tier: s?.tierId ?? null,
    tags: [...(s?.tags ?? [])],
    cycles,
    ledger,
    baseline: baseline.total(cycles),
    draft: runs[1] ? runs[1].total(cycles) : null,
    entries: count,
    warnings,
    openedAt: opening?.at ?? null,
  };
}
