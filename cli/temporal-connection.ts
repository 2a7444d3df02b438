/**
 * How `credits account|usage|call` commands reach Temporal: connect from the standard
 * environment (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, TLS/API key/profile variables, and
 * `CREDITS_TASK_QUEUE`), or use a client injected through the io object (tests run `main`
 * in-process against a test server). Client errors become one-line {@link CliFailure}s.
 */
import type { Client } from '@temporalio/client';
import {
  CreditsClient,
  connectCreditsClient,
  isAccountNotFoundError,
  isCreditsError,
  isCreditsInputError,
  type CreditsClientOptions,
} from '../client';
import { CREDITS_RULES, CREDITS_TASK_QUEUE, type Env } from '../infra/settings';
import type { LedgerStore } from '../ledger/store';
import { CliFailure } from './io';
import type { CliIo } from './io';

/** What the account commands may be handed instead of finding it themselves. */
export interface CreditsCliDeps {
  /** A connected Temporal client to use instead of connecting from the environment. */
  readonly temporalClient?: Client;
  /** Environment to read instead of `process.env`. */
  readonly env?: Env;
  /** Whether to draw progress bars (default: whether stderr is a terminal). */
  readonly interactive?: boolean;
  /** Opens the usage ledger for `usage export` (default: from `CREDITS_LEDGER_URL`). */
  readonly openLedger?: () => Promise<LedgerStore>;
}

/** The CLI's io, optionally carrying {@link CreditsCliDeps} (`main(argv, io)` passes it through). */
export interface CreditsCliIo extends CliIo {
  readonly credits?: CreditsCliDeps;
}

/** The deps carried by `io`, if any. */
export function cliDeps(io: CliIo): CreditsCliDeps {
  return (io as CreditsCliIo).credits ?? {};
}

/**
 * A command waits at most about half a minute for an account that does not answer (no worker
 * running, say) instead of the library's more patient default for services.
 */
const CLI_CLIENT_OPTIONS: CreditsClientOptions = {
  retry: { maxAttempts: 3, initialDelayMs: 250, maxDelayMs: 2_000 },
  attemptTimeoutMs: 10_000,
  openTimeoutMs: 20_000,
  // An operator's start with rules that cannot be read would go unchecked and could leave a
  // failed workflow behind: refuse it, saying why.
  onRulesUnreadable: (err) => {
    // A RulesError's message is its first diagnostic, file:line:column, and how many more.
    const why = err instanceof Error ? err.message : String(err);
    throw new CliFailure(`the rules to check the start against cannot be read (CREDITS_RULES, else rules/): ${why}; nothing was started`);
  },
};

/** A credits client error as the one-line message the CLI prints (exit code 1). */
export function cliFailureOf(err: unknown): unknown {
  if (!isCreditsError(err)) return err;
  if (isCreditsInputError(err)) return new CliFailure(`rejected: ${err.message} [${err.problem}]`);
  if (isAccountNotFoundError(err)) {
    // A closed account is started again only on purpose: a plain start is refused.
    const how = err.closed ? 'start it again only on purpose, with `credits account start ... --restart-closed`' : 'start it with `credits account start`';
    return new CliFailure(`${err.message} (${how})`);
  }
  return new CliFailure(err.message);
}

/**
 * Runs `fn` with a credits client (injected, or connected from the environment and closed
 * afterwards); client errors become {@link CliFailure}s.
 */
export async function withCreditsClient<T>(io: CliIo, fn: (client: CreditsClient) => Promise<T>): Promise<T> {
  const deps = cliDeps(io);
  const { env } = deps;
  try {
    if (deps.temporalClient !== undefined) {
      const taskQueue = CREDITS_TASK_QUEUE.read(env);
      return await fn(new CreditsClient(deps.temporalClient, { ...CLI_CLIENT_OPTIONS, taskQueue, rules: CREDITS_RULES.read(env) }));
    }
    const connection = await connectCreditsClient({ ...CLI_CLIENT_OPTIONS, env });
    try {
      return await fn(connection.client);
    } finally {
      await connection.close();
    }
  } catch (err) {
    throw cliFailureOf(err);
  }
}
