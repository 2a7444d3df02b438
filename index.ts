/**
 * The engine's public API, hand-picked: what another TypeScript service or tool imports.
 *
 * - Product services: `CreditsClient` (and `connectCreditsClient`) with its errors and guards.
 * - Anything speaking to an account directly: the message table (each update's definition,
 *   input check and failure types), the failure types and the wire contract.
 * - The pricing team's tooling: the rules compiler and loader.
 * - Operators embedding a worker: `createCreditsWorker` and its settings.
 */
export {
  CreditsClient,
  connectCreditsClient,
  CreditsError,
  CreditsInputError,
  AccountNotFoundError,
  AccountAlreadyRunningError,
  AccountClosedError,
  CreditsUnavailableError,
  UsageOverloadedError,
  CREDITS_ERROR_CODES,
  isCreditsError,
  isCreditsInputError,
  isAccountNotFoundError,
  isAccountAlreadyRunningError,
  isAccountClosedError,
  isCreditsUnavailableError,
  isUsageOverloadedError,
  isAccountOpening,
  DEFAULT_COALESCE,
  DEFAULT_RETRY_POLICY,
} from './client';
export type { CreditsClientOptions, CreditsErrorCode, SummaryOptions, TargetUpdateOptions } from './client';
export * from './domain/wire-contract';
export { INPUT_PROBLEM_CODES, isInputProblemCode, type InputProblemCode } from './domain/input-problems';
export { WORKFLOW_FAILURE_TYPES, ACCOUNT_OPENING_MESSAGE, isWorkflowFailureType, type WorkflowFailureType } from './domain/failure-types';
export {
  ACCOUNT_UPDATES,
  ACCOUNT_QUERIES,
  WORKFLOW_TYPE,
  DEFAULT_TASK_QUEUE,
  accountWorkflowId,
  recordUsageUpdate,
  startCallUpdate,
  endCallUpdate,
  setUsersUpdate,
  changePlanUpdate,
  changeCreditTierUpdate,
  setFeatureEnabledUpdate,
  setVoiceAgentActiveUpdate,
  grantCreditsUpdate,
  summaryQuery,
  type AccountUpdateName,
  type MessageFailureType,
  type UpdateMessage,
  type QueryMessage,
} from './workflows/messages';
export { compileRules, loadRuleSet, defaultRulesPath, formatDiagnostic, isRulesError, RulesError } from './ruleset';
export type { Rules, RuleSet, Diagnostic, DiagnosticCode } from './ruleset';
export { createCreditsWorker, workerSettingsFromEnv, type WorkerSettings } from './worker';
