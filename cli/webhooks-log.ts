/**
 * `credits webhooks log [--account A] [--event ID] [--limit N] [--json]`: the webhook delivery
 * log, newest first: one line per attempt to post an event to an endpoint. Read from the
 * ledger database, or, while the main job holds the embedded ledger, from its admin server.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { CREDITS_LEDGER_URL } from '../infra/settings';
import { runningMainJob } from '../infra/main-job-info';
import { isLedgerError } from '../ledger/errors';
import { openLedgerStore } from '../ledger/open-store';
import type { LedgerStore } from '../ledger/store';
import { MAX_WEBHOOK_LOG_ROWS, type WebhookAttempt, type WebhookLogFilter } from '../ledger/webhook-deliveries';
import { CliFailure, report, type CliIo } from './io';
import { fetchFromAdmin } from './main-job-admin';
import { cliDeps } from './temporal-connection';
import { renderTable } from './text-table';

interface LogOptions {
  account?: string;
  event?: string;
  limit?: number;
  json?: boolean;
}

/** Lines for people: a table of attempts, or a sentence when there are none. */
export function formatWebhookLog(attempts: readonly WebhookAttempt[]): string[] {
  if (attempts.length === 0) return ['no webhook deliveries recorded'];
  const columns = [{ heading: 'AT' }, { heading: 'EVENT' }, { heading: 'ENDPOINT' }, { heading: 'TRY', align: 'right' as const }, { heading: 'RESULT' }];
  const rows = attempts.map((a) => [
    a.at,
    a.eventId,
    a.endpoint,
    String(a.attempt),
    a.delivered ? `delivered (${a.httpStatus ?? ''})` : `failed: ${(a.error ?? '').replace(/\s+/g, ' ').slice(0, 80)}`,
  ]);
  return renderTable(columns, rows, 0);
}

function limitOption(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n < 1 || n > MAX_WEBHOOK_LOG_ROWS) throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_WEBHOOK_LOG_ROWS}`);
  return n;
}

async function readLog(io: CliIo, filter: WebhookLogFilter): Promise<WebhookAttempt[]> {
  const deps = cliDeps(io);
  let store: LedgerStore;
  try {
    store = await (deps.openLedger ?? (() => openLedgerStore({ url: CREDITS_LEDGER_URL.read(deps.env), existing: true })))();
  } catch (err) {
    if (!isLedgerError(err)) throw err;
    const mainJob = err.code === 'database_locked' ? runningMainJob() : undefined;
    if (!mainJob) throw new CliFailure(err.message);
    const query = new URLSearchParams();
    if (filter.accountId) query.set('account', filter.accountId);
    if (filter.eventId) query.set('event', filter.eventId);
    if (filter.limit) query.set('limit', String(filter.limit));
    const response = await fetchFromAdmin(mainJob.adminUrl, `/api/webhooks/deliveries?${query}`, 'read the webhook log');
    return ((await response.json()) as { deliveries: WebhookAttempt[] }).deliveries;
  }
  try {
    return await store.listWebhookAttempts(filter);
  } catch (err) {
    if (isLedgerError(err)) throw new CliFailure(err.message);
    throw err;
  } finally {
    await store.close();
  }
}

/** Registers `credits webhooks log` on the program. */
export function registerWebhookCommands(program: Command, io: CliIo): void {
  const webhooks = program.command('webhooks').description('webhook deliveries to the endpoints of CREDITS_WEBHOOKS_FILE');
  webhooks
    .command('log')
    .description('every attempt to deliver a webhook event, newest first')
    .option('--account <id>', "only this account's events")
    .option('--event <id>', 'only this event id')
    .option('--limit <n>', `most attempts shown (1 to ${MAX_WEBHOOK_LOG_ROWS}, default 100)`, limitOption)
    .option('--json', 'print the attempts as JSON')
    .action(async (options: LogOptions) => {
      const filter: WebhookLogFilter = {
        ...(options.account !== undefined ? { accountId: options.account } : {}),
        ...(options.event !== undefined ? { eventId: options.event } : {}),
        ...(options.limit !== undefined ? { limit: options.limit } : {}),
      };
      const attempts = await readLog(io, filter);
      report(io, options.json, { deliveries: attempts }, () => formatWebhookLog(attempts));
    });
}
