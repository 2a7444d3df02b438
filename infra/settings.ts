/**
 * Every environment variable the engine reads, in one place: its name, what it sets, its
 * default and how its text is read. The worker, the client's connection helper, the CLI, the
 * main job, the ledger, the rules source, the mailer and the Temporal binary lookup all read
 * their settings through here, and the README's settings table is rendered from this list (a
 * test keeps the two equal), so a variable cannot be added, renamed or re-defaulted in one
 * place and forgotten in the other.
 *
 * The Temporal connection variables are read by `@temporalio/envconfig` itself, like every
 * Temporal tool does; they are listed here for the documentation, with the defaults the
 * engine applies when they are unset.
 */
import { isIP } from 'node:net';

/** Environment variables as read: `process.env`, or a test's or a service's own. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Where Temporal is when nothing says otherwise: the dev server's port on this machine. */
export const DEFAULT_TEMPORAL_PORT = 7233;
/** The Temporal address used when `TEMPORAL_ADDRESS` (or a config profile) names none. */
export const DEFAULT_TEMPORAL_ADDRESS = `localhost:${DEFAULT_TEMPORAL_PORT}`;
/** The Temporal namespace used when `TEMPORAL_NAMESPACE` (or a config profile) names none. */
export const DEFAULT_TEMPORAL_NAMESPACE = 'default';
/** Where the admin page listens when `CREDITS_ADMIN_PORT` is unset. */
export const DEFAULT_ADMIN_PORT = 8787;
/** Where the usage API listens when `CREDITS_API_PORT` is unset. */
export const DEFAULT_API_PORT = 8788;
/** Where the Temporal SDK's Prometheus exporter binds when `CREDITS_TEMPORAL_METRICS_ADDRESS` is unset. */
export const DEFAULT_TEMPORAL_METRICS_ADDRESS = '127.0.0.1:9465';

/** Stable codes of {@link SettingsError}. */
export const SETTINGS_ERROR_CODES = ['invalid_setting'] as const;
/** A {@link SettingsError}'s code. */
export type SettingsErrorCode = (typeof SETTINGS_ERROR_CODES)[number];

/** A variable whose value cannot be used; the message names the variable and what it must be. */
export class SettingsError extends Error {
  /** Stable code. */
  readonly code: SettingsErrorCode = 'invalid_setting';
}

/** Whether `err` is a {@link SettingsError}. */
export function isSettingsError(err: unknown): err is SettingsError {
  return err instanceof SettingsError;
}

/** A variable as the documentation lists it. */
export interface SettingDoc {
  /** The variable's name (`TEMPORAL_TLS_*` for a family of them). */
  readonly name: string;
  /** What it sets, in the README's words (Markdown). */
  readonly meaning: string;
  /** Its default as the README writes it (Markdown): `unset` when there is none. */
  readonly shownDefault: string;
}

/** A variable the engine reads itself. */
export interface Setting<T> extends SettingDoc {
  /**
   * The value in `env` (default `process.env`), parsed; the default when unset or empty.
   *
   * @throws SettingsError when the text cannot be used.
   */
  read(env?: Env): T;
}

/** The variable's text, trimmed; undefined when unset or blank. */
function textIn(env: Env, name: string): string | undefined {
  return env[name]?.trim() || undefined;
}

/** A variable taken as text: undefined when unset, so the reader applies its own default. */
function text(name: string, meaning: string, shownDefault = 'unset'): Setting<string | undefined> {
  return { name, meaning, shownDefault, read: (env = process.env) => textIn(env, name) };
}

/** The highest TCP port. */
const MAX_PORT = 65_535;

/**
 * A whole number from `min` to `max`, `fallback` when unset or empty. Written in digits only:
 * `1e3`, `0x10` or `5.0` are refused rather than read as numbers, as the CLI's options are.
 */
function wholeNumber(name: string, meaning: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): Setting<number> {
  return {
    name,
    meaning,
    shownDefault: String(fallback),
    read(env = process.env) {
      const raw = env[name];
      if (raw === undefined || raw === '') return fallback;
      const value = /^\s*\d+\s*$/.test(raw) ? Number(raw) : Number.NaN;
      if (!Number.isSafeInteger(value) || value < min || value > max) {
        const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
        throw new SettingsError(`${name} must be a whole number ${range}, got "${raw}"`);
      }
      return value;
    },
  };
}

/**
 * A whole number from `min` to `max`, undefined when unset or empty: the feature it sets is off,
 * or the reader works out its own default (as `shownDefault` says).
 */
function optionalWholeNumber(name: string, meaning: string, min: number, shownDefault = 'unset', max = Number.MAX_SAFE_INTEGER): Setting<number | undefined> {
  const parse = wholeNumber(name, meaning, -1, min, max).read;
  return { name, meaning, shownDefault, read: (env = process.env) => (textIn(env, name) === undefined ? undefined : parse(env)) };
}

/**
 * An IP address and port (`127.0.0.1:9465`, `[::1]:9465`), undefined when unset or empty. The
 * Temporal runtime binds its exporter to a socket address, not a host name, and refuses any
 * other text with a message that names neither the variable nor the form it wants.
 */
function socketAddress(name: string, meaning: string, shownDefault: string): Setting<string | undefined> {
  return {
    name,
    meaning,
    shownDefault,
    read(env = process.env) {
      const raw = textIn(env, name);
      if (raw === undefined) return undefined;
      const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(raw);
      const host = match?.[1] ?? match?.[2];
      const fits = match !== null && host !== undefined && isIP(host) === (match[1] === undefined ? 4 : 6) && Number(match[3]) <= MAX_PORT;
      if (!fits) throw new SettingsError(`${name} must be an IP address and port, such as 127.0.0.1:9465 or [::1]:9465 (not a host name), got "${raw}"`);
      return raw;
    },
  };
}

/** One of `words` (any case), `fallback` when unset or empty. */
function oneOf<const W extends string>(name: string, meaning: string, words: readonly W[], fallback: W): Setting<W> {
  return {
    name,
    meaning,
    shownDefault: `\`${fallback}\``,
    read(env = process.env) {
      const raw = textIn(env, name);
      if (raw === undefined) return fallback;
      const word = words.find((w) => w === raw.toUpperCase());
      if (word === undefined) throw new SettingsError(`${name} must be one of ${words.join(', ')}, got "${raw}"`);
      return word;
    },
  };
}

/** The Temporal frontend; the main job starts a dev server when this is unset. */
export const TEMPORAL_ADDRESS = text(
  'TEMPORAL_ADDRESS',
  'Temporal frontend, read by `@temporalio/envconfig` (as are the `TEMPORAL_*` variables below)',
  `\`${DEFAULT_TEMPORAL_ADDRESS}\``,
);

/** The other Temporal connection variables, read by `@temporalio/envconfig` only. */
export const TEMPORAL_CONNECTION_DOCS: readonly SettingDoc[] = [
  { name: 'TEMPORAL_NAMESPACE', meaning: 'namespace of the account workflows', shownDefault: `\`${DEFAULT_TEMPORAL_NAMESPACE}\`` },
  { name: 'TEMPORAL_API_KEY', meaning: 'API key (Temporal Cloud)', shownDefault: 'unset' },
  { name: 'TEMPORAL_TLS_*', meaning: 'TLS: client certificate and key, server CA, server name', shownDefault: 'unset' },
  { name: 'TEMPORAL_PROFILE', meaning: 'profile of the Temporal `temporal.toml` config file', shownDefault: '`default`' },
  { name: 'TEMPORAL_CONFIG_FILE', meaning: 'the `temporal.toml` config file', shownDefault: "the Temporal CLI's" },
];

/** Task queue of the account workflows; unset means the wire contract's `DEFAULT_TASK_QUEUE`. */
export const CREDITS_TASK_QUEUE = text('CREDITS_TASK_QUEUE', 'task queue of the account workflows', '`ai-credits`');

/** The worker's rules file or directory; unset means the shipped `rules/`. */
export const CREDITS_RULES = text(
  'CREDITS_RULES',
  'rules file or directory; new files are picked up without a restart (looked for at most once a second)',
  'the shipped `rules/`',
);

/**
 * The ledger database: `postgres://user:pass@host:port/db` for a PostgreSQL server,
 * `pglite:<dir>` for an embedded database in `<dir>` (relative to the working directory),
 * `pglite:memory` for a throwaway one; unset for `ledger` in the data directory.
 */
export const CREDITS_LEDGER_URL = text(
  'CREDITS_LEDGER_URL',
  '`postgres://user:pass@host:port/db`, `pglite:<dir>` or `pglite:memory`',
  '`pglite:.data/ledger`',
);

/** Local state (dev server database, embedded ledger, the main job's address file); unset means `.data`. */
export const CREDITS_DATA_DIR = text(
  'CREDITS_DATA_DIR',
  "local state: the dev server's database, the embedded ledger, the running main job's address",
  '`.data` in the project',
);

/** The SMTP server of alert e-mails; unset means e-mail is off (in-app only). */
export const SMTP_URL = text('SMTP_URL', 'alert e-mail (`smtp://user:pass@host:port`, `smtps://` for TLS); unset: in-app only', 'unset');

/** The sender of alert e-mails, e.g. `AI Credits <credits@example.com>`; required with `SMTP_URL`. */
export const SMTP_FROM = text('SMTP_FROM', 'sender of alert e-mails (`AI Credits <credits@example.com>`); needed with `SMTP_URL`', 'unset');

/** How many activity tasks one worker runs at once. */
export const CREDITS_MAX_CONCURRENT_ACTIVITIES = wholeNumber(
  'CREDITS_MAX_CONCURRENT_ACTIVITIES',
  'worker concurrency: activity tasks at once',
  50,
  1,
);

/** How many workflow tasks one worker runs at once. */
export const CREDITS_MAX_CONCURRENT_WORKFLOW_TASKS = wholeNumber(
  'CREDITS_MAX_CONCURRENT_WORKFLOW_TASKS',
  'worker concurrency: workflow tasks at once',
  50,
  1,
);

/**
 * How many threads run workflow code in one worker. A workflow task spends much of its time
 * entering and leaving the SDK's sandbox (a watchdog per entry, waited on rather than computed),
 * so with many busy accounts a second thread keeps the other core busy meanwhile; one
 * account's tasks still run one at a time, in order.
 */
export const CREDITS_WORKFLOW_THREADS = wholeNumber('CREDITS_WORKFLOW_THREADS', 'worker concurrency: threads running workflow code', 2, 1);

/**
 * How many workflow runs one worker keeps in memory between their tasks; unset, the worker
 * sizes it to its heap (see `defaultMaxCachedWorkflows` in worker.ts).
 */
export const CREDITS_MAX_CACHED_WORKFLOWS = optionalWholeNumber(
  'CREDITS_MAX_CACHED_WORKFLOWS',
  'worker memory: account workflows kept in memory between their tasks (one that is not replays its history at its next task); a busy account holds about 6.5 MiB',
  2,
  '(heap limit in MiB − 200) ÷ 8, at least `CREDITS_MAX_CONCURRENT_WORKFLOW_TASKS`',
);

/** The worker's log level. */
export const CREDITS_LOG_LEVEL = oneOf(
  'CREDITS_LOG_LEVEL',
  '`DEBUG`, `INFO`, `WARN`, `ERROR`; logs are JSON lines on stdout',
  ['DEBUG', 'INFO', 'WARN', 'ERROR'],
  'INFO',
);

/**
 * How long the worker may take to stop after SIGTERM or SIGINT, or after its SDK failed,
 * before it forces its own exit with a non-zero status so its supervisor restarts it.
 */
export const CREDITS_SHUTDOWN_GRACE_SECONDS = wholeNumber(
  'CREDITS_SHUTDOWN_GRACE_SECONDS',
  'worker: seconds to stop after SIGTERM/SIGINT or a failure before exiting anyway (status 1)',
  10,
  1,
);

/** The main job's admin page port (0: any free port). */
export const CREDITS_ADMIN_PORT = wholeNumber('CREDITS_ADMIN_PORT', 'main job: port of the admin page', DEFAULT_ADMIN_PORT, 0, MAX_PORT);

/** The main job's usage API port (0: any free port). */
export const CREDITS_API_PORT = wholeNumber('CREDITS_API_PORT', 'main job: port of the HTTP usage API', DEFAULT_API_PORT, 0, MAX_PORT);

/** Where the worker's ops listener (`/metrics`, `/healthz`, `/readyz`) listens; unset: no listener. */
export const CREDITS_WORKER_METRICS_PORT = optionalWholeNumber(
  'CREDITS_WORKER_METRICS_PORT',
  "worker: port of its `/metrics`, `/healthz` and `/readyz` listener (0: any free port); unset: none (see docs/operations.md)",
  0,
  'unset',
  MAX_PORT,
);

/** The interface of the worker's ops listener. */
export const CREDITS_METRICS_HOST = text('CREDITS_METRICS_HOST', "worker: interface of its metrics listener (`0.0.0.0` for a scraper on another host)", '`127.0.0.1`');

/** Where the Temporal SDK's own Prometheus exporter binds when the worker's ops listener is on. */
export const CREDITS_TEMPORAL_METRICS_ADDRESS = socketAddress(
  'CREDITS_TEMPORAL_METRICS_ADDRESS',
  "worker: `host:port` the Temporal SDK's runtime metrics exporter binds to; the worker's `/metrics` serves them with its own",
  `\`${DEFAULT_TEMPORAL_METRICS_ADDRESS}\``,
);

/** The usage API's keys as SHA-256 hashes, comma-separated, each optionally followed by the accounts it is for. */
export const CREDITS_API_KEY_HASHES = text(
  'CREDITS_API_KEY_HASHES',
  'usage API keys as SHA-256 hex hashes, comma-separated, each optionally followed by spaces and the account ids it is for',
  'unset',
);

/** A file of usage API key hashes, one a line (same form as `CREDITS_API_KEY_HASHES`). */
export const CREDITS_API_KEYS_FILE = text(
  'CREDITS_API_KEYS_FILE',
  'file of usage API key hashes, one a line (`#` comments); with neither, the main job makes a demo key for the run',
  'unset',
);

/** The webhook endpoints file (YAML or JSON; see docs/webhooks.md); unset means no webhooks. */
export const CREDITS_WEBHOOKS_FILE = text(
  'CREDITS_WEBHOOKS_FILE',
  'worker: webhook endpoints file (YAML or JSON: url, secret, events, optional accounts and giveUpAfter; see docs/webhooks.md)',
  'unset (no webhooks)',
);

/** SHA-256 hashes of the admin page's operator keys (the ops view of every account). */
export const CREDITS_ADMIN_OPERATOR_KEY_HASHES = text(
  'CREDITS_ADMIN_OPERATOR_KEY_HASHES',
  "admin page: operator keys (every account, every action) as SHA-256 hex hashes, comma-separated; with no operator credential at all the page serves loopback only, without login",
  'unset',
);

/** The header the company's login proxy puts the signed-in operator's identity in. */
export const CREDITS_ADMIN_PROXY_HEADER = text(
  'CREDITS_ADMIN_PROXY_HEADER',
  "admin page: header the company's login proxy sets to the operator's identity (e.g. `x-forwarded-user`); trusted only from `CREDITS_ADMIN_TRUSTED_PROXY`",
  'unset',
);

/** The address of the login proxy whose identity header is believed. */
export const CREDITS_ADMIN_TRUSTED_PROXY = text(
  'CREDITS_ADMIN_TRUSTED_PROXY',
  'admin page: IP address of the login proxy; the identity header is ignored from any other peer',
  'unset',
);

/** The HS256 secret that signs customer admins' portal links. */
export const CREDITS_PORTAL_SECRET = text(
  'CREDITS_PORTAL_SECRET',
  "secret (32+ characters) signing customer admins' portal links (`credits portal link`); the main job makes one for the run when unset",
  'unset',
);

/** The main job's demo accounts file, or `none`; unset means `examples/accounts.yaml`. */
export const CREDITS_DEMO_ACCOUNTS = text(
  'CREDITS_DEMO_ACCOUNTS',
  'main job: accounts file started at start-up (already running ones are skipped), or `none`',
  '`examples/accounts.yaml`',
);

/** The Temporal CLI (dev server) to run instead of the project's or `PATH`'s. */
export const TEMPORAL_CLI_PATH = text('TEMPORAL_CLI_PATH', "use this Temporal CLI (dev server) instead of `.venv`'s or `PATH`'s", 'unset');

/** The time-skipping test server to run instead of the project's or `PATH`'s. */
export const TEMPORAL_TEST_SERVER_PATH = text(
  'TEMPORAL_TEST_SERVER_PATH',
  "use this Temporal time-skipping test server instead of `.venv`'s or `PATH`'s",
  'unset',
);

/** Every variable, in the order the README's settings table lists them. */
export const ALL_SETTINGS: readonly SettingDoc[] = [
  TEMPORAL_ADDRESS,
  ...TEMPORAL_CONNECTION_DOCS,
  CREDITS_TASK_QUEUE,
  CREDITS_RULES,
  CREDITS_LEDGER_URL,
  CREDITS_DATA_DIR,
  SMTP_URL,
  SMTP_FROM,
  CREDITS_MAX_CONCURRENT_ACTIVITIES,
  CREDITS_MAX_CONCURRENT_WORKFLOW_TASKS,
  CREDITS_WORKFLOW_THREADS,
  CREDITS_MAX_CACHED_WORKFLOWS,
  CREDITS_LOG_LEVEL,
  CREDITS_SHUTDOWN_GRACE_SECONDS,
  CREDITS_WORKER_METRICS_PORT,
  CREDITS_METRICS_HOST,
  CREDITS_TEMPORAL_METRICS_ADDRESS,
  CREDITS_ADMIN_PORT,
  CREDITS_API_PORT,
  CREDITS_API_KEY_HASHES,
  CREDITS_API_KEYS_FILE,
  CREDITS_WEBHOOKS_FILE,
  CREDITS_ADMIN_OPERATOR_KEY_HASHES,
  CREDITS_ADMIN_PROXY_HEADER,
  CREDITS_ADMIN_TRUSTED_PROXY,
  CREDITS_PORTAL_SECRET,
  CREDITS_DEMO_ACCOUNTS,
  TEMPORAL_CLI_PATH,
  TEMPORAL_TEST_SERVER_PATH,
];

/** The README's settings table (Markdown), one row per variable. */
export function settingsTable(settings: readonly SettingDoc[] = ALL_SETTINGS): string {
  const rows = settings.map((s) => `| \`${s.name}\` | ${s.meaning} | ${s.shownDefault} |`);
  return ['| Variable | Meaning | Default |', '| --- | --- | --- |', ...rows].join('\n');
}
