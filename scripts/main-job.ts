/**
 * The main job: everything on one machine with embedded defaults.
 *
 *   - the Temporal dev server, persisted under .data/temporal (or the server named by
 *     TEMPORAL_ADDRESS, through @temporalio/envconfig),
 *   - the worker running the account workflows and their activities,
 *   - the embedded ledger database under .data/ledger (or CREDITS_LEDGER_URL),
 *
 * then prints where everything is. Ctrl-C stops it all cleanly.
 */
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../infra/dev-server';
import { projectRoot } from '../infra/project-root';
import { openLedgerStore } from '../ledger/open-store';
import { createCreditsWorker, installJsonLogger, workerSettingsFromEnv } from '../worker';

const DATA = join(projectRoot(), '.data');

function say(line = ''): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  installJsonLogger('WARN');
  const settings = workerSettingsFromEnv();
  let devServer: DevServer | undefined;
  if (!process.env.TEMPORAL_ADDRESS) {
    say('Starting the Temporal dev server (data in .data/temporal)...');
    devServer = await startDevServer({
      dbFile: join(DATA, 'temporal', 'dev.db'),
      logFile: join(DATA, 'temporal', 'server.log'),
    });
    process.env.TEMPORAL_ADDRESS = devServer.address;
  }
  const { connectionOptions, namespace = 'default' } = loadClientConnectConfig();
  const nativeConnection = await NativeConnection.connect(connectionOptions);
  const connection = await Connection.connect(connectionOptions);
  const client = new Client({ connection, namespace });
  const store = await openLedgerStore({ url: settings.ledgerUrl });
  const credits = await createCreditsWorker({ connection: nativeConnection, namespace, settings, store });
  const running = credits.run();

  const address = String(connectionOptions.address ?? process.env.TEMPORAL_ADDRESS);
  say();
  say('AI credits engine is running.');
  say(`  Temporal server   ${address} (namespace ${namespace})`);
  if (devServer) say(`  Temporal Web UI   ${devServer.uiUrl}`);
  say(`  Worker            task queue ${settings.taskQueue}`);
  say(`  Ledger            ${settings.ledgerUrl ?? 'embedded, .data/ledger'}`);
  say();
  say('Start an account from another terminal:');
  say(`  TEMPORAL_ADDRESS=${address} npx credits account start acme --plan growth --users 5`);
  say(`  TEMPORAL_ADDRESS=${address} npx credits usage record acme enrichment 25 --key first-use`);
  say(`  TEMPORAL_ADDRESS=${address} npx credits account show acme`);
  say();
  say('Press Ctrl-C to stop.');

  try {
    await running;
  } finally {
    await connection.close();
    await nativeConnection.close();
    await store.close();
    await devServer?.stop();
    say('Stopped.');
  }
  void client;
}

main().catch((err: unknown) => {
  process.stderr.write(`main job: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
