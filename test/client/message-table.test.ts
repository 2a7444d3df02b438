/**
 * The message table is complete on every side: each update has a check whose problems are
 * among its declared failures, is named as it is keyed, and has a client method that checks
 * with it and sends it. (That the workflow registers a validator for each is shown against
 * the real workflow in credits-client.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { ApplicationFailure, QueryNotRegisteredError, ServiceError, WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import {
  ACCOUNT_OPENING_MESSAGE,
  ACCOUNT_QUERIES,
  ACCOUNT_UPDATES,
  CreditsClient,
  INPUT_PROBLEM_CODES,
  WORKFLOW_FAILURE_TYPES,
  isAccountOpening,
  isCreditsInputError,
  type AccountUpdateName,
  type UpdateInput,
} from '../../client';

const UPDATE_NAMES = Object.keys(ACCOUNT_UPDATES) as AccountUpdateName[];

/** A valid input of each update, by name (typed, so a new update needs one here). */
const VALID_INPUT: { [Name in AccountUpdateName]: UpdateInput<Name> } = {
  recordUsage: { feature: 'enrichment', quantity: 1, idempotencyKey: 'k-1' },
  recordUsageBatch: { events: [{ feature: 'enrichment', quantity: 1, idempotencyKey: 'k-1' }] },
  startCall: { callId: 'c-1', agentId: 'a-1' },
  endCall: { callId: 'c-1', minutes: 1 },
  setUsers: { users: 2 },
  changePlan: { plan: 'growth' },
  changeCreditTier: { tier: null },
  setFeatureEnabled: { feature: 'enrichment', enabled: false },
  setVoiceAgentActive: { agentId: 'a-1', active: true },
  grantCredits: { credits: 1, reason: 'test', validForCycles: 1, idempotencyKey: 'g-1' },
  voidUsage: { idempotencyKey: 'k-1', reason: 'charged twice by a bug' },
  setAdmins: { admins: ['ops@acme.test'] },
  setTags: { tags: ['chloe-beta'] },
};

/** A stand-in Temporal client whose every update goes to `executeUpdate`. */
function fakeTemporal(executeUpdate: (definition: { name: string }, options: { args: unknown[] }) => Promise<unknown>): Client {
  return {
    options: { namespace: 'default' },
    withDeadline: <T>(_deadline: number, fn: () => Promise<T>) => fn(),
    workflow: { getHandle: () => ({ executeUpdate }) },
  } as unknown as Client;
}

/** A CreditsClient over a stand-in Temporal client that records the updates sent and answers `ok`. */
function recordingClient(): { client: CreditsClient; sent: string[] } {
  const sent: string[] = [];
  const temporal = fakeTemporal(async (definition) => {
    sent.push(definition.name);
    return 'ok';
  });
  // One update per call, so each method's own update is what is sent; coalescing `recordUsage`
  // into `recordUsageBatch` is tested below and in usage-coalescing.test.ts.
  return { client: new CreditsClient(temporal, { coalesce: false }), sent };
}

/** Calls the client's method for an update by its name. */
function callUpdate(client: CreditsClient, name: AccountUpdateName, input: unknown): Promise<unknown> {
  const method = client[name] as (accountId: string, input: unknown) => Promise<unknown>;
  return method.call(client, 'acct-1', input);
}

describe('the update table', () => {
  it.each(UPDATE_NAMES)('%s is named as it is keyed, has a check, and declares what its check rejects with', (name) => {
    const message = ACCOUNT_UPDATES[name];
    expect(message.definition.name).toBe(name);
    expect(typeof message.check).toBe('function');
    expect(message.check(VALID_INPUT[name], {})).toBeUndefined();
    const problem = message.check(null, {});
    expect(problem).toBeDefined();
    expect(message.failures).toContain(problem?.code);
    const known: readonly string[] = [...INPUT_PROBLEM_CODES, ...Object.values(WORKFLOW_FAILURE_TYPES)];
    for (const failure of message.failures) expect(known).toContain(failure);
  });

  it('has the summary query, which fails only as AccountOpening', () => {
    expect(ACCOUNT_QUERIES.summary.definition.name).toBe('summary');
    expect(ACCOUNT_QUERIES.summary.failures).toEqual([WORKFLOW_FAILURE_TYPES.accountOpening]);
  });
});

describe('the client', () => {
  it.each(UPDATE_NAMES)('sends %s through its own method, under its own name', async (name) => {
    const { client, sent } = recordingClient();
    expect(typeof client[name]).toBe('function');
    expect(await callUpdate(client, name, VALID_INPUT[name])).toBe('ok');
    expect(sent).toEqual([name]);
  });

  it.each(UPDATE_NAMES)('checks %s input with the table entry before sending anything', async (name) => {
    const { client, sent } = recordingClient();
    const err = await callUpdate(client, name, null).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isCreditsInputError(err)).toBe(true);
    expect(ACCOUNT_UPDATES[name].failures).toContain((err as { problem: string }).problem);
    expect(sent).toEqual([]);
  });
});

describe('the coalescing client', () => {
  it('sends recordUsage as recordUsageBatch and answers each caller with its own event', async () => {
    const sent: string[] = [];
    const temporal = fakeTemporal(async (definition, { args }) => {
      sent.push(definition.name);
      const { events } = args[0] as { events: { idempotencyKey: string }[] };
      return { results: events.map((e) => ({ accepted: true, credits: 1, balance: 0, duplicate: false, key: e.idempotencyKey })) };
    });
    const client = new CreditsClient(temporal, { coalesce: { lingerMs: 20 } });
    const answers = await Promise.all(['a', 'b', 'c'].map((k) => client.recordUsage('acct-1', { feature: 'enrichment', quantity: 1, idempotencyKey: k })));
    expect(answers.map((a) => (a as unknown as { key: string }).key)).toEqual(['a', 'b', 'c']);
    expect(sent).toEqual(['recordUsageBatch']);
  });
});

describe('the coalescing client on a worker without recordUsageBatch', () => {
  it('falls back to one recordUsage per event, each caller its own answer or error', async () => {
    const sent: string[] = [];
    const temporal = fakeTemporal(async (definition, { args }) => {
      sent.push(definition.name);
      if (definition.name === 'recordUsageBatch') {
        throw new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.nonRetryable('No registered handler for update: recordUsageBatch'));
      }
      if ((args[0] as { idempotencyKey: string }).idempotencyKey === 'bad') {
        throw new WorkflowUpdateFailedError('Workflow Update failed', ApplicationFailure.nonRetryable('unknown feature', 'UnknownFeature'));
      }
      return { accepted: true, credits: 1, balance: 0, duplicate: false };
    });
    const client = new CreditsClient(temporal, { coalesce: { lingerMs: 20 } });
    const settled = await Promise.allSettled(['a', 'bad', 'c'].map((k) => client.recordUsage('acct-1', { feature: 'enrichment', quantity: 1, idempotencyKey: k })));
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(settled[1]?.status === 'rejected' && isCreditsInputError(settled[1].reason) ? settled[1].reason.problem : undefined).toBe('UnknownFeature');
    expect(sent).toEqual(['recordUsageBatch', 'recordUsage', 'recordUsage', 'recordUsage']);
  });
});

describe('isAccountOpening', () => {
  it('knows the failure by its type', () => {
    const failure = ApplicationFailure.nonRetryable('any words', WORKFLOW_FAILURE_TYPES.accountOpening);
    expect(isAccountOpening(failure)).toBe(true);
    expect(isAccountOpening(new Error('query failed', { cause: failure }))).toBe(true);
    expect(isAccountOpening(ApplicationFailure.nonRetryable(ACCOUNT_OPENING_MESSAGE, 'SomethingElse'))).toBe(false);
  });

  it('knows a failed query, which carries no type, by the whole message the workflow throws with', () => {
    expect(isAccountOpening(new QueryNotRegisteredError(ACCOUNT_OPENING_MESSAGE, 3))).toBe(true);
    // How the time-skipping server answers a query that failed during a workflow task.
    const internal = (details: string) =>
      new ServiceError('Failed to query Workflow', {
        cause: Object.assign(new Error(`13 INTERNAL: ${details}`), { code: 13, details, metadata: {} }),
      });
    expect(isAccountOpening(internal(ACCOUNT_OPENING_MESSAGE))).toBe(true);
    expect(isAccountOpening(internal('something else'))).toBe(false);
    expect(isAccountOpening(new QueryNotRegisteredError('Query handler for summary not registered', 3))).toBe(false);
    expect(isAccountOpening(new Error(ACCOUNT_OPENING_MESSAGE))).toBe(false);
    expect(isAccountOpening(undefined)).toBe(false);
  });
});
