/**
 * A throwaway PostgreSQL server for tests and the chaos suite: `initdb` into a temporary
 * directory, `pg_ctl start` on a free port on 127.0.0.1, removed afterwards. PostgreSQL refuses to run as root, so when
 * the tests run as root the cluster belongs to an unprivileged system user (`postgres` when
 * the Debian package made one, else `credits-pg`, created on first use) and every server
 * command runs through `runuser`. `scripts/setup.sh --tests` installs the binaries.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** A running (or stopped, between `stop` and `start`) throwaway server. */
export interface PostgresServer {
  /** `postgres://credits@127.0.0.1:<port>/postgres`, trust authentication. */
  readonly url: string;
  readonly port: number;
  /** Stops the server, keeping its data: the "database is down" case. */
  stop(): void;
  /** Starts it again on the same port with the same data. */
  start(): void;
  /** Stops the server and deletes its data directory. */
  destroy(): void;
}

/** Where a PostgreSQL binary is: on PATH, else the newest under /usr/lib/postgresql/<n>/bin. */
export function findPostgresBinary(name: 'initdb' | 'pg_ctl'): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a));
  for (const version of versions) {
    const path = join(root, version, 'bin', name);
    if (existsSync(path)) return path;
  }
  return null;
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

const isRoot = process.getuid?.() === 0;

/** The unprivileged user that owns the cluster when running as root. */
function serverUser(): string {
  for (const user of ['postgres', 'credits-pg']) {
    if (spawnSync('id', ['-u', user]).status === 0) return user;
  }
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', 'credits-pg']);
  return 'credits-pg';
}

/** Runs a server command as `user` (through runuser) or as ourselves. */
function spawnAs(user: string | null, command: string, args: string[]): ReturnType<typeof spawnSync> {
  const [file, argv] = user ? ['runuser', ['-u', user, '--', command, ...args]] : [command, args];
  return spawnSync(file, argv, { encoding: 'utf8', timeout: 60_000 });
}

function run(command: string, args: string[], user: string | null): void {
  const result = spawnAs(user, command, args);
  if (result.status !== 0) {
    const output = `${String(result.stderr ?? '')}${String(result.stdout ?? '')}`;
    throw new Error(`${command} ${args.join(' ')} failed (${result.status ?? result.signal}): ${output}`);
  }
}

/** Every server this process started, stopped at exit even when a test run is cut short. */
const running = new Set<() => void>();
process.once('exit', () => {
  for (const stop of running) stop();
});

/**
 * Starts a fresh server. Takes a second or two: use one per test file at most.
 *
 * @throws Error naming the set-up command when PostgreSQL is not installed.
 */
export async function startPostgres(): Promise<PostgresServer> {
  const initdb = findPostgresBinary('initdb');
  const pgCtl = findPostgresBinary('pg_ctl');
  if (!initdb || !pgCtl) {
    throw new Error('PostgreSQL server binaries (initdb, pg_ctl) not found: run "bash scripts/setup.sh --tests"');
  }
  const user = isRoot ? serverUser() : null;
  const dir = mkdtempSync(join(tmpdir(), 'credits-pg-'));
  const dataDir = join(dir, 'data');
  if (user) execFileSync('chown', [user, dir]);
  run(initdb, ['-D', dataDir, '-U', 'credits', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-sync'], user);
  const port = await freePort();
  // Socket directory inside the cluster (not /var/run/postgresql); no fsync: data is throwaway.
  const serverOptions = `-p ${port} -h 127.0.0.1 -k ${dataDir} -F -c max_connections=50`;
  const stopNow = (): void => {
    spawnAs(user, pgCtl, ['stop', '-D', dataDir, '-m', 'immediate']);
  };
  const server: PostgresServer = {
    url: `postgres://credits@127.0.0.1:${port}/postgres`,
    port,
    start() {
      run(pgCtl, ['start', '-D', dataDir, '-w', '-t', '60', '-l', join(dataDir, 'server.log'), '-o', serverOptions], user);
      running.add(stopNow);
    },
    stop() {
      run(pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w'], user);
      running.delete(stopNow);
    },
    destroy() {
      stopNow();
      running.delete(stopNow);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  server.start();
  return server;
}
