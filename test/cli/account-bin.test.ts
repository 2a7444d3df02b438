/**
 * The real `credits` executable (bin/credits.js running the compiled CLI in a child process)
 * against a real Temporal dev server, configured only through the environment a user sets:
 * TEMPORAL_ADDRESS and CREDITS_TASK_QUEUE. A worker in this process runs the real workflow.
 */
import { execFile, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { projectRoot } from '../../infra/project-root';
import { devServerEnv, fakeActivities, startWorker } from '../helpers/workflow-harness';

const root = projectRoot();
const bin = join(root, 'bin', 'credits.js');

let env: TestWorkflowEnvironment;
let worker: Awaited<ReturnType<typeof startWorker>>;

/** Runs bin/credits.js without blocking this process (the worker here must keep serving). */
function credits(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const childEnv = { ...process.env, TEMPORAL_ADDRESS: env.address, CREDITS_TASK_QUEUE: worker.taskQueue, ...extraEnv };
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { cwd: root, env: childEnv, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  // `npm test` builds dist/ first; build here only when run on its own without it.
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    spawnSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  }
  env = await devServerEnv();
  worker = await startWorker(env, fakeActivities());
});
afterAll(async () => {
  await worker?.stop();
  await env?.teardown();
});

describe('bin/credits.js against a dev server', () => {
  it('imports the example accounts, records usage and shows the account', async () => {
    const imported = await credits(['account', 'import', 'examples/accounts.yaml']);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toMatch(/demo-growth: started\n/);
    expect(imported.stdout).toMatch(/examples\/accounts\.yaml: 3 rows: 3 started, 0 skipped \(already running\), 0 failed\n$/);

    const used = await credits(['usage', 'record', 'demo-growth', 'enrichment', '25', '--key', 'demo-1', '--user', 'ann']);
    expect(used).toEqual({ code: 0, stdout: 'accepted: 25 credits, balance 18,975\n', stderr: '' });

    const shown = await credits(['account', 'show', 'demo-growth']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/Plan +Growth, 8 users\n/);
    expect(shown.stdout).toMatch(/enrichment +25 +25 +1 +0\n/);

    const again = await credits(['account', 'import', 'examples/accounts.csv']);
    expect(again.stdout).toMatch(/3 rows: 0 started, 3 skipped \(already running\), 0 failed\n$/);
  });

  it('exits 1 with one line, no stack trace, for an unknown account and an unreachable server', async () => {
    const unknown = await credits(['account', 'show', 'nobody']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^credits: unknown account nobody: no workflow ai-credits:nobody in namespace "default"/);
    const away = await credits(['account', 'show', 'demo-growth'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    expect(away).toEqual({
      code: 1,
      stdout: '',
      stderr: 'credits: cannot reach Temporal at 127.0.0.1:1: is the server up, and are TEMPORAL_ADDRESS and its TLS/API key settings right?\n',
    });
  });

  it('exits 2 on a usage error', async () => {
    expect((await credits(['usage', 'record', 'demo-growth', 'enrichment', 'lots', '--key', 'k'])).code).toBe(2);
    // Refused before connecting: the unreachable server's message would say otherwise.
    expect(await credits(['account', 'list', '--limit', '1001'], { TEMPORAL_ADDRESS: '127.0.0.1:1' })).toEqual({
      code: 2,
      stdout: '',
      stderr: "credits: option '--limit <n>' argument '1001' is invalid. expected a whole number of at most 1000 (see --help)\n",
    });
  });
});
