/**
 * The Temporal CLI's dev server (`temporal server start-dev`): the real Temporal server with
 * SQLite persistence and the Web UI, run as a child process for the main job.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { createConnection } from 'node:net';
import { dirname } from 'node:path';
import { DEFAULT_TEMPORAL_PORT } from './settings';
import { temporalBinaryPath } from './temporal-binaries';

/** Where and how to run the dev server. */
export interface DevServerOptions {
  /** SQLite file the server persists to, so accounts survive a restart. */
  dbFile: string;
  /** File the server's own log goes to. */
  logFile: string;
  host?: string;
  port?: number;
  uiPort?: number;
  namespace?: string;
  /** Run without the Web UI (default false). */
  headless?: boolean;
  /**
   * Search attributes to register at start (`--search-attribute Name=Type`), with the SDK's
   * type names (`KEYWORD`, `KEYWORD_LIST`...). Registering one already there is harmless.
   */
  searchAttributes?: readonly { name: string; type: string }[];
}

/** The dev server's `--search-attribute` spelling of an SDK search attribute type. */
const DEV_SERVER_TYPES: Record<string, string> = {
  TEXT: 'Text',
  KEYWORD: 'Keyword',
  INT: 'Int',
  DOUBLE: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

/** The `--search-attribute Name=Type` arguments of the dev server for these attributes. */
export function searchAttributeArgs(attributes: readonly { name: string; type: string }[]): string[] {
  return attributes.flatMap(({ name, type }) => {
    const cliType = DEV_SERVER_TYPES[type];
    if (cliType === undefined) throw new Error(`unknown search attribute type ${type} for ${name}`);
    return ['--search-attribute', `${name}=${cliType}`];
  });
}

/** A running dev server. */
export interface DevServer {
  address: string;
  uiUrl: string;
  namespace: string;
  /** Stop the server and wait for it to exit. */
  stop(): Promise<void>;
}

/** Whether something accepts TCP connections at host:port. */
export function portOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/**
 * Start the dev server and wait until its frontend accepts connections.
 *
 * @throws Error when the port is already taken (another server is running: point
 *   TEMPORAL_ADDRESS at it instead) or the server exits or does not come up in time.
 */
export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port ?? DEFAULT_TEMPORAL_PORT;
  const uiPort = options.uiPort ?? 8233;
  const namespace = options.namespace ?? 'default';
  if (await portOpen(host, port)) {
    throw new Error(
      `something is already listening on ${host}:${port}; if it is a Temporal server, run with TEMPORAL_ADDRESS=${host}:${port}, or stop it first`,
    );
  }
  mkdirSync(dirname(options.dbFile), { recursive: true });
  mkdirSync(dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  const child = spawn(
    temporalBinaryPath('temporal'),
    [
      'server',
      'start-dev',
      '--ip',
      host,
      '--port',
      String(port),
      '--ui-port',
      String(uiPort),
      '--db-filename',
      options.dbFile,
      '--namespace',
      namespace,
      '--log-level',
      'warn',
      ...(options.headless ? ['--headless'] : []),
      ...searchAttributeArgs(options.searchAttributes ?? []),
    ],
    { stdio: ['ignore', log, log] },
  );
  const deadline = Date.now() + 60_000;
  while (!(await portOpen(host, port))) {
    if (child.exitCode !== null) throw new Error(`the Temporal dev server exited with code ${child.exitCode}; see ${options.logFile}`);
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new Error(`the Temporal dev server did not start within 60 s; see ${options.logFile}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    address: `${host}:${port}`,
    uiUrl: `http://${host}:${uiPort}`,
    namespace,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited(child);
    },
  };
}
