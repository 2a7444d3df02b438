/**
 * What the admin page's end-to-end tests run against: the real account workflow on the
 * time-skipping server, the real activities writing to an embedded ledger in a temporary
 * directory, a `CreditsClient`, the admin server on a free port and one headless Chromium.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Browser } from 'playwright-core';
import { createActivities } from '../../activities';
import { startAdminServer, type AdminServer, type AdminServerOptions } from '../../admin/server';
import { CreditsClient } from '../../client';
import { openLedgerStore } from '../../ledger/open-store';
import type { LedgerStore } from '../../ledger/store';
import { defaultRulesPath } from '../../ruleset';
import { startWorker, timeSkippingEnv } from '../helpers/workflow-harness';
import { launchChromium } from './browser';

/** A running stack; `close()` stops all of it and removes the ledger directory. */
export interface AdminStack {
  env: TestWorkflowEnvironment;
  store: LedgerStore;
  credits: CreditsClient;
  admin: AdminServer;
  browser: Browser;
  close(): Promise<void>;
}

/** Starts the stack; `adminOptions` are added to the admin server's (e.g. `access`, `log`). */
export async function startAdminStack(adminOptions: Partial<AdminServerOptions> = {}): Promise<AdminStack> {
  const ledgerDir = mkdtempSync(join(tmpdir(), 'admin-ledger-'));
  const [env, store, browser] = await Promise.all([timeSkippingEnv(), openLedgerStore({ url: `pglite:${ledgerDir}` }), launchChromium()]);
  const quiet = { info: () => undefined, warn: () => undefined, error: (m: string) => console.error(m) };
  const worker = await startWorker(env, createActivities({ store, rules: defaultRulesPath(), mailer: null, log: quiet }));
  const credits = new CreditsClient(env.client, { taskQueue: worker.taskQueue });
  const admin = await startAdminServer({ client: credits, store, port: 0, ...adminOptions });
  return {
    env,
    store,
    credits,
    admin,
    browser,
    async close() {
      await browser.close();
      await admin.close();
      await worker.stop();
      await env.teardown();
      await store.close();
      rmSync(ledgerDir, { recursive: true, force: true });
    },
  };
}
