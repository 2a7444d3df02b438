/**
 * The main job: everything on one machine with embedded defaults.
 *
 *   - the Temporal dev server, persisted under .data/temporal (CREDITS_DATA_DIR moves .data), or the server named by
 *     TEMPORAL_ADDRESS (through @temporalio/envconfig),
 *   - the worker running the account workflows and their activities,
 *   - the embedded ledger database under .data/ledger (or CREDITS_LEDGER_URL), shared by the
 *     worker and the admin page in this one process,
 *   - the admin page (CREDITS_ADMIN_PORT, default 8787),
 *   - the HTTP usage API (CREDITS_API_PORT, default 8788) with the keys of CREDITS_API_KEY_HASHES /
 *     CREDITS_API_KEYS_FILE, or, when neither is set, a demo key made for this run and printed once,
 *   - the demo accounts of examples/accounts.yaml (CREDITS_DEMO_ACCOUNTS to use another file,
 *     or `none`), started unless already running,
 *
 * then prints where everything is, with a customer admin's portal link to the first demo
 * account (signed with CREDITS_PORTAL_SECRET, or a secret made for this run). Ctrl-C stops it all cleanly.
 */
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { adminAccessFromEnv, isOpenAccess } from '../admin/access';
import { startAdminServer } from '../admin/server';
import { apiKeysFromEnv, generateApiKey, hashApiKey } from '../api/keys';
import { startUsageApi } from '../api/server';
import { connectCreditsClient, mintPortalLink } from '../client';
import { requireSearchAttributes } from '../client/account-list';
import { importAccounts, readImportFile, type ImportReporter } from '../cli/import-accounts';
import { removeMainJobInfo, writeMainJobInfo } from '../infra/main-job-info';
import { startDevServer, type DevServer } from '../infra/dev-server';
import { dataDir, projectRoot } from '../infra/project-root';
import { CREDITS_ADMIN_PORT, CREDITS_API_PORT, CREDITS_DEMO_ACCOUNTS, TEMPORAL_ADDRESS } from '../infra/settings';
import { openLedgerStore } from '../ledger/open-store';
import { ruleSetSource, type RulesOption } from '../ruleset';
import { demoPromotionRule, readDemoPromotion, withPromotion } from './demo-promotion';
import { connectWorker, createCreditsWorker, installJsonLogger, workerSettingsFromEnv, type WorkerSettings } from '../worker';
import { ACCOUNT_SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes';


/**
 * The rules the main job runs with: the configured ones as they are; with the shipped rules and
 * the shipped demo accounts, those plus the demo promotion of examples/demo-promotion.yaml,
 * dated from today, so the Chloe beta demo account shows its grant whenever the demo starts.
 */
function demoRules(settings: WorkerSettings, demoFile: string): RulesOption | undefined {
  if (settings.rulesPath !== undefined || CREDITS_DEMO_ACCOUNTS.read() !== undefined || demoFile === 'none') return settings.rulesPath;
  const promotion = demoPromotionRule(readDemoPromotion(join(projectRoot(), 'examples', 'demo-promotion.yaml')), Date.now());
  return withPromotion(ruleSetSource(undefined), promotion);
}

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Everything the main job reads from its environment, read before anything starts: a setting
 * that cannot be used stops it with its message, not after the dev server and the worker are up.
 */
interface MainJobConfig {
  settings: WorkerSettings;
  adminPort: number;
  apiPort: number;
  demoFile: string;
  access: ReturnType<typeof adminAccessFromEnv>;
  apiKeys: ReturnType<typeof apiKeysFromEnv>;
}

function readConfig(): MainJobConfig {
  return {
    settings: workerSettingsFromEnv(),
    adminPort: CREDITS_ADMIN_PORT.read(),
    apiPort: CREDITS_API_PORT.read(),
    demoFile: CREDITS_DEMO_ACCOUNTS.read() ?? join(projectRoot(), 'examples', 'accounts.yaml'),
    access: adminAccessFromEnv(),
    apiKeys: apiKeysFromEnv(),
  };
}

async function main(): Promise<void> {
  installJsonLogger('WARN');
  const config = readConfig();
  let devServer: DevServer | undefined;
  if (TEMPORAL_ADDRESS.read() === undefined) {
    say(`Starting the Temporal dev server (data in ${join(dataDir(), 'temporal')})...`);
    devServer = await startDevServer({
      dbFile: join(dataDir(), 'temporal', 'dev.db'),
      logFile: join(dataDir(), 'temporal', 'server.log'),
      searchAttributes: ACCOUNT_SEARCH_ATTRIBUTE_KEYS,
    });
    // Both connections below read the address through @temporalio/envconfig, from process.env.
    process.env[TEMPORAL_ADDRESS.name] = devServer.address;
  }
  // The dev server is a child process that would outlive a start-up failure: stop it whatever happens.
  try {
    await runOn(config, devServer?.uiUrl);
  } finally {
    await devServer?.stop();
  }
}

/** `start`, with a port already taken said as the operator can act on it. */
async function listening<T>(what: string, variable: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException | undefined)?.code;
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err;
    const where = err instanceof Error ? err.message.replace(/^listen \w+: /, '') : String(err);
    throw new Error(`${what} cannot listen: ${where} (is another main job running? set ${variable} to another port, or 0 for any free one)`, { cause: err });
  }
}

async function runOn(config: MainJobConfig, webUiUrl: string | undefined): Promise<void> {
  const { settings, demoFile, access: configuredAccess, apiKeys: configuredKeys } = config;
  const { connection: nativeConnection, namespace, address } = await connectWorker();
  const { client: creditsClient, close: closeClient } = await connectCreditsClient();
  // Whatever was opened is closed again, in reverse order, however the start-up or the run ends.
  const closers: Array<() => Promise<unknown>> = [() => nativeConnection.close(), closeClient];
  let running: Promise<void> | undefined;
  let credits: Awaited<ReturnType<typeof createCreditsWorker>> | undefined;
  try {
    // An existing server (TEMPORAL_ADDRESS) may lack the accounts' search attributes: say how to add them.
    await requireSearchAttributes(creditsClient.temporal.connection, namespace, (message) => say(`warning: ${message}`));
    const store = await openLedgerStore({ url: settings.ledgerUrl });
    closers.push(() => store.close());
    const rules = demoRules(settings, demoFile);
    credits = await createCreditsWorker({ connection: nativeConnection, namespace, settings, store, rules });
    running = credits.run();
    // Without a configured portal secret, one made for this run signs the demo link (and dies with it).
    const access = { ...configuredAccess, portalSecret: configuredAccess.portalSecret ?? randomBytes(32).toString('base64url') };
    const admin = await listening('the admin page', CREDITS_ADMIN_PORT.name, () =>
      startAdminServer({
        client: creditsClient,
        store,
        port: config.adminPort,
        rules,
        access,
      }),
    );
    closers.push(() => admin.close());
    // Configured keys exist here only as hashes, so none can be printed; without any, a demo key
    // made for this run (and useless after it) is printed once so the walkthrough can call the API.
    const demoKey = configuredKeys.length === 0 ? generateApiKey() : undefined;
    const keys = demoKey === undefined ? configuredKeys : [{ hash: Buffer.from(hashApiKey(demoKey), 'hex') }];
    const api = await listening('the usage API', CREDITS_API_PORT.name, () =>
      startUsageApi({
        client: creditsClient,
        keys,
        port: config.apiPort,
        rules,
        // Stop taking requests at once; open ones finish while the worker drains.
        closeOnSignals: ['SIGTERM', 'SIGINT'],
      }),
    );
    closers.push(() => api.close());
    writeMainJobInfo({ pid: process.pid, adminUrl: admin.url, temporalAddress: address });
    // Removed only by the job that wrote it: a second main job that fails to start (its ports
    // taken by the first) must leave the first one's file alone.
    closers.push(async () => removeMainJobInfo());

    const demoIds: string[] = [];
    if (demoFile !== 'none') {
      const reporter: ImportReporter = {
        row(row, outcome, detail) {
          if (row.accountId) demoIds.push(row.accountId);
          say(`  ${row.accountId ?? row.where}: ${outcome}${detail ? ` (${detail})` : ''}`);
        },
        done() {},
      };
      say(`Demo accounts from ${demoFile}:`);
      await importAccounts(creditsClient, readImportFile(demoFile), reporter);
    }

    say();
    say('AI credits engine is running.');
    say(`  Temporal server   ${address} (namespace ${namespace})`);
    if (webUiUrl) say(`  Temporal Web UI   ${webUiUrl}`);
    say(`  Worker            task queue ${settings.taskQueue}`);
    say(`  Ledger            ${store.label}`);
    say(`  Admin page        ${admin.url}${isOpenAccess(access) ? ' (this machine only, no sign-in: no operator credential is set)' : ' (operators sign in at /login)'}`);
    for (const id of demoIds) say(`                    ${admin.url}/accounts/${id}`);
    const [firstDemo] = demoIds;
    if (firstDemo !== undefined) {
      const link = await mintPortalLink(firstDemo, { secret: access.portalSecret, baseUrl: admin.url });
      say(`  Customer link     ${link.url}`);
      const more = configuredAccess.portalSecret === undefined ? 'set CREDITS_PORTAL_SECRET to mint more' : 'more: npx credits portal link ACCOUNT';
      say(`                    (${firstDemo}'s admin view only, once, until ${link.expiresAt}; ${more})`);
    }
    say(`  Usage API         ${api.address} (OpenAPI: ${api.address}/openapi.json)`);
    if (demoKey !== undefined) say(`  Demo API key      ${demoKey} (this run only; set CREDITS_API_KEY_HASHES for real keys)`);
    say();
    say('Start an account from another terminal:');
    say(`  export TEMPORAL_ADDRESS=${address}`);
    say('  npx credits account start acme --plan growth --users 5');
    say('  npx credits usage record acme enrichment 25 --key first-use');
    say('  npx credits account show acme');
    say('  npx credits usage export acme > acme-usage.csv');
    if (demoKey !== undefined) {
      say('Or over HTTP:');
      say(`  curl -H 'Authorization: Bearer ${demoKey}' ${api.address}/v1/accounts/acme/balance`);
    }
    say();
    say('Press Ctrl-C to stop.');
    await running;
  } catch (err) {
    // A start-up step failed (a port in use, a demo file that cannot be read) with the worker
    // already polling: stop it, or the process would hang on with nothing to say why.
    if (running !== undefined && credits !== undefined && credits.worker.getState() === 'RUNNING') credits.worker.shutdown();
    await running?.catch(() => undefined);
    throw err;
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    say('Stopped.');
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`main job: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
