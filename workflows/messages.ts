/**
 * The account workflow's messages, defined once. The workflow registers handlers for these
 * definitions and the client library, CLI and tests call through the same objects, so a
 * renamed message cannot drift between sides. Services in other languages call them by the
 * names below with the JSON shapes of `domain/wire-contract.ts`.
 *
 * Everything a caller needs an answer to is an update, not a signal: a product service must
 * know at once whether usage was admitted, and a validator can refuse malformed input before
 * it is written to history. The only query is the read-only `summary`.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type {
  AccountSummary,
  ChangeCreditTierInput,
  ChangeCreditTierResult,
  ChangePlanInput,
  ChangePlanResult,
  EndCallInput,
  EndCallResult,
  GrantCreditsInput,
  GrantCreditsResult,
  RecordUsageInput,
  RecordUsageResult,
  SetFeatureEnabledInput,
  SetFeatureEnabledResult,
  SetUsersInput,
  SetUsersResult,
  SetVoiceAgentActiveInput,
  SetVoiceAgentActiveResult,
  StartCallInput,
  StartCallResult,
} from '../domain/wire-contract';

/** Workflow type name. */
export const WORKFLOW_TYPE = 'accountCredits';
/** Default task queue of the account workflows. */
export const DEFAULT_TASK_QUEUE = 'ai-credits';

/** Workflow id of an account's credit workflow. */
export function accountWorkflowId(accountId: string): string {
  return `ai-credits:${accountId}`;
}

/** Report usage of a credit-based, free or telephony-billed feature; answers accepted or not. */
export const recordUsageUpdate = defineUpdate<RecordUsageResult, [RecordUsageInput]>('recordUsage');
/** Ask to place a Voice Agent call. */
export const startCallUpdate = defineUpdate<StartCallResult, [StartCallInput]>('startCall');
/** Report a Voice Agent call's end; charged in full even past zero. */
export const endCallUpdate = defineUpdate<EndCallResult, [EndCallInput]>('endCall');
/** Change the number of users. */
export const setUsersUpdate = defineUpdate<SetUsersResult, [SetUsersInput]>('setUsers');
/** Change the CRM plan (or convert a trial). */
export const changePlanUpdate = defineUpdate<ChangePlanResult, [ChangePlanInput]>('changePlan');
/** Buy, upgrade, downgrade or cancel the AI Credit Subscription tier. */
export const changeCreditTierUpdate = defineUpdate<ChangeCreditTierResult, [ChangeCreditTierInput]>(
  'changeCreditTier',
);
/** Switch a toggleable feature on or off. */
export const setFeatureEnabledUpdate = defineUpdate<SetFeatureEnabledResult, [SetFeatureEnabledInput]>(
  'setFeatureEnabled',
);
/** Activate or deactivate a Voice Agent. */
export const setVoiceAgentActiveUpdate = defineUpdate<SetVoiceAgentActiveResult, [SetVoiceAgentActiveInput]>(
  'setVoiceAgentActive',
);
/** Grant credits by hand (billing ops). */
export const grantCreditsUpdate = defineUpdate<GrantCreditsResult, [GrantCreditsInput]>('grantCredits');
/** Everything an admin sees of the account's credits. */
export const summaryQuery = defineQuery<AccountSummary>('summary');
