/**
 * Runs the `credits` CLI in-process, the way bin/credits.js does, with an injected Temporal
 * client (the test server's) and captured output. Shared by the account, usage and import
 * command tests.
 */
import type { Client } from '@temporalio/client';
import { main } from '../../cli/main';
import type { CreditsCliDeps, CreditsCliIo } from '../../cli/temporal-connection';
import type { LedgerStore } from '../../ledger/store';

/** What one run printed and how it ended. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `credits ...args` against `client`, with `taskQueue` passed the way users pass it (CREDITS_TASK_QUEUE). */
export async function runCli(args: readonly string[], client: Client, taskQueue: string, deps: CreditsCliDeps = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CreditsCliIo = {
    stdout: (text) => {
      stdout += text;
    },
    stderr: (text) => {
      stderr += text;
    },
    credits: { temporalClient: client, env: { CREDITS_TASK_QUEUE: taskQueue }, interactive: false, ...deps },
  };
  const code = await main(['node', 'credits', ...args], io);
  return { code, stdout, stderr };
}

/**
 * A store lent to the CLI (as `openLedger`): the CLI closes what it opens, so its `close` does
 * nothing here; the test closes the store itself.
 */
export function lentStore(store: LedgerStore): LedgerStore {
  return new Proxy(store, {
    get(target, property) {
      if (property === 'close') return async () => undefined;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
