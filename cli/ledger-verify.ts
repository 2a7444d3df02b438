/**
 * `credits ledger verify [ACCOUNT|--all]`: reconciles each account's live summary with its
 * ledger for the current cycle (balance, usage by feature, credits used, tier charges) and
 * reports every difference. The comparison is `ledger/reconcile.ts`; this file fetches both
 * sides, waits for a ledger that is catching up (`--wait`), and prints. The chaos suite runs
 * the same {@link verifyAccounts}.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { isAccountNotFoundError, type ClosedRun, type CreditsClient } from '../client';
import { cycleNumber, formatCount, formatUtc, plural } from '../display';
import type { AccountSummary } from '../domain/wire-contract';
import { CREDITS_LEDGER_URL } from '../infra/settings';
import { runningMainJob } from '../infra/main-job-info';
import { isLedgerError } from '../ledger/errors';
import { openLedgerStore } from '../ledger/open-store';
import { ledgerChainDifferences, readLedgerFacts, reconcileAccount, type LedgerDifference, type LedgerDifferenceCode, type LedgerFacts, type LedgerFactsQuery } from '../ledger/reconcile';
import { readLedgerChain, type LedgerChain } from '../ledger/balance-chain';
import type { LedgerStore } from '../ledger/store';
import { accountWorkflowId } from '../workflows/messages';
import { CliFailure, EXIT_CODES, writeLines, type CliIo } from './io';
import { fetchFromAdmin } from './main-job-admin';
import { cliDeps, withCreditsClient } from './temporal-connection';

/** Where the two sides of a reconciliation come from. */
export interface VerifySources {
  /** The account's live summary (the workflow's `summary` query). */
  summary(accountId: string): Promise<AccountSummary>;
  /** The running workflow's epoch, which its ledger ids carry; null when it cannot be told. */
  epoch(accountId: string): Promise<string | null>;
  /** What the ledger holds for the account's cycle. */
  facts(query: LedgerFactsQuery): Promise<LedgerFacts>;
  /** The account's whole ledger followed entry by entry (`--history`); absent: the current cycle only. */
  chain?(accountId: string, epoch: string | null): Promise<LedgerChain>;
  /** How the account's workflow closed, null while it runs; absent: not asked. */
  closed?(accountId: string): Promise<ClosedRun | null>;
}

/** Options of {@link verifyAccounts}. */
export interface VerifyOptions {
  /** Re-check differences that may be a ledger catching up until they are gone or this many ms passed. Default 0. */
  waitMs?: number;
  /** Pause between two checks of one account, in ms. Default 1000. */
  pollMs?: number;
  /** Accounts checked at once. Default 4. */
  concurrency?: number;
  /**
   * Follow the running balance and sequence numbers through every cycle of the ledger (the
   * running workflow's epoch), not only the current one. Needs {@link VerifySources.chain}.
   */
  history?: boolean;
}

/** The outcome for one account. */
export interface AccountVerification {
  accountId: string;
  /** The summary's cycle, null when the summary could not be read. */
  cycleIndex: number | null;
  epoch: string | null;
  agrees: boolean;
  /** Every difference of the last check; empty when the account agrees. */
  differences: LedgerDifference[];
  /** How many times the account was checked (more than one while waiting). */
  checks: number;
  /** With `history`: the entries of every cycle whose running balance was followed. */
  entriesFollowed?: number;
  /** Set when the account's workflow has closed: its final state was checked, and nothing will change it. */
  closed?: ClosedRun;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One check: both sides read now and compared. */
async function checkOnce(accountId: string, sources: VerifySources, history: boolean): Promise<Omit<AccountVerification, 'checks'>> {
  let summary: AccountSummary;
  try {
    summary = await sources.summary(accountId);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const difference: LedgerDifference = {
      code: 'summary_unavailable',
      field: 'summary',
      summary: null,
      ledger: null,
      // An account that is not running will not start running by waiting; an unreachable server may come back.
      mayCatchUp: !isAccountNotFoundError(err),
      message: `no summary: ${message}`,
    };
    return { accountId, cycleIndex: null, epoch: null, agrees: false, differences: [difference] };
  }
  const [epoch, closed] = await Promise.all([sources.epoch(accountId), sources.closed?.(accountId) ?? null]);
  const facts = await sources.facts({ accountId, cycle: summary.cycle, epoch });
  // A closed account's summary is its last state: a ledger behind it will not catch up (the
  // workflow that would write the rest is gone), so waiting is of no use.
  const settled = (found: LedgerDifference[]) => (closed ? found.map((d) => ({ ...d, mayCatchUp: false })) : found);
  let differences = settled(reconcileAccount(summary, facts));
  const checked = { accountId, cycleIndex: summary.cycle.index, epoch: facts.epoch ?? epoch, ...(closed ? { closed } : {}) };
  if (!history || sources.chain === undefined) return { ...checked, agrees: differences.length === 0, differences };
  // The whole ledger's chain includes the current cycle's: its findings replace the cycle's own.
  const chain = await sources.chain(accountId, checked.epoch);
  const whole: readonly LedgerDifferenceCode[] = chain.chargeMismatches === undefined ? ['balance_chain', 'sequence_gap'] : ['balance_chain', 'sequence_gap', 'charge_record'];
  differences = settled([...differences.filter((d) => !whole.includes(d.code)), ...ledgerChainDifferences(chain)]);
  return { ...checked, agrees: differences.length === 0, differences, entriesFollowed: chain.entries };
}

/** Checks one account, again while it differs in ways waiting may resolve and time remains. */
export async function verifyAccount(accountId: string, sources: VerifySources, options: VerifyOptions = {}): Promise<AccountVerification> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (let checks = 1; ; checks++) {
    const result = await checkOnce(accountId, sources, options.history === true);
    const waiting = result.differences.some((d) => d.mayCatchUp);
    if (!waiting || Date.now() >= deadline) return { ...result, checks };
    await sleep(Math.min(options.pollMs ?? 1000, Math.max(0, deadline - Date.now())));
  }
}

/** Checks every account (a few at a time), in the order given. */
export async function verifyAccounts(accountIds: readonly string[], sources: VerifySources, options: VerifyOptions = {}): Promise<AccountVerification[]> {
  const results: AccountVerification[] = new Array(accountIds.length);
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < accountIds.length; i = next++) results[i] = await verifyAccount(accountIds[i] as string, sources, options);
  };
  await Promise.all(Array.from({ length: Math.max(1, options.concurrency ?? 4) }, lane));
  return results;
}

/** The epoch the workflow's ledger ids carry: the first 8 characters of its first run id. */
export async function workflowEpoch(client: CreditsClient, accountId: string): Promise<string | null> {
  try {
    const description = await client.temporal.workflow.getHandle(accountWorkflowId(accountId)).describe();
    const firstRunId = description.raw.workflowExecutionInfo?.firstRunId;
    return firstRunId ? firstRunId.slice(0, 8) : null;
  } catch {
    // The summary already said whether the account runs; without an epoch the latest one is used.
    return null;
  }
}

/** The ledger's side read from a store the CLI opened. */
function storeSide(store: LedgerStore): Required<Pick<VerifySources, 'facts' | 'chain'>> & { accountIds(): Promise<string[]> } {
  return { facts: (query) => readLedgerFacts(store, query), chain: (accountId, epoch) => readLedgerChain(store, accountId, epoch), accountIds: () => store.listAccountIds() };
}

/** The ledger's side asked of a running main job's admin server (it holds the embedded ledger). */
function adminSide(adminUrl: string): Required<Pick<VerifySources, 'facts' | 'chain'>> & { accountIds(): Promise<string[]> } {
  return {
    async chain(accountId, epoch) {
      const q = epoch === null ? '' : `?${new URLSearchParams({ epoch }).toString()}`;
      const path = `/api/accounts/${encodeURIComponent(accountId)}/ledger/chain${q}`;
      return (await (await fetchFromAdmin(adminUrl, path, `read the ledger of ${accountId}`)).json()) as LedgerChain;
    },
    async facts(query) {
      const q = new URLSearchParams({ cycle: String(query.cycle.index), start: query.cycle.start, end: query.cycle.end });
      if (query.epoch !== null) q.set('epoch', query.epoch);
      const path = `/api/accounts/${encodeURIComponent(query.accountId)}/ledger?${q.toString()}`;
      return (await (await fetchFromAdmin(adminUrl, path, `read the ledger of ${query.accountId}`)).json()) as LedgerFacts;
    },
    async accountIds() {
      return ((await (await fetchFromAdmin(adminUrl, '/api/ledger/accounts', 'list the ledger\'s accounts')).json()) as { accounts: string[] }).accounts;
    },
  };
}

interface VerifyCommandOptions {
  all?: boolean;
  wait?: number;
  json?: boolean;
  history?: boolean;
}

/** Lines for people: one per account, then its differences indented. */
export function formatVerification(results: readonly AccountVerification[]): string[] {
  const lines: string[] = [];
  for (const r of results) {
    const cycle = r.cycleIndex === null ? '' : ` (cycle ${cycleNumber(r.cycleIndex)})`;
    const entries = r.entriesFollowed === 1 ? 'entry' : 'entries';
    const followed = r.entriesFollowed === undefined ? '' : `; ${formatCount(r.entriesFollowed)} ${entries} of every cycle followed`;
    const when = r.closed?.closedAt ? ` on ${formatUtc(r.closed.closedAt)}` : '';
    const closed = r.closed ? `; closed (its workflow was ${r.closed.status}${when}): its last state was checked, and takes no more usage, resets or charges` : '';
    lines.push(r.agrees ? `${r.accountId}${cycle}: summary and ledger agree${followed}${closed}` : `${r.accountId}${cycle}: ${plural(r.differences.length, 'difference')}${followed}${closed}`);
    for (const d of r.differences) lines.push(`  ${d.code}: ${d.message}${d.mayCatchUp ? '' : ' [will not catch up]'}`);
  }
  const differ = results.filter((r) => !r.agrees).length;
  lines.push(`${plural(results.length, 'account')} checked: ${results.length - differ} agree, ${differ} differ`);
  return lines;
}

async function runVerify(io: CliIo, account: string | undefined, o: VerifyCommandOptions, client: CreditsClient): Promise<AccountVerification[]> {
  const deps = cliDeps(io);
  let store: LedgerStore | undefined;
  let side: ReturnType<typeof storeSide>;
  try {
    store = await (deps.openLedger ?? (() => openLedgerStore({ url: CREDITS_LEDGER_URL.read(deps.env), existing: true })))();
    side = storeSide(store);
  } catch (err) {
    if (!isLedgerError(err)) throw err;
    const mainJob = err.code === 'database_locked' ? runningMainJob() : undefined;
    if (!mainJob) throw new CliFailure(err.message);
    side = adminSide(mainJob.adminUrl);
  }
  try {
    const ids = o.all ? await side.accountIds() : [account as string];
    const sources: VerifySources = {
      summary: (id) => client.summary(id),
      epoch: (id) => workflowEpoch(client, id),
      closed: (id) => client.closedRun(id),
      facts: side.facts,
      chain: side.chain,
    };
    return await verifyAccounts(ids, sources, { waitMs: (o.wait ?? 0) * 1000, history: o.history === true });
  } catch (err) {
    if (isLedgerError(err)) throw new CliFailure(err.message);
    throw err;
  } finally {
    await store?.close();
  }
}

/** `--wait`: seconds, a whole number. */
function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 86_400) throw new InvalidArgumentError('expected a whole number of seconds, at most 86400');
  return n;
}

/** Registers `credits ledger verify` on the program. */
export function registerLedgerCommands(program: Command, io: CliIo): void {
  const ledger = program.command('ledger').description('check the usage ledger against the accounts');
  ledger
    .command('verify')
    .description("compare accounts' summaries with their ledger for the current cycle: balance, usage by feature, charges")
    .argument('[account]', 'account id (or --all)')
    .option('--all', 'every account the ledger knows')
    .option('--wait <seconds>', 're-check differences until the ledger catches up or this time runs out', seconds)
    .option('--history', "also follow the running balance and sequence numbers through every cycle of the ledger, not only the current one")
    .option('--json', 'print the results as JSON')
    .action(async (account: string | undefined, options: VerifyCommandOptions) => {
      if ((account === undefined) === (options.all !== true)) {
        throw new CliFailure('name one account, or give --all', EXIT_CODES.usage);
      }
      const results = await withCreditsClient(io, (client) => runVerify(io, account, options, client));
      const agree = results.every((r) => r.agrees);
      if (options.json === true) io.stdout(`${JSON.stringify({ agree, accounts: results }, null, 2)}\n`);
      else writeLines(io.stdout, formatVerification(results));
      if (!agree) {
        const differ = results.filter((r) => !r.agrees).length;
        throw new CliFailure(`${plural(differ, 'account')} of ${results.length} differ from the ledger`);
      }
    });
}
