/**
 * The account workflow's messages, defined once: each update's definition sits beside the
 * check its input must pass and the failure types it may reject with. The workflow registers
 * its validators and handlers from this table and the client library builds its calls from it,
 * so a message cannot drift between sides or be wired on one side only. Services in other
 * languages call them by the names below with the JSON shapes of `domain/wire-contract.ts`.
 *
 * Everything a caller needs an answer to is an update, not a signal: a product service must
 * know at once whether usage was admitted, and a validator can refuse malformed input before
 * it is written to history. The only query is the read-only `summary`.
 */
import type { QueryDefinition, UpdateDefinition } from '@temporalio/common';
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type * as wire from '../domain/wire-contract';
import { WORKFLOW_FAILURE_TYPES, type WorkflowFailureType } from '../domain/failure-types';
import {
  checkAdminAddresses,
  checkChangeCreditTier,
  checkChangePlan,
  checkEndCall,
  checkGrantCredits,
  checkRecordUsage,
  checkRecordUsageBatch,
  checkSetAdmins,
  checkSetFeatureEnabled,
  checkSetTags,
  checkSetUsers,
  checkSetVoiceAgentActive,
  checkStartCall,
  checkVoidUsage,
  type InputCheck,
  type InputProblemCode,
} from '../domain/input-problems';

/** Workflow type name. */
export const WORKFLOW_TYPE = 'accountCredits';
/** Default task queue of the account workflows. */
export const DEFAULT_TASK_QUEUE = 'ai-credits';

/** Workflow id of an account's credit workflow. */
export function accountWorkflowId(accountId: string): string {
  return `ai-credits:${accountId}`;
}

/** Type of an ApplicationFailure a message may fail with. */
export type MessageFailureType = InputProblemCode | WorkflowFailureType;

/** One update of the account workflow. */
export interface UpdateMessage<Result, Input> {
  /** The update's name and types, for `setHandler` and `executeUpdate`. */
  readonly definition: UpdateDefinition<Result, [Input]>;
  /**
   * The check of its input, run by the client (with no context), by the workflow's validator
   * (with what the account has loaded so far) and again by its handler (on the open account).
   */
  readonly check: InputCheck;
  /**
   * A stricter check than `check`, run by the clients and by the workflow's validator only:
   * validators do not run when a history replays, so this one may refuse what accepted updates
   * of recorded histories hold, while the handler keeps the check they passed.
   */
  readonly admit?: InputCheck;
  /** Failure types it may reject with, each the `type` of an ApplicationFailure. */
  readonly failures: readonly MessageFailureType[];
}

/** One query of the account workflow. */
export interface QueryMessage<Result> {
  /** The query's name and result type. */
  readonly definition: QueryDefinition<Result>;
  /** Failure types it may fail with. */
  readonly failures: readonly MessageFailureType[];
}

function update<Result, Input>(name: string, check: InputCheck, failures: readonly InputProblemCode[], admit?: InputCheck): UpdateMessage<Result, Input> {
  // Any command may meet an account state that cannot take it (a bug, or rules without the
  // account's plan): the handler reports that as a failure too, never as a failed task.
  const all = [...failures, WORKFLOW_FAILURE_TYPES.accountState, WORKFLOW_FAILURE_TYPES.accountLimit];
  return { definition: defineUpdate<Result, [Input]>(name), check, ...(admit ? { admit } : {}), failures: all };
}

/** Every update of the account workflow, keyed by its name. */
export const ACCOUNT_UPDATES = {
  /** Report usage of a credit-based, free or telephony-billed feature; answers accepted or not. */
  recordUsage: update<wire.RecordUsageResult, wire.RecordUsageInput>('recordUsage', checkRecordUsage, [
    'InvalidInput',
    'UnknownFeature',
    'UseCallUpdates',
    'InvalidQuantity',
    'MissingIdempotencyKey',
  ]),
  /**
   * Report up to 500 usage events at once, each answered in order exactly as `recordUsage`
   * answers it; a malformed batch (or any malformed event's shape) is refused as a whole, an
   * event the rules refuse gets its own `invalid_event` answer.
   */
  recordUsageBatch: update<wire.RecordUsageBatchResult, wire.RecordUsageBatchInput>('recordUsageBatch', checkRecordUsageBatch, ['InvalidInput']),
  /** Ask to place a Voice Agent call. */
  startCall: update<wire.StartCallResult, wire.StartCallInput>('startCall', checkStartCall, ['InvalidInput']),
  /** Report a Voice Agent call's end; charged even past zero, for at most the time it ran. */
  endCall: update<wire.EndCallResult, wire.EndCallInput>('endCall', checkEndCall, ['InvalidInput', 'InvalidQuantity', 'UnknownCall']),
  /** Change the number of users. */
  setUsers: update<wire.SetUsersResult, wire.SetUsersInput>('setUsers', checkSetUsers, ['InvalidInput']),
  /** Change the CRM plan (or convert a trial). */
  changePlan: update<wire.ChangePlanResult, wire.ChangePlanInput>('changePlan', checkChangePlan, ['InvalidInput', 'UnknownPlan']),
  /** Buy, upgrade, downgrade or cancel the AI Credit Subscription tier. */
  changeCreditTier: update<wire.ChangeCreditTierResult, wire.ChangeCreditTierInput>('changeCreditTier', checkChangeCreditTier, ['InvalidInput', 'UnknownTier', 'TierChangeDiffers']),
  /** Switch a toggleable feature on or off. */
  setFeatureEnabled: update<wire.SetFeatureEnabledResult, wire.SetFeatureEnabledInput>('setFeatureEnabled', checkSetFeatureEnabled, [
    'InvalidInput',
    'UnknownFeature',
    'FeatureNotToggleable',
  ]),
  /** Activate or deactivate a Voice Agent. */
  setVoiceAgentActive: update<wire.SetVoiceAgentActiveResult, wire.SetVoiceAgentActiveInput>('setVoiceAgentActive', checkSetVoiceAgentActive, ['InvalidInput']),
  /** Grant credits by hand (billing ops). */
  grantCredits: update<wire.GrantCreditsResult, wire.GrantCreditsInput>('grantCredits', checkGrantCredits, ['InvalidInput', 'MissingIdempotencyKey']),
  /** Void a usage of the current cycle by its idempotency key (billing ops); answers voided or not. */
  voidUsage: update<wire.VoidUsageResult, wire.VoidUsageInput>('voidUsage', checkVoidUsage, ['InvalidInput', 'MissingIdempotencyKey']),
  /** Replace the account's admins. */
  setAdmins: update<wire.SetAdminsResult, wire.SetAdminsInput>('setAdmins', checkSetAdmins, ['InvalidInput'], (input) =>
    checkAdminAddresses((input as Partial<wire.SetAdminsInput> | undefined)?.admins, 'InvalidInput'),
  ),
  /** Replace the account's tags (a tag may make the account eligible for an open promotion). */
  setTags: update<wire.SetTagsResult, wire.SetTagsInput>('setTags', checkSetTags, ['InvalidInput']),
};
/** Name of an update of the account workflow. */
export type AccountUpdateName = keyof typeof ACCOUNT_UPDATES;
/** Input of the named update. */
export type UpdateInput<Name extends AccountUpdateName> = (typeof ACCOUNT_UPDATES)[Name] extends UpdateMessage<unknown, infer I> ? I : never;
/** Result of the named update. */
export type UpdateResult<Name extends AccountUpdateName> = (typeof ACCOUNT_UPDATES)[Name] extends UpdateMessage<infer R, infer _I> ? R : never;

/** Every query of the account workflow, keyed by its name. */
export const ACCOUNT_QUERIES = {
  /** Everything an admin sees of the account's credits; fails as `AccountOpening` until the account has opened. */
  summary: { definition: defineQuery<wire.AccountSummary>('summary'), failures: [WORKFLOW_FAILURE_TYPES.accountOpening] } satisfies QueryMessage<wire.AccountSummary>,
};

// The definitions by their earlier names, for callers that pass a definition to Temporal directly.
/** `ACCOUNT_UPDATES.recordUsage.definition`. */
export const recordUsageUpdate = ACCOUNT_UPDATES.recordUsage.definition;
/** `ACCOUNT_UPDATES.recordUsageBatch.definition`. */
export const recordUsageBatchUpdate = ACCOUNT_UPDATES.recordUsageBatch.definition;
/** `ACCOUNT_UPDATES.startCall.definition`. */
export const startCallUpdate = ACCOUNT_UPDATES.startCall.definition;
/** `ACCOUNT_UPDATES.endCall.definition`. */
export const endCallUpdate = ACCOUNT_UPDATES.endCall.definition;
/** `ACCOUNT_UPDATES.setUsers.definition`. */
export const setUsersUpdate = ACCOUNT_UPDATES.setUsers.definition;
/** `ACCOUNT_UPDATES.changePlan.definition`. */
export const changePlanUpdate = ACCOUNT_UPDATES.changePlan.definition;
/** `ACCOUNT_UPDATES.changeCreditTier.definition`. */
export const changeCreditTierUpdate = ACCOUNT_UPDATES.changeCreditTier.definition;
/** `ACCOUNT_UPDATES.setFeatureEnabled.definition`. */
export const setFeatureEnabledUpdate = ACCOUNT_UPDATES.setFeatureEnabled.definition;
/** `ACCOUNT_UPDATES.setVoiceAgentActive.definition`. */
export const setVoiceAgentActiveUpdate = ACCOUNT_UPDATES.setVoiceAgentActive.definition;
/** `ACCOUNT_UPDATES.grantCredits.definition`. */
export const grantCreditsUpdate = ACCOUNT_UPDATES.grantCredits.definition;
/** `ACCOUNT_QUERIES.summary.definition`. */
export const summaryQuery = ACCOUNT_QUERIES.summary.definition;
