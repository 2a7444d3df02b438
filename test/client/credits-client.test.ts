/**
 * CreditsClient against the real workflow on the time-skipping server: every method's happy
 * path, and each error class produced by the real server (validator rejections, unknown and
 * closed accounts, a second start, a start of an account that ran and closed), plus retries after simulated transport failures.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, Connection, ServiceError, WorkflowFailedError, WorkflowUpdateFailedError, type WorkflowClientInterceptor } from '@temporalio/client';
import {
  ACCOUNT_QUERIES,
  ACCOUNT_UPDATES,
  AccountAlreadyRunningError,
  AccountClosedError,
  AccountNotFoundError,
  CreditsClient,
  CreditsInputError,
  connectCreditsClient,
  isAccountAlreadyRunningError,
  isAccountClosedError,
  isAccountNotFoundError,
  isCreditsError,
  isCreditsInputError,
  isAccountOpening,
  isCreditsUnavailableError,
  type AccountStartInput,
  type AccountUpdateName,
} from '../../client';
import { WORKFLOW_TYPE, accountWorkflowId } from '../../workflows/messages';
import { fakeActivities, startWorker, workflowSuite, type WorkflowSuite } from '../helpers/workflow-harness';
import { waitFor } from '../helpers/wait-for';

let suite: WorkflowSuite;
let credits: CreditsClient;

beforeAll(async () => {
  suite = await workflowSuite();
  credits = new CreditsClient(suite.env.client, { taskQueue: suite.taskQueue });
});
afterAll(async () => {
  await suite?.teardown();
});

/** A start input anchored `daysAgo` days ago by both the server's and this machine's clock. */
async function startInput(accountId: string, extra: Partial<AccountStartInput> = {}, daysAgo = 2): Promise<AccountStartInput> {
  const now = Math.min(Date.now(), await suite.now());
  return { accountId, plan: 'growth', users: 2, cycleAnchor: new Date(now - daysAgo * 86_400_000).toISOString(), ...extra };
}

/**
 * A Temporal client, and a credits client over it, that do not let the time-skipping server
 * skip time while they wait for a workflow's result (the test environment's own client does,
 * even for a closed workflow, and the server then jumps to the next timer: other accounts'
 * resets a month ahead).
 */
function withoutTimeSkipping(): { temporal: Client; credits: CreditsClient } {
  const temporal = new Client({ connection: suite.env.connection, namespace: suite.env.namespace ?? 'default' });
  return { temporal, credits: new CreditsClient(temporal, { taskQueue: suite.taskQueue }) };
}

/** The error a promise rejects with. */
/** The tier charges the billing activity has made for `accountId`, once there is one. */
function chargesMade(accountId: string) {
  return waitFor(() => {
    const made = suite.acts.charges.filter((c) => c.accountId === accountId);
    return made.length > 0 && made;
  }, `${accountId}'s purchase charged`);
}

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (err: unknown) => err,
  );
}

/**
 * A client whose update calls fail like a dropped connection while `failing()` says so;
 * `meanwhile` runs after an applied attempt, before its answer is lost.
 */
function flakyClient(failing: (attempt: number) => 'before' | 'after' | false, meanwhile?: () => Promise<void>): { client: CreditsClient; attempts: () => number } {
  let attempts = 0;
  const lostAnswer = () =>
    new ServiceError('Failed to start update', {
      cause: Object.assign(new Error('14 UNAVAILABLE: connection reset by peer'), { code: 14, details: 'connection reset by peer', metadata: {} }),
    });
  const interceptor: WorkflowClientInterceptor = {
    async startUpdate(input, next) {
      attempts += 1;
      const mode = failing(attempts);
      if (mode === 'before') throw lostAnswer();
      const output = await next(input);
      if (mode === 'after') {
        await meanwhile?.();
        throw lostAnswer();
      }
      return output;
    },
  };
  const temporal = new Client({ connection: suite.env.connection, namespace: suite.env.namespace ?? 'default', interceptors: { workflow: [interceptor] } });
  const client = new CreditsClient(temporal, {
    taskQueue: suite.taskQueue,
    retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 },
  });
  return { client, attempts: () => attempts };
}

describe('startAccount', () => {
  it('starts an account and returns its first summary', async () => {
    const started = await credits.startAccount(await startInput('client-start', { creditTier: 'tier-3', tags: ['chloe-beta'] }));
    expect(started.workflowId).toBe('ai-credits:client-start');
    expect(started.summary?.plan.id).toBe('growth');
    expect(started.summary?.credits.available).toBe(3000 + 7000);
    expect(started.summary?.tags).toEqual(['chloe-beta']);
  });

  it('reports an account already running as AccountAlreadyRunningError, changing nothing', async () => {
    await credits.startAccount(await startInput('client-twice'));
    const err = await failure(credits.startAccount(await startInput('client-twice', { users: 9 })));
    expect(err).toBeInstanceOf(AccountAlreadyRunningError);
    expect(isAccountAlreadyRunningError(err)).toBe(true);
    expect((await credits.summary('client-twice')).users).toBe(2);
  });

  it('rejects a malformed start locally, before anything is started', async () => {
    const err = await failure(credits.startAccount(await startInput('client-bad-users', { users: 0 })));
    expect(isCreditsInputError(err)).toBe(true);
    expect(err).toMatchObject({ problem: 'InvalidStartInput', code: 'input_rejected' });
    expect((err as Error).message).toMatch(/users/);
    expect(isAccountNotFoundError(await failure(credits.summary('client-bad-users')))).toBe(true);
  });

  it('refuses an unknown plan or tier against the rules before starting, leaving no workflow behind', async () => {
    for (const [id, spoil, message] of [
      ['client-local-plan', { plan: 'platinum' }, /unknown plan "platinum" \(known: solo, essentials, growth, scale\)/],
      ['client-local-tier', { creditTier: 'tier-99' }, /unknown credit tier "tier-99"/],
    ] as const) {
      const err = await failure(credits.startAccount(await startInput(id, spoil)));
      expect(err).toBeInstanceOf(CreditsInputError);
      expect(err).toMatchObject({ problem: 'InvalidStartInput', code: 'input_rejected' });
      expect((err as Error).message).toMatch(message);
      // No workflow was started: not even a closed, failed one.
      await expect(suite.env.client.workflow.getHandle(accountWorkflowId(id)).describe()).rejects.toThrow(/not found/i);
    }
  });

  it('reports the worker rejecting an unknown plan as CreditsInputError, and a fixed start then works', async () => {
    // A client told to leave the rules to the worker (its own rules may lag the worker's):
    // the workflow's own check still refuses the start.
    const credits = new CreditsClient(suite.env.client, { taskQueue: suite.taskQueue, rules: false });
    const err = await failure(credits.startAccount(await startInput('client-bad-plan', { plan: 'platinum' })));
    expect(err).toBeInstanceOf(CreditsInputError);
    expect(err).toMatchObject({ problem: 'InvalidStartInput' });
    expect((err as Error).message).toMatch(/unknown plan "platinum"/);
    // The failed workflow is closed: updates say the account is not running, and why.
    const closed = await failure(credits.summary('client-bad-plan'));
    expect(closed).toBeInstanceOf(AccountNotFoundError);
    expect((closed as Error).message).toMatch(/not running.*failed.*unknown plan/);
    const fixed = await credits.startAccount(await startInput('client-bad-plan'));
    expect(fixed.summary?.plan.id).toBe('growth');
  });

  it('refuses to start again an account that ran and was terminated (a fresh pool), unless told to restart it', async () => {
    const first = await credits.startAccount(await startInput('client-closed'));
    expect((await credits.recordUsage('client-closed', { feature: 'enrichment', quantity: 40, idempotencyKey: 'k1' })).accepted).toBe(true);
    await suite.env.client.workflow.getHandle(accountWorkflowId('client-closed')).terminate('ops closed it');
    const err = await failure(credits.startAccount(await startInput('client-closed')));
    expect(err).toBeInstanceOf(AccountClosedError);
    expect(isAccountClosedError(err)).toBe(true);
    expect(err).toMatchObject({ code: 'account_closed', status: 'terminated', accountId: 'client-closed' });
    expect((err as Error).message).toMatch(/client-closed ran and its workflow terminated: starting it again opens a fresh pool.*--restart-closed/);
    // Nothing was started: the latest run is still the terminated one.
    const latest = await suite.env.client.workflow.getHandle(accountWorkflowId('client-closed')).describe();
    expect([latest.runId, latest.status.name]).toEqual([first.runId, 'TERMINATED']);

    const again = await credits.startAccount(await startInput('client-closed'), { restartClosed: true });
    expect(again.runId).not.toBe(first.runId);
    expect(again.summary?.credits.used).toBe(0);
  });

});

describe('usage and calls', () => {
  beforeAll(async () => {
    await credits.startAccount(await startInput('client-usage', { plan: 'essentials', users: 1 }));
  });

  it('records usage and answers a repeated key with the first answer, charging once', async () => {
    const first = await credits.recordUsage('client-usage', { feature: 'enrichment', quantity: 10, idempotencyKey: 'u-1', userId: 'ann' });
    expect(first).toEqual({ accepted: true, credits: 10, balance: 990, duplicate: false });
    const again = await credits.recordUsage('client-usage', { feature: 'enrichment', quantity: 10, idempotencyKey: 'u-1', userId: 'ann' });
    expect(again).toEqual({ ...first, duplicate: true });
    expect((await credits.summary('client-usage')).credits.available).toBe(990);
  });

  it('refuses to invent an idempotency key', async () => {
    const err = await failure(credits.recordUsage('client-usage', { feature: 'enrichment', quantity: 1, idempotencyKey: ' ' }));
    expect(err).toMatchObject({ code: 'input_rejected', problem: 'MissingIdempotencyKey' });
  });

  it('turns the validator rejecting an unknown feature into CreditsInputError', async () => {
    const err = await failure(credits.recordUsage('client-usage', { feature: 'teleportation', quantity: 1, idempotencyKey: 'u-2' }));
    expect(err).toBeInstanceOf(CreditsInputError);
    expect(err).toMatchObject({ problem: 'UnknownFeature', accountId: 'client-usage' });
    expect((err as Error).message).toMatch(/unknown feature "teleportation"/);
  });

  it('starts and ends a Voice Agent call, idempotently by call id', async () => {
    expect(await credits.startCall('client-usage', { callId: 'c-1', agentId: 'agent-1' })).toEqual({ authorized: true, balance: 990 });
    // The call runs its 2 minutes (a call is charged at most for the time it ran).
    await suite.env.sleep('2 minutes');
    const ended = await credits.endCall('client-usage', { callId: 'c-1', minutes: 2 });
    expect(ended).toEqual({ credits: 40, balance: 950, minutesCharged: 2, capped: false });
    expect(await credits.endCall('client-usage', { callId: 'c-1', minutes: 2 })).toEqual(ended);
    const s = await credits.summary('client-usage');
    expect(s.credits.available).toBe(950);
    expect(s.telephonyMinutes).toBe(2);
  });

  it('rejects ending a call that never started', async () => {
    const err = await failure(credits.endCall('client-usage', { callId: 'c-unknown', minutes: 1 }));
    expect(err).toMatchObject({ problem: 'UnknownCall' });
  });

  it('says an unknown account is unknown, for updates and the summary', async () => {
    const update = await failure(credits.recordUsage('nobody-here', { feature: 'enrichment', quantity: 1, idempotencyKey: 'k' }));
    expect(update).toBeInstanceOf(AccountNotFoundError);
    expect((update as Error).message).toMatch(/unknown account nobody-here/);
    expect(isAccountNotFoundError(await failure(credits.summary('nobody-here')))).toBe(true);
  });
});

describe('account configuration', () => {
  beforeAll(async () => {
    await credits.startAccount(await startInput('client-config', { plan: 'essentials', users: 2 }));
  });

  it('changes users, plan, tier, toggles and grants', async () => {
    expect(await credits.setUsers('client-config', { users: 3 })).toEqual({ users: 3, creditsGranted: 1000 });
    expect(await credits.changePlan('client-config', { plan: 'Professional' })).toEqual({ plan: 'growth', effective: 'now', creditsGranted: 1500 });
    expect(await credits.changeCreditTier('client-config', { tier: 'tier-1' })).toEqual({ tier: 'tier-1', effective: 'now', chargedCents: 2000, creditsGranted: 1200 });
    expect(await credits.setFeatureEnabled('client-config', { feature: 'enrichment', enabled: false })).toEqual({ feature: 'enrichment', enabled: false });
    expect(await credits.setVoiceAgentActive('client-config', { agentId: 'a-9', active: false })).toEqual({ agentId: 'a-9', active: false });
    const grant = await credits.grantCredits('client-config', { credits: 500, reason: 'goodwill', validForCycles: 2, idempotencyKey: 'g-1' });
    expect(grant.duplicate).toBe(false);
    expect(await credits.grantCredits('client-config', { credits: 500, reason: 'goodwill', validForCycles: 2, idempotencyKey: 'g-1' })).toEqual({ ...grant, duplicate: true });
    const s = await credits.summary('client-config');
    expect(s.plan.id).toBe('growth');
    expect(s.tier?.id).toBe('tier-1');
    expect(s.credits.available).toBe(4500 + 1200 + 500);
    expect(s.features).toContainEqual({ feature: 'enrichment', enabled: false });
    expect(s.inactiveAgents).toEqual(['a-9']);
  });

  it('rejects an unknown plan, an unknown tier and a feature that cannot be toggled', async () => {
    expect(await failure(credits.changePlan('client-config', { plan: 'platinum' }))).toMatchObject({ problem: 'UnknownPlan' });
    expect(await failure(credits.changeCreditTier('client-config', { tier: 'tier-99' }))).toMatchObject({ problem: 'UnknownTier' });
    expect(await failure(credits.setFeatureEnabled('client-config', { feature: 'voice-agent', enabled: false }))).toMatchObject({
      problem: 'FeatureNotToggleable',
    });
    expect(await failure(credits.grantCredits('client-config', { credits: 5, reason: 'x', validForCycles: 1, idempotencyKey: '' }))).toMatchObject({
      problem: 'MissingIdempotencyKey',
    });
  });
});

describe('retries', () => {
  beforeAll(async () => {
    await credits.startAccount(await startInput('client-retry', { plan: 'essentials', users: 1 }));
  });

  it('retries a usage whose answer was lost; the retry gets the first answer and charges nothing more', async () => {
    const { client, attempts } = flakyClient((n) => (n === 1 ? 'after' : false));
    const result = await client.recordUsage('client-retry', { feature: 'enrichment', quantity: 5, idempotencyKey: 'r-1' });
    expect(attempts()).toBe(2);
    // The same update id: the server answers the retry with the first attempt's outcome.
    expect(result).toEqual({ accepted: true, credits: 5, balance: 995, duplicate: false });
    expect((await credits.summary('client-retry')).credits.available).toBe(995);
  });

  it('retries a tier purchase whose answer was lost: told what it was charged, and a cancellation made meanwhile stands', async () => {
    await credits.startAccount(await startInput('client-retry-tier', { plan: 'essentials', users: 1 }));
    let cancelled = false;
    // Another admin cancels after the purchase was applied, while its answer is lost.
    const { client, attempts } = flakyClient(
      (n) => (n === 1 ? 'after' : false),
      async () => {
        await credits.changeCreditTier('client-retry-tier', { tier: null });
        cancelled = true;
      },
    );
    const bought = await client.changeCreditTier('client-retry-tier', { tier: 'tier-1' });
    expect(cancelled).toBe(true);
    expect(attempts()).toBe(2);
    expect(bought).toEqual({ tier: 'tier-1', effective: 'now', chargedCents: 2000, creditsGranted: 1200 });
    const s = await credits.summary('client-retry-tier');
    expect(s.tier?.id).toBe('tier-1');
    expect(s.pendingTier).toMatchObject({ tier: null });
    const charges = await chargesMade('client-retry-tier');
    expect(charges.map((c) => [c.tierId, c.reason])).toEqual([['tier-1', 'purchase']]);
  });

  it('answers a request sent again under its own updateId, from another process after a change in between, once', async () => {
    await credits.startAccount(await startInput('client-request-id', { plan: 'essentials', users: 1 }));
    const bought = await credits.changeCreditTier('client-request-id', { tier: 'tier-1' }, { updateId: 'form-tier-1' });
    expect(bought).toEqual({ tier: 'tier-1', effective: 'now', chargedCents: 2000, creditsGranted: 1200 });
    expect(await credits.changeCreditTier('client-request-id', { tier: null })).toMatchObject({ effective: 'next_cycle' });
    // Another process (a second admin server) sends the request again: the first answer, and
    // the cancellation made in between stands.
    const other = new CreditsClient(suite.env.client, { taskQueue: suite.taskQueue });
    expect(await other.changeCreditTier('client-request-id', { tier: 'tier-1' }, { updateId: 'form-tier-1' })).toEqual(bought);
    expect((await credits.summary('client-request-id')).pendingTier).toMatchObject({ tier: null });
    // A new request is a new request.
    expect(await other.changeCreditTier('client-request-id', { tier: 'tier-1' }, { updateId: 'form-tier-2' })).toEqual({ tier: 'tier-1', effective: 'now', chargedCents: 0, creditsGranted: 0 });
    expect((await credits.summary('client-request-id')).pendingTier).toBeNull();
    const charges = await chargesMade('client-request-id');
    expect(charges.map((c) => [c.tierId, c.reason])).toEqual([['tier-1', 'purchase']]);
  });

  it('keeps one request id given to two kinds of request apart: each is applied and answered as its own', async () => {
    await credits.startAccount(await startInput('client-request-kinds', { plan: 'essentials', users: 1 }));
    expect(await credits.setUsers('client-request-kinds', { users: 2 }, { updateId: 'ticket-9' })).toEqual({ users: 2, creditsGranted: 1000 });
    // Sent as the same Temporal update id, the server would answer the users change's outcome.
    expect(await credits.changeCreditTier('client-request-kinds', { tier: 'tier-1' }, { updateId: 'ticket-9' })).toEqual({
      tier: 'tier-1',
      effective: 'now',
      chargedCents: 2000,
      creditsGranted: 1200,
    });
    const s = await credits.summary('client-request-kinds');
    expect(s.users).toBe(2);
    expect(s.tier?.id).toBe('tier-1');
  });

  it.each([
    ['', 'got an empty text'],
    ['form 1', 'got a space at index 4'],
    ['x'.repeat(201), 'got 201 characters long'],
  ])('refuses the updateId %j before sending it', async (updateId, why) => {
    const err = await failure(credits.setUsers('client-retry', { users: 2 }, { updateId }));
    expect(isCreditsInputError(err)).toBe(true);
    expect(err).toMatchObject({ problem: 'InvalidInput', message: expect.stringContaining(`updateId must be 1-200 printable ASCII characters without spaces, ${why}`) });
    expect((await credits.summary('client-retry')).users).toBe(1);
  });

  it('retries a call that never reached the server', async () => {
    const { client, attempts } = flakyClient((n) => (n === 1 ? 'before' : false));
    expect(await client.recordUsage('client-retry', { feature: 'enrichment', quantity: 5, idempotencyKey: 'r-2' })).toMatchObject({ duplicate: false, balance: 990 });
    expect(attempts()).toBe(2);
  });

  it('gives up with CreditsUnavailableError after the last attempt', async () => {
    const { client, attempts } = flakyClient(() => 'before');
    const err = await failure(client.setUsers('client-retry', { users: 2 }));
    expect(isCreditsUnavailableError(err)).toBe(true);
    expect((err as Error).message).toMatch(/setUsers for account client-retry got no answer after 3 attempts.*UNAVAILABLE/);
    expect(attempts()).toBe(3);
  });

  it('does not retry a validator rejection', async () => {
    const { client, attempts } = flakyClient(() => false);
    await failure(client.recordUsage('client-retry', { feature: 'nope', quantity: 1, idempotencyKey: 'r-3' }));
    expect(attempts()).toBe(1);
  });
});

describe('the message table on the real workflow', () => {
  it('has a validator for every update, rejecting with a failure type the table declares', async () => {
    await credits.startAccount(await startInput('client-table'));
    const handle = suite.env.client.workflow.getHandle(accountWorkflowId('client-table'));
    for (const name of Object.keys(ACCOUNT_UPDATES) as AccountUpdateName[]) {
      const { definition, failures } = ACCOUNT_UPDATES[name];
      const err = await failure(handle.executeUpdate(definition.name, { args: [null] }));
      expect(err, name).toBeInstanceOf(WorkflowUpdateFailedError);
      const type = ((err as Error).cause as { type?: string } | undefined)?.type;
      expect(failures, name).toContain(type);
    }
  });

  it('recognises an account still opening by its failure, and summary waits for it to open', async () => {
    // A worker of its own whose rules activity is held back: the account stays opening.
    const acts = fakeActivities();
    let release = () => undefined as void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const worker = await startWorker(suite.env, { ...acts, loadRules: async (at) => held.then(() => acts.loadRules(at)) });
    try {
      const slow = new CreditsClient(suite.env.client, { taskQueue: worker.taskQueue });
      await slow.startAccount(await startInput('client-opening'), { waitUntilOpen: false });
      const handle = suite.env.client.workflow.getHandle(accountWorkflowId('client-opening'));
      let refusal: unknown;
      for (let i = 0; i < 100 && refusal === undefined; i++) {
        // The first query may come before the worker has run the workflow at all.
        refusal = await handle.query(ACCOUNT_QUERIES.summary.definition).then(
          () => undefined,
          (err: unknown) => (isAccountOpening(err) ? err : new Promise((resolve) => setTimeout(() => resolve(undefined), 50))),
        );
      }
      expect(isAccountOpening(refusal)).toBe(true);
      expect(isAccountOpening(await failure(handle.query('noSuchQuery')))).toBe(false);

      const summary = slow.summary('client-opening');
      setTimeout(release, 300);
      expect((await summary).accountId).toBe('client-opening');
    } finally {
      release();
      await worker.stop();
    }
  });
});

describe('connectCreditsClient', () => {
  it('names the address and how to start a server when Temporal is unreachable', async () => {
    const err = await failure(connectCreditsClient({ env: { TEMPORAL_ADDRESS: '127.0.0.1:1' }, connectTimeoutMs: 1_000 }));
    expect(isCreditsUnavailableError(err)).toBe(true);
    expect((err as Error).message).toMatch(/^cannot reach Temporal at 127\.0\.0\.1:1/);
  });

  it('connects from TEMPORAL_ADDRESS and reads the task queue from CREDITS_TASK_QUEUE', async () => {
    const address = suite.env.connection.options.address;
    const conn = await connectCreditsClient({ env: { TEMPORAL_ADDRESS: address, CREDITS_TASK_QUEUE: suite.taskQueue } });
    try {
      expect(conn.client.taskQueue).toBe(suite.taskQueue);
      expect((await conn.client.summary('client-usage')).accountId).toBe('client-usage');
    } finally {
      await conn.close();
    }
  });
});

// Last: these start workflows the worker fails at once, and nothing after them may depend on
// the server's clock they ran at.
describe("the worker's start guard", () => {
  it('refuses, in the worker, an account whose ledger holds an earlier workflow Temporal no longer keeps, unless told to restart it', async () => {
    const { temporal, credits } = withoutTimeSkipping();
    // Retention deleted the closed run: Temporal knows nothing, the ledger keeps its entries.
    const earlier = { ...suite.acts.ledger.find((e) => e.kind === 'cycle_start'), accountId: 'client-retained', entryId: 'client-retained:0ld3p0ch:1', at: '2026-01-05T10:00:00.000Z' };
    suite.acts.ledger.push(earlier as (typeof suite.acts.ledger)[number]);
    const err = await failure(credits.startAccount(await startInput('client-retained')));
    expect(err).toBeInstanceOf(AccountClosedError);
    expect(err).toMatchObject({ code: 'account_closed', status: 'closed', accountId: 'client-retained' });
    // The worker failed the new workflow before it opened: nothing granted, charged or written.
    const handle = temporal.workflow.getHandle(accountWorkflowId('client-retained'));
    const closed = await failure(handle.result());
    expect(closed).toBeInstanceOf(WorkflowFailedError);
    expect((closed as WorkflowFailedError).cause).toMatchObject({
      type: 'AccountClosed',
      message: expect.stringContaining("account client-retained ran before under an earlier workflow (its ledger's latest entry client-retained:0ld3p0ch:1, at 2026-01-05T10:00:00.000Z)"),
    });
    expect(suite.acts.ledger.filter((e) => e.accountId === 'client-retained')).toEqual([earlier]);
    expect(suite.acts.charges.filter((c) => c.accountId === 'client-retained')).toEqual([]);
    // Asked again, the client reads that failure as the account being closed, without starting.
    expect(await failure(credits.startAccount(await startInput('client-retained')))).toMatchObject({ code: 'account_closed', status: 'closed' });

    const restarted = await credits.startAccount(await startInput('client-retained'), { restartClosed: true });
    expect(restarted.summary?.credits.used).toBe(0);
    expect((await handle.describe()).status.name).toBe('RUNNING');
  });

  it('refuses, in the worker, a start by name of a terminated account (a service in another language), unless its input says restartClosed', async () => {
    const { temporal, credits } = withoutTimeSkipping();
    const input = await startInput('client-by-name');
    await credits.startAccount(input);
    await waitFor(() => suite.acts.ledger.some((e) => e.accountId === 'client-by-name'), 'the opening entries');
    const workflowId = accountWorkflowId('client-by-name');
    await temporal.workflow.getHandle(workflowId).terminate('ops closed it');
    // As another SDK starts it: by the workflow type's name, with Temporal's default id reuse.
    const byName = await temporal.workflow.start(WORKFLOW_TYPE, { workflowId, taskQueue: suite.taskQueue, args: [input] });
    const refused = await failure(byName.result());
    expect((refused as WorkflowFailedError).cause).toMatchObject({ type: 'AccountClosed' });
    const restarted = await temporal.workflow.start(WORKFLOW_TYPE, { workflowId, taskQueue: suite.taskQueue, args: [{ ...input, restartClosed: true }] });
    await waitFor(async () => (await credits.summary('client-by-name').catch(() => undefined))?.credits.used === 0, 'the restarted account open');
    expect((await restarted.describe()).status.name).toBe('RUNNING');
  });
});

describe('a client whose connection was closed', () => {
  it('answers every call at once as unavailable, saying the connection is closed, and records nothing', async () => {
    const connection = await Connection.connect({ address: suite.env.address });
    const closed = new CreditsClient(new Client({ connection }), { taskQueue: suite.taskQueue });
    await suite.open({ accountId: 'closed-conn', plan: 'scale', users: 1 });
    await connection.close();
    const started = Date.now();
    const [usage, summary] = await Promise.all([
      closed.recordUsage('closed-conn', { feature: 'enrichment', quantity: 1, idempotencyKey: 'after-close' }).catch((e: unknown) => e),
      closed.summary('closed-conn').catch((e: unknown) => e),
    ]);
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(isCreditsUnavailableError(usage) && (usage as Error).message).toBe(
      "recordUsageBatch for account closed-conn was not sent: this client's Temporal connection is closed; send it again, with the same key or request id, through an open one",
    );
    expect(isCreditsUnavailableError(summary)).toBe(true);
    expect((await credits.summary('closed-conn')).credits.used).toBe(0);
  });
});

describe('a caller giving up on recordUsage', () => {
  it('gets cancelled at once, coalesced or not, while an account no worker serves keeps the call waiting', async () => {
    // Started on a task queue no worker polls: every update waits for a workflow task.
    const accountId = 'abandoned';
    await suite.env.client.workflow.start(WORKFLOW_TYPE, {
      workflowId: accountWorkflowId(accountId),
      taskQueue: 'nobody-polls-here',
      args: [{ accountId, plan: 'scale', users: 1, cycleAnchor: new Date().toISOString() }],
    });
    for (const coalesce of [undefined, false] as const) {
      const client = new CreditsClient(suite.env.client, { taskQueue: suite.taskQueue, ...(coalesce === false ? { coalesce } : {}) });
      const controller = new AbortController();
      const started = Date.now();
      const call = client.recordUsage(accountId, { feature: 'enrichment', quantity: 1, idempotencyKey: `give-up-${String(coalesce)}` }, { signal: controller.signal });
      setTimeout(() => controller.abort(), 300);
      const err = await call.catch((e: unknown) => e);
      expect(isCreditsError(err) && err.code).toBe('cancelled');
      expect((err as Error).message).toMatch(/may still be applied; send it again with the same key/);
      expect(Date.now() - started).toBeLessThan(3_000);
    }
    await suite.env.client.workflow.getHandle(accountWorkflowId(accountId)).terminate('test done');
  });
});

describe('admin addresses', () => {
  it.each([['ops,attacker@evil.test'], ['ops;attacker@evil.test'], ['Boss<attacker@evil.test>'], ['team:attacker@evil.test;'], ['ops@acme.test>,<x'], ['"ab"@acme.test']])(
    'refuses %s, which a mailer would read as someone else, before anything is sent',
    async (address) => {
      const message = `admins[1] must be one plain e-mail address such as ops@example.com, without , ; < > : " ( ) [ ] or \\ (got ${JSON.stringify(address)})`;
      const viaSet = await credits.setAdmins('never-sent', { admins: ['ok@acme.test', address] }).catch((e: unknown) => e);
      expect(viaSet).toBeInstanceOf(CreditsInputError);
      expect(viaSet).toMatchObject({ problem: 'InvalidInput', message });
      const viaStart = await credits
        .startAccount({ accountId: 'never-started', plan: 'growth', users: 1, cycleAnchor: new Date().toISOString(), admins: ['ok@acme.test', address] })
        .catch((e: unknown) => e);
      expect(viaStart).toMatchObject({ problem: 'InvalidStartInput', message });
    },
  );

  it('takes plain addresses, international ones included', async () => {
    await suite.open({ accountId: 'admins-plain', plan: 'growth', users: 1 });
    expect(await credits.setAdmins('admins-plain', { admins: ['ops@acme.test', 'josé@exämple.com'] })).toMatchObject({ admins: ['ops@acme.test', 'josé@exämple.com'] });
  });
});
