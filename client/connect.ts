/**
 * Connecting to Temporal the way every Temporal tool does: the standard environment
 * configuration (`TEMPORAL_ADDRESS`, `TEMPORAL_NAMESPACE`, `TEMPORAL_API_KEY`, `TEMPORAL_TLS*`,
 * `TEMPORAL_PROFILE` and the `temporal.toml` profiles), read by `@temporalio/envconfig`, plus
 * this engine's own `CREDITS_TASK_QUEUE`. A service can use it or build its own `Client`.
 */
import { Client, Connection } from '@temporalio/client';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { CREDITS_RULES, CREDITS_TASK_QUEUE, DEFAULT_TEMPORAL_ADDRESS, DEFAULT_TEMPORAL_NAMESPACE, type Env } from '../infra/settings';
import { CreditsClient, type CreditsClientOptions } from './credits-client';
import { CreditsUnavailableError } from './errors';

/** Options of {@link connectCreditsClient}. */
export interface ConnectOptions extends Omit<CreditsClientOptions, 'namespace' | 'taskQueue'> {
  /** Environment to read instead of `process.env` (tests, or a service's own settings). */
  env?: Env;
  /** How long to try to reach the server, in ms (default 5,000). */
  connectTimeoutMs?: number;
}

/** An open connection with its credits client. */
export interface CreditsConnection {
  client: CreditsClient;
  /** The server address connected to, for messages. */
  address: string;
  /**
   * Answers the usage calls the client still queues ({@link CreditsClient.close}), then closes
   * the connection; the client cannot be used afterwards.
   */
  close(): Promise<void>;
}

function definedOnly(env: Env): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

/**
 * Connects to Temporal from the environment and returns a {@link CreditsClient} on it.
 *
 * @throws CreditsUnavailableError when the server cannot be reached, naming the address and
 *   how to start a local dev server.
 */
export async function connectCreditsClient(options: ConnectOptions = {}): Promise<CreditsConnection> {
  const { env = process.env, connectTimeoutMs = 5_000, ...clientOptions } = options;
  const config = loadClientConnectConfig({ overrideEnvVars: definedOnly(env) });
  const address = config.connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS;
  let connection: Connection;
  try {
    connection = await Connection.connect({
      ...config.connectionOptions,
      address,
      connectTimeout: connectTimeoutMs,
    });
  } catch (err) {
    const hint =
      config.connectionOptions.address === undefined
        ? "is the dev server running? start one with `temporal server start-dev` (this project's own copy: .venv/bin/temporal), or set TEMPORAL_ADDRESS"
        : 'is the server up, and are TEMPORAL_ADDRESS and its TLS/API key settings right?';
    throw new CreditsUnavailableError(`cannot reach Temporal at ${address}: ${hint}`, { cause: err });
  }
  const temporal = new Client({ connection, namespace: config.namespace ?? DEFAULT_TEMPORAL_NAMESPACE });
  // Unset, the client uses the wire contract's DEFAULT_TASK_QUEUE.
  const client = new CreditsClient(temporal, { rules: CREDITS_RULES.read(env), ...clientOptions, taskQueue: CREDITS_TASK_QUEUE.read(env) });
  return {
    client,
    address,
    close: async () => {
      await client.close();
      await connection.close();
    },
  };
}
