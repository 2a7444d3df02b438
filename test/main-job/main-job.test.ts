/**
 * The README's walkthrough, as a new user would do it, against real servers: the main job
 * (worker, embedded ledger, admin page, demo accounts) on a real Temporal dev server, then the
 * `credits` CLI in separate processes: import the examples, record usage, see the admin page
 * change, export the CSV (which the CLI gets through the main job, since the embedded ledger
 * serves one process), and stop cleanly.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { devServerEnv } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';
import { projectRoot } from '../../infra/project-root';
import type { MainJobInfo } from '../../infra/main-job-info';
import type { AccountSummary } from '../../domain/wire-contract';

const root = projectRoot();
let env: TestWorkflowEnvironment;
let data: string;
let job: ChildProcess;
let output = '';
let childEnv: NodeJS.ProcessEnv;

const credits = async (...args: string[]) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [join(root, 'bin', 'credits.js'), ...args], { env: childEnv, cwd: root });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

/** Runs a main job to its end (it must end by itself) and returns what it said. */
function runToExit(jobEnv: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(root, 'dist', 'scripts', 'main-job.js')], { env: jobEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (b: Buffer) => (stdout += b.toString()));
    // The SDK's own retry warnings go to stderr as the worker stops; only the job's lines count.
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr: stderr.split('\n').filter((l) => l.startsWith('main job:')).map((l) => `${l}\n`).join('') }));
  });
}

beforeAll(async () => {
  env = await devServerEnv();
  data = mkdtempSync(join(tmpdir(), 'credits-main-'));
  childEnv = {
    ...process.env,
    TEMPORAL_ADDRESS: env.address,
    CREDITS_DATA_DIR: data,
    CREDITS_ADMIN_PORT: '0',
    CREDITS_API_PORT: '0',
    CREDITS_API_KEY_HASHES: '',
    CREDITS_API_KEYS_FILE: '',
    CREDITS_TASK_QUEUE: `main-job-${process.pid}`,
    SMTP_URL: '',
  };
  job = spawn(process.execPath, [join(root, 'dist', 'scripts', 'main-job.js')], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  job.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  job.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  await waitFor(() => output.includes('Press Ctrl-C to stop.') || job.exitCode !== null, 'the main job to start', 90_000);
  if (job.exitCode !== null) throw new Error(`the main job exited: ${output}`);
}, 120_000);

afterAll(async () => {
  if (job && job.exitCode === null) job.kill('SIGKILL');
  await env?.teardown();
  rmSync(data, { recursive: true, force: true });
});

describe('the main job and the README walkthrough', () => {
  it('starts the demo accounts and prints where everything is', () => {
    expect(output).toMatch(/demo-growth: started/);
    expect(output).toMatch(/demo-chloe-beta: started/);
    expect(output).toMatch(/demo-trial: started/);
    expect(output).toMatch(/Admin page\s+http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toContain(`Temporal server   ${env.address}`);
    expect(output).toMatch(/Usage API\s+http:\/\/127\.0\.0\.1:\d+ \(OpenAPI: /);
    expect(output).toMatch(/Demo API key\s+cak_[A-Za-z0-9_-]{43} \(this run only/);
    expect(output).toMatch(/Admin page\s+http:\/\/127\.0\.0\.1:\d+ \(this machine only, no sign-in/);
  });

  it("prints a customer admin's link that opens the first demo account once", async () => {
    const link = /Customer link\s+(http:\/\/\S+)/.exec(output)?.[1] ?? '';
    expect(link).toMatch(/\/portal\?token=/);
    const first = await fetch(link, { redirect: 'manual' });
    expect(first.status).toBe(200);
    expect(first.headers.get('set-cookie')).toMatch(/HttpOnly; SameSite=Strict/);
    expect((await fetch(link, { redirect: 'manual' })).status).toBe(401);
  });

  it('serves the usage API with the demo key it printed, and refuses requests without it', async () => {
    const address = /Usage API\s+(http:\/\/\S+)/.exec(output)?.[1] ?? '';
    const key = /Demo API key\s+(\S+)/.exec(output)?.[1] ?? '';
    const balance = await fetch(`${address}/v1/accounts/demo-growth/balance`, { headers: { authorization: `Bearer ${key}` } });
    expect(balance.status).toBe(200);
    expect(await balance.json()).toMatchObject({ accountId: 'demo-growth', alert: 'ok' });
    expect((await fetch(`${address}/v1/accounts/demo-growth/balance`)).status).toBe(401);
  });

  it("shows the Chloe beta demo account's grant on a fresh start, whatever today is", async () => {
    const info = JSON.parse(readFileSync(join(data, 'main-job.json'), 'utf8')) as MainJobInfo;
    const chloe = (await (await fetch(`${info.adminUrl}/api/accounts/demo-chloe-beta`)).json()) as { summary: AccountSummary };
    expect(chloe.summary.grants.filter((g) => g.source === 'promotion')).toEqual([
      expect.objectContaining({ label: 'Chloe beta thank-you (demo)', amount: 100_000, remaining: 100_000 }),
    ]);
    const page = await (await fetch(`${info.adminUrl}/accounts/demo-chloe-beta`)).text();
    expect(page).toContain('Chloe beta thank-you (demo)');
  });

  it('refuses a setting it cannot use before starting anything', async () => {
    const second = await runToExit({ ...childEnv, CREDITS_ADMIN_PORT: '70000' });
    expect(second).toEqual({ code: 1, stdout: '', stderr: 'main job: CREDITS_ADMIN_PORT must be a whole number from 0 to 65535, got "70000"\n' });
  });

  it('stops at once, saying which port is taken, when another main job holds its port, and leaves that one running', async () => {
    const apiPort = /Usage API +http:\/\/127\.0\.0\.1:(\d+)/.exec(output)?.[1];
    expect(apiPort).toBeDefined();
    const infoFile = join(data, 'main-job.json');
    const before = readFileSync(infoFile, 'utf8');
    // Its own ledger: the first job holds the embedded one (which would stop it first, as it should).
    const second = await runToExit({ ...childEnv, CREDITS_API_PORT: apiPort!, CREDITS_LEDGER_URL: `pglite:${join(data, 'second-ledger')}` });
    expect(second.code).toBe(1);
    expect(second.stderr).toBe(
      `main job: the usage API cannot listen: address already in use 127.0.0.1:${apiPort} (is another main job running? set CREDITS_API_PORT to another port, or 0 for any free one)\n`,
    );
    expect(second.stdout).toMatch(/\nStopped\.\n$/);
    expect(second.stdout).not.toContain('is running');
    expect(readFileSync(infoFile, 'utf8')).toBe(before);
    expect(job.exitCode).toBeNull();
  }, 90_000);

  it('imports the examples again as already running, records usage, shows it, exports it, and stops cleanly', async () => {
    const info = JSON.parse(readFileSync(join(data, 'main-job.json'), 'utf8')) as MainJobInfo;

    const imported = await credits('account', 'import', 'examples/accounts.yaml');
    expect(imported.code).toBe(0);
    expect(imported.stdout + imported.stderr).toContain('0 started, 3 skipped (already running), 0 failed');

    const before = (await (await fetch(`${info.adminUrl}/api/accounts/demo-growth`)).json()) as { summary: AccountSummary };
    const recorded = await credits('usage', 'record', 'demo-growth', 'enrichment', '40', '--key', 'readme-1');
    expect(recorded.code).toBe(0);
    expect(recorded.stdout).toContain('accepted: 40 credits');

    const after = (await (await fetch(`${info.adminUrl}/api/accounts/demo-growth`)).json()) as { summary: AccountSummary };
    expect(after.summary.credits.available).toBe(before.summary.credits.available - 40);
    const page = await (await fetch(`${info.adminUrl}/accounts/demo-growth`)).text();
    expect(page).toContain('Enrichment');

    const exported = await waitFor(async () => {
      const r = await credits('usage', 'export', 'demo-growth');
      return r.code === 0 && r.stdout.includes('readme-1') ? r : undefined;
    }, 'the usage row in the exported CSV', 30_000);
    expect(exported.stdout.split('\r\n')[0]).toMatch(/^time,account,user,feature,quantity/);
    expect(exported.stderr).toContain('through the main job');

    job.kill('SIGTERM');
    await waitFor(() => job.exitCode !== null, 'the main job to stop', 30_000);
    expect(job.exitCode).toBe(0);
    expect(output).toContain('Stopped.');
    expect(existsSync(join(data, 'main-job.json'))).toBe(false);
  }, 120_000);
});
