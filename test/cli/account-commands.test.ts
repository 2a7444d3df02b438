/**
 * `credits account|usage record|call` commands run in-process against the real workflow on the
 * time-skipping server: each command's output and exit code, and the messages for unknown
 * accounts, validator rejections and malformed flags.
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { runCli, type CliRun } from '../client/cli-run';

let suite: WorkflowSuite;
beforeAll(async () => {
  suite = await workflowSuite();
});
afterAll(async () => {
  await suite?.teardown();
});

function credits(...args: string[]): Promise<CliRun> {
  return runCli(args, suite.env.client, suite.taskQueue);
}

/** A date `days` days ago by both this machine's clock and the server's. */
async function daysAgo(days: number): Promise<string> {
  return new Date(Math.min(Date.now(), await suite.now()) - days * 86_400_000).toISOString();
}

describe('account start and show', () => {
  it('starts an account with every start field and shows it readably', async () => {
    const anchor = await daysAgo(3);
    const started = await credits(
      'account', 'start', 'cli-acme', '--plan', 'Professional', '--users', '8', '--anchor', anchor,
      '--tier', 'tier-3', '--tag', 'vip', '--tag', 'emea', '--admin', 'ops@acme.test',
    );
    expect(started).toMatchObject({ code: 0, stderr: '' });
    expect(started.stdout).toMatch(/^started account cli-acme \(workflow ai-credits:cli-acme\)\n {2}Growth, 8 users: 19,000 credits available until /);

    const shown = await credits('account', 'show', 'cli-acme');
    expect(shown.code).toBe(0);
    const out = shown.stdout;
    expect(out).toMatch(/^Account cli-acme\n/);
    expect(out).toMatch(/ {2}Plan +Growth, 8 users\n/);
    expect(out).toMatch(/ {2}Trial +no\n/);
    expect(out).toMatch(/ {2}Credit tier +Tier 3: \$100\.00\/month for 7,000 credits\n/);
    expect(out).toMatch(/ {2}Cycle +#1: .* UTC to .* UTC \(credits reset .* UTC\)\n/);
    expect(out).toMatch(/ {2}Available +19,000 credits\n/);
    expect(out).toMatch(/ {2}Alert +ok\n/);
    expect(out).toMatch(/ {2}Tags +vip, emea\n/);
    expect(out).toMatch(/ {2}Admins +ops@acme\.test\n/);
    expect(out).toMatch(/Grants\n {2}SOURCE +LABEL +AMOUNT +REMAINING +EXPIRES\n/);
    expect(out).toMatch(/subscription +Tier 3 +7,000 +7,000 /);
    expect(out).toMatch(/Usage this cycle\n {2}none\n$/);

    const json = await credits('account', 'show', 'cli-acme', '--json');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ accountId: 'cli-acme', users: 8, tier: { id: 'tier-3', priceCents: 10000 }, tags: ['vip', 'emea'] });
  });

  it('reports an account already running, and changes nothing', async () => {
    await credits('account', 'start', 'cli-twice', '--plan', 'growth', '--users', '2', '--anchor', await daysAgo(1));
    const again = await credits('account', 'start', 'cli-twice', '--plan', 'scale', '--users', '9', '--anchor', await daysAgo(1));
    expect(again).toEqual({ code: 1, stdout: '', stderr: 'credits: account cli-twice is already running\n' });
  });

  it('refuses to start a terminated account again without --restart-closed', async () => {
    const start = async (...extra: string[]) => credits('account', 'start', 'cli-closed', '--plan', 'growth', '--users', '2', '--anchor', await daysAgo(1), ...extra);
    expect((await start()).code).toBe(0);
    await suite.env.client.workflow.getHandle('ai-credits:cli-closed').terminate('closed by ops');
    const refused = await start();
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toMatch(/^credits: account cli-closed ran and its workflow terminated: starting it again opens a fresh pool for the current cycle \(credits granted again\); .*--restart-closed/);
    // Other commands on the closed account point to the start that is not refused.
    const usage = await credits('usage', 'record', 'cli-closed', 'enrichment', '1', '--key', 'k-closed');
    expect(usage).toMatchObject({ code: 1, stdout: '' });
    expect(usage.stderr).toMatch(/\(start it again only on purpose, with `credits account start \.\.\. --restart-closed`\)\n$/);
    const restarted = await start('--restart-closed');
    expect(restarted).toMatchObject({ code: 0, stderr: '' });
    expect(restarted.stdout).toMatch(/^started account cli-closed /);
  });

  it('rejects an unknown plan with the validator message and code (exit 1)', async () => {
    const run = await credits('account', 'start', 'cli-platinum', '--plan', 'platinum', '--users', '2', '--anchor', await daysAgo(1));
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^credits: rejected: unknown plan "platinum" \(known: solo, essentials, growth, scale\) \[InvalidStartInput\]\n$/);
    // Refused before the start: no failed workflow is left behind.
    await expect(suite.env.client.workflow.getHandle('ai-credits:cli-platinum').describe()).rejects.toThrow(/not found/i);
  });

  it('refuses a start when the rules it would check it against cannot be read, leaving nothing behind (exit 1)', async () => {
    const missing = join(tmpdir(), 'no-such-rules-dir', 'rules.yaml');
    const run = await runCli(['account', 'start', 'cli-no-rules', '--plan', 'platinum', '--users', '2', '--anchor', await daysAgo(1)], suite.env.client, suite.taskQueue, {
      env: { CREDITS_TASK_QUEUE: suite.taskQueue, CREDITS_RULES: missing },
    });
    expect(run).toEqual({
      code: 1,
      stdout: '',
      stderr: `credits: the rules to check the start against cannot be read (CREDITS_RULES, else rules/): ${missing}:1:1 not-found: no such file or directory; nothing was started\n`,
    });
    await expect(suite.env.client.workflow.getHandle('ai-credits:cli-no-rules').describe()).rejects.toThrow(/not found/i);
  });

  it('treats malformed flags as usage errors (exit 2) and sends nothing', async () => {
    const users = await credits('account', 'start', 'cli-x', '--plan', 'growth', '--users', 'eight');
    expect(users.code).toBe(2);
    expect(users.stderr).toMatch(/--users <n>' argument 'eight' is invalid\. expected a whole number of at least 1/);
    const anchor = await credits('account', 'start', 'cli-x', '--plan', 'growth', '--users', '2', '--anchor', '2026-02-30');
    expect(anchor.code).toBe(2);
    expect(anchor.stderr).toMatch(/expected a date such as 2026-05-03/);
    expect((await credits('account', 'start', 'cli-x', '--users', '2')).code).toBe(2);
    expect((await credits('account', 'show', 'cli-x')).code).toBe(1);
  });

  it('says an account is unknown (exit 1)', async () => {
    const run = await credits('account', 'show', 'cli-nobody');
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('credits: unknown account cli-nobody: no workflow ai-credits:cli-nobody in namespace "default" (start it with `credits account start`)\n');
  });
});

describe('account changes', () => {
  beforeAll(async () => {
    await credits('account', 'start', 'cli-ops', '--plan', 'essentials', '--users', '2', '--anchor', await daysAgo(2));
  });

  it('sets users, plan and tier', async () => {
    expect(await credits('account', 'users', 'cli-ops', '3')).toEqual({ code: 0, stdout: 'cli-ops: 3 users; 1,000 credits granted now\n', stderr: '' });
    expect((await credits('account', 'plan', 'cli-ops', 'growth')).stdout).toBe('cli-ops: plan growth applies now; 1,500 credits granted\n');
    expect((await credits('account', 'plan', 'cli-ops', 'solo')).stdout).toBe('cli-ops: plan solo applies at the start of the next cycle\n');
    expect((await credits('account', 'tier', 'cli-ops', 'tier-2')).stdout).toBe('cli-ops: tier-2 now; charged $50.00, 3,200 credits granted\n');
    expect((await credits('account', 'tier', 'cli-ops', 'none')).stdout).toBe(
      'cli-ops: no credit tier from the start of the next cycle; the current tier runs until then\n',
    );
    const json = await credits('account', 'users', 'cli-ops', '4', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ users: 4, creditsGranted: 1500 });
    const shown = (await credits('account', 'show', 'cli-ops')).stdout;
    expect(shown).toMatch(/Plan +Growth, 4 users \(changes to Solo on .* UTC\)/);
    expect(shown).toMatch(/Credit tier +Tier 2: \$50\.00\/month for 3,200 credits \(cancelled on .* UTC\)/);
  });

  it('answers a command sent again with its --request-id as the first time, after a change in between, and refuses a bad id (exit 2)', async () => {
    await credits('account', 'start', 'cli-request', '--plan', 'essentials', '--users', '2', '--anchor', await daysAgo(2));
    const first = await credits('account', 'users', 'cli-request', '5', '--request-id', 'ticket-881');
    expect(first).toEqual({ code: 0, stdout: 'cli-request: 5 users; 3,000 credits granted now\n', stderr: '' });
    expect((await credits('account', 'users', 'cli-request', '3')).code).toBe(0);
    // The job retried: the first answer, and the 3 users set in between stand.
    expect(await credits('account', 'users', 'cli-request', '5', '--request-id', 'ticket-881')).toEqual(first);
    expect(JSON.parse((await credits('account', 'show', 'cli-request', '--json')).stdout)).toMatchObject({ users: 3 });
    // Sent again with another value: the first answer is what the command prints, and says so.
    expect(await credits('account', 'users', 'cli-request', '6', '--request-id', 'ticket-881')).toEqual({
      code: 0,
      stdout:
        'cli-request: 5 users; 3,000 credits granted now\n' +
        'request id ticket-881 was first sent for 5 users: that answer stands, and nothing changed now (send a new request id for a new change)\n',
      stderr: '',
    });
    await credits('account', 'tier', 'cli-request', 'tier-1', '--request-id', 'ticket-890');
    expect((await credits('account', 'tier', 'cli-request', 'tier-2', '--request-id', 'ticket-890')).stdout).toBe(
      'cli-request: tier-1 now; charged $20.00, 1,200 credits granted\n' +
        'request id ticket-890 was first sent for tier-1: that answer stands, and nothing changed now (send a new request id for a new change)\n',
    );
    expect(JSON.parse((await credits('account', 'show', 'cli-request', '--json')).stdout)).toMatchObject({ users: 3, tier: { id: 'tier-1' } });
    await credits('account', 'tier', 'cli-request', 'none');
    for (const [command, bad] of [
      [['account', 'tier', 'cli-request', 'tier-1'], 'ticket 882'],
      [['account', 'tags', 'cli-request', 'vip'], ''],
    ] as const) {
      const refused = await credits(...command, '--request-id', bad);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain('the request id must be 1-200 printable ASCII characters without spaces');
    }
    expect(JSON.parse((await credits('account', 'show', 'cli-request', '--json')).stdout)).toMatchObject({ tier: { id: 'tier-1' }, pendingTier: { tier: null }, tags: [] });
  });

  it('rejects an unknown plan and tier (exit 1, nothing changed)', async () => {
    const plan = await credits('account', 'plan', 'cli-ops', 'platinum');
    expect(plan.code).toBe(1);
    expect(plan.stderr).toMatch(/^credits: rejected: unknown plan "platinum" .*\[UnknownPlan\]\n$/);
    expect((await credits('account', 'tier', 'cli-ops', 'tier-99')).stderr).toMatch(/\[UnknownTier\]/);
    expect((await credits('account', 'users', 'cli-ops', '0')).code).toBe(2);
  });

  it('switches features and agents, rejecting unknown features', async () => {
    expect((await credits('account', 'feature', 'cli-ops', 'enrichment', 'off')).stdout).toBe('cli-ops: enrichment is off\n');
    expect((await credits('account', 'agent', 'cli-ops', 'agent-7', 'inactive')).stdout).toBe('cli-ops: voice agent agent-7 is inactive\n');
    const unknown = await credits('account', 'feature', 'cli-ops', 'teleport', 'on');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^credits: rejected: unknown feature "teleport" \[UnknownFeature\]\n$/);
    expect((await credits('account', 'feature', 'cli-ops', 'voice-agent', 'off')).stderr).toMatch(/\[FeatureNotToggleable\]/);
    expect((await credits('account', 'feature', 'cli-ops', 'enrichment', 'maybe')).code).toBe(2);
    const shown = (await credits('account', 'show', 'cli-ops')).stdout;
    expect(shown).toMatch(/Features +enrichment off/);
    expect(shown).toMatch(/Inactive agents +agent-7/);
  });

  it('converts a trial at the CRM anchor given, and refuses an anchor on a paid account or one that is no instant', async () => {
    await credits('account', 'start', 'cli-convert', '--plan', 'growth', '--users', '2', '--trial', '--anchor', await daysAgo(3));
    // The trial's start: the earliest anchor a conversion takes.
    const trial = JSON.parse((await credits('account', 'show', 'cli-convert', '--json')).stdout) as { grants: { grantedAt: string }[] };
    const anchor = trial.grants[0]?.grantedAt ?? '';
    const converted = await credits('account', 'plan', 'cli-convert', 'growth', '--anchor', anchor, '--json');
    expect(JSON.parse(converted.stdout)).toEqual({ plan: 'growth', effective: 'now', creditsGranted: 3000 });
    expect((await credits('account', 'show', 'cli-convert', '--json')).stdout).toContain(`"start": "${anchor}"`);
    const paid = await credits('account', 'plan', 'cli-convert', 'scale', '--anchor', anchor);
    expect(paid.code).toBe(1);
    expect(paid.stderr).toBe('credits: rejected: cycleAnchor is taken only when a trial converts; this account is on a paid plan [InvalidInput]\n');
    expect((await credits('account', 'plan', 'cli-convert', 'scale', '--anchor', 'soon')).code).toBe(2);
  });

  it('grants credits once per key', async () => {
    const first = await credits('account', 'grant', 'cli-ops', '5000', '--reason', 'outage credit', '--key', 'TICKET-1', '--cycles', '2');
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^cli-ops: granted 5,000 credits \(grant .+, expires .+ UTC\)\n$/);
    const again = await credits('account', 'grant', 'cli-ops', '5000', '--reason', 'outage credit', '--key', 'TICKET-1', '--cycles', '2');
    expect(again.stdout).toMatch(/^cli-ops: key TICKET-1 was already used for grant .+; nothing more granted\n$/);
    // The key reused for another amount: the first grant stands, the new one is not made.
    const other = await credits('account', 'grant', 'cli-ops', '7000', '--reason', 'outage credit', '--key', 'TICKET-1');
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/^cli-ops: key TICKET-1 was already used for another grant .*: that grant .+ stands .*; these values were NOT applied and nothing was granted/);
    expect(other.stderr).toMatch(/^credits: nothing granted: key TICKET-1 was already used for grant .+, with other values; use a new key\n$/);
    expect((await credits('account', 'grant', 'cli-ops', '5000', '--reason', 'no key')).code).toBe(2);
    expect((await credits('account', 'show', 'cli-ops')).stdout).toMatch(/manual +outage credit +5,000 +5,000/);
  });
});

describe('usage record and calls', () => {
  beforeAll(async () => {
    await credits('account', 'start', 'cli-trial', '--plan', 'essentials', '--users', '1', '--trial', '--anchor', await daysAgo(1));
  });

  it('records usage, recognizes a repeated key, and exits 1 when refused', async () => {
    expect(await credits('usage', 'record', 'cli-trial', 'enrichment', '1000', '--key', 'k1', '--user', 'ann')).toEqual({
      code: 0,
      stdout: 'accepted: 1,000 credits, balance 0\n',
      stderr: '',
    });
    expect((await credits('usage', 'record', 'cli-trial', 'enrichment', '1000', '--key', 'k1', '--user', 'ann')).stdout).toBe(
      'accepted: 1,000 credits, balance 0 (repeat of key k1: nothing charged again)\n',
    );
    // The key reused for another quantity: the first usage stands, the new one is not recorded.
    expect(await credits('usage', 'record', 'cli-trial', 'enrichment', '500', '--key', 'k1')).toEqual({
      code: 1,
      stdout:
        'key k1 was already used for another usage (another feature, quantity or user): that first usage stands (accepted: 1,000 credits); this one was NOT recorded and nothing was charged for it: send it again with a new key\n',
      stderr: 'credits: usage not recorded: key k1 was already used for another usage; send it again with a new key\n',
    });
    const mismatchJson = await credits('usage', 'record', 'cli-trial', 'enrichment', '500', '--key', 'k1', '--json');
    expect(mismatchJson.code).toBe(1);
    expect(JSON.parse(mismatchJson.stdout)).toMatchObject({ accepted: true, credits: 1000, duplicate: true, payloadMismatch: true });
    const refused = await credits('usage', 'record', 'cli-trial', 'enrichment', '20', '--key', 'k2');
    expect(refused).toEqual({ code: 1, stdout: 'refused (credits_exhausted): balance 0\n', stderr: 'credits: usage refused: credits_exhausted\n' });
    const json = await credits('usage', 'record', 'cli-trial', 'chloe-chat', '1', '--key', 'k3', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ accepted: true, credits: 0, balance: 0, duplicate: false });
    expect((await credits('account', 'show', 'cli-trial')).stdout).toMatch(/Alert +EXHAUSTED/);
  });

  it('rejects unknown features, a missing key and a bad quantity', async () => {
    const unknown = await credits('usage', 'record', 'cli-trial', 'teleport', '1', '--key', 'k9');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^credits: rejected: unknown feature "teleport" \(known: .*\) \[UnknownFeature\]\n$/);
    expect((await credits('usage', 'record', 'cli-trial', 'voice-agent', '1', '--key', 'k9')).stderr).toMatch(/\[UseCallUpdates\]/);
    expect((await credits('usage', 'record', 'cli-trial', 'enrichment', '1')).code).toBe(2);
    expect((await credits('usage', 'record', 'cli-trial', 'enrichment', '-1', '--key', 'k9')).code).toBe(2);
    expect((await credits('usage', 'record', 'cli-nobody', 'enrichment', '1', '--key', 'k9')).stderr).toMatch(/^credits: unknown account cli-nobody/);
  });

  it('starts and ends a Voice Agent call, and refuses one at a zero balance', async () => {
    await credits('account', 'start', 'cli-calls', '--plan', 'essentials', '--users', '1', '--anchor', await daysAgo(1));
    expect(await credits('call', 'start', 'cli-calls', 'call-1', '--agent', 'chloe')).toEqual({ code: 0, stdout: 'call call-1 authorized (balance 1,000)\n', stderr: '' });
    // The call runs its 2 minutes (a call is charged at most for the time it ran).
    await suite.env.sleep('2 minutes');
    expect((await credits('call', 'end', 'cli-calls', 'call-1', '--minutes', '2')).stdout).toBe('call call-1 ended: 40 credits, balance 960\n');
    expect((await credits('account', 'show', 'cli-calls')).stdout).toMatch(/Telephony +2 minutes this cycle/);
    expect(await credits('usage', 'record', 'cli-calls', 'enrichment', '961', '--key', 'k-short')).toEqual({
      code: 1,
      stdout: 'refused (insufficient_credits): it costs 961 credits, more than the balance of 960\n',
      stderr: 'credits: usage refused: insufficient_credits (it costs 961 credits, more than the balance of 960)\n',
    });
    await credits('call', 'start', 'cli-calls', 'call-3', '--agent', 'chloe');
    expect((await credits('call', 'end', 'cli-calls', 'call-3', '--minutes', '1440')).stdout).toMatch(
      /^call call-3 ended: 2[01] credits, balance 9[34]\d; 1,440 minutes reported, 1(\.\d+)? charged \(capped at the time the call ran plus 1 minute\)\n$/,
    );
    const refused = await credits('call', 'start', 'cli-trial', 'call-2', '--agent', 'chloe');
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('call call-2 not authorized (credits_exhausted): balance 0\n');
    expect((await credits('call', 'end', 'cli-calls', 'call-404', '--minutes', '1')).stderr).toMatch(/\[UnknownCall\]/);
  });
});

describe('corrections and account details', () => {
  beforeAll(async () => {
    await credits('account', 'start', 'cli-fix', '--plan', 'essentials', '--users', '1', '--anchor', await daysAgo(1), '--admin', 'old@acme.test');
  });

  it('voids a usage once, and explains a refusal (exit 1)', async () => {
    await credits('usage', 'record', 'cli-fix', 'enrichment', '40', '--key', 'sync-7');
    expect(await credits('usage', 'void', 'cli-fix', 'sync-7', '--reason', 'charged twice by a sync bug')).toEqual({
      code: 0,
      stdout: 'voided usage sync-7: 40 credits returned, balance 1,000\n',
      stderr: '',
    });
    expect((await credits('usage', 'void', 'cli-fix', 'sync-7', '--reason', 'again')).stdout).toBe(
      'usage sync-7 was already voided (40 credits returned then); nothing returned again\n',
    );
    expect(await credits('usage', 'void', 'cli-fix', 'nope', '--reason', 'typo')).toEqual({
      code: 1,
      stdout: 'not voided (unknown_usage: the account knows no usage with this key); balance 1,000\n',
      stderr: 'credits: void refused: unknown_usage: the account knows no usage with this key\n',
    });
    const json = await credits('usage', 'void', 'cli-fix', 'sync-7', '--reason', 'again', '--json');
    expect(JSON.parse(json.stdout)).toEqual({ voided: true, credits: 40, balance: 1000, duplicate: true });
    expect((await credits('usage', 'void', 'cli-fix', 'sync-7')).code).toBe(2);
    const blank = await credits('usage', 'void', 'cli-fix', 'sync-7', '--reason', ' ');
    expect(blank.code).toBe(1);
    expect(blank.stderr).toMatch(/^credits: rejected: reason must be a text of 1-500 characters without control characters, got a blank text \[InvalidInput\]\n$/);
  });

  it('replaces the admins and the tags', async () => {
    expect(await credits('account', 'admins', 'cli-fix', 'a@acme.test', 'b@acme.test')).toEqual({
      code: 0,
      stdout: 'cli-fix: admins now a@acme.test, b@acme.test\n',
      stderr: '',
    });
    expect((await credits('account', 'admins', 'cli-fix', 'b@acme.test', 'a@acme.test')).stdout).toBe('cli-fix: admins unchanged, a@acme.test, b@acme.test\n');
    expect((await credits('account', 'tags', 'cli-fix', 'vip', 'emea')).stdout).toBe('cli-fix: tags now vip, emea\n');
    const shown = (await credits('account', 'show', 'cli-fix')).stdout;
    expect(shown).toMatch(/Tags +vip, emea\n/);
    expect(shown).toMatch(/Admins +a@acme\.test, b@acme\.test\n/);
    expect((await credits('account', 'tags', 'cli-fix', '--clear')).stdout).toBe('cli-fix: tags now none\n');
    expect(JSON.parse((await credits('account', 'tags', 'cli-fix', 'x', '--json')).stdout)).toEqual({ tags: ['x'], changed: true, promotionsGranted: [], creditsGranted: 0 });
  });

  it('refuses a bad address with its code, and an empty list without --clear as a usage error', async () => {
    const bad = await credits('account', 'admins', 'cli-fix', 'not-an-address');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^credits: rejected: admins\[0\] must be an e-mail address such as ops@example\.com \[InvalidInput\]\n$/);
    const none = await credits('account', 'admins', 'cli-fix');
    expect(none).toEqual({ code: 2, stdout: '', stderr: 'credits: give at least one admin, or --clear to remove them all\n' });
    expect((await credits('account', 'tags', 'cli-fix', 'a', '--clear')).code).toBe(2);
    expect((await credits('account', 'tags', 'cli-fix', 'with space')).stderr).toMatch(/tags\[0\] must be 1-100 printable ASCII characters without spaces, got a space at index 4 \[InvalidInput\]/);
  });
});
