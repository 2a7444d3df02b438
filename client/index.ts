/**
 * The credits client library for product services: a typed `CreditsClient` over the account
 * workflows' messages, a connection helper reading the standard Temporal environment, and the
 * errors it throws. The JSON wire contract it speaks is documented in docs/wire-contract.md
 * for services written in other languages.
 */
export { CreditsClient } from './credits-client';
export type { AccountUpdateMethods, ClosedRun, CreditsClientOptions, RecordUsageOptions, StartAccountOptions, StartedAccount, SummaryOptions, TargetUpdateOptions } from './credits-client';
export { DEFAULT_COALESCE } from './usage-coalescer';
export type { CoalesceOptions } from './usage-coalescer';
export { connectCreditsClient } from './connect';
export { DEFAULT_TEMPORAL_ADDRESS } from '../infra/settings';
export type { ConnectOptions, CreditsConnection } from './connect';
export {
  AccountAlreadyRunningError,
  AccountClosedError,
  AccountNotFoundError,
  CREDITS_ERROR_CODES,
  CreditsError,
  CreditsInputError,
  CreditsUnavailableError,
  isAccountAlreadyRunningError,
  isAccountClosedError,
  isAccountNotFoundError,
  isCreditsError,
  isCreditsInputError,
  isCreditsUnavailableError,
  isUsageOverloadedError,
  UsageOverloadedError,
} from './errors';
export type { CreditsErrorCode } from './errors';
export { DEFAULT_RETRY_POLICY, isTransientTemporalError } from './retry';
export type { RetryPolicy } from './retry';
export { isAccountOpening } from './workflow-failures';
/** The engine's Prometheus registry, for a service that exposes the client's series (docs/operations.md). */
export { ENGINE_REGISTRY, engineMetricsText } from '../infra/metrics';
export { DEFAULT_SIGNATURE_TOLERANCE_SEC, WEBHOOK_SIGNATURE_HEADER, signWebhookPayload, verifyWebhookSignature } from '../notify/webhook-signature';
export type { SignatureCheck, SignatureProblem } from '../notify/webhook-signature';
export { WEBHOOK_EVENT_TYPES } from '../domain/webhook-events';
export type { WebhookEvent, WebhookEventType } from '../domain/webhook-events';
/** The wire contract's types, re-exported so a service needs one import. */
export * from '../domain/wire-contract';
export { INPUT_PROBLEM_CODES, isInputProblemCode } from '../domain/input-problems';
export type { InputProblemCode } from '../domain/input-problems';
export { ACCOUNT_OPENING_MESSAGE, isWorkflowFailureType, WORKFLOW_FAILURE_TYPES } from '../domain/failure-types';
export type { WorkflowFailureType } from '../domain/failure-types';
export { accountWorkflowId, ACCOUNT_QUERIES, ACCOUNT_UPDATES, DEFAULT_TASK_QUEUE, WORKFLOW_TYPE } from '../workflows/messages';
export type { AccountUpdateName, MessageFailureType, QueryMessage, UpdateInput, UpdateMessage, UpdateResult } from '../workflows/messages';
export {
  DEFAULT_PORTAL_TTL_SECONDS,
  MAX_PORTAL_TTL_SECONDS,
  mintPortalLink,
  portalSecretFromEnv,
  PortalTokenError,
  verifyPortalToken,
} from './portal-link';
export type { MintPortalLinkOptions, PortalClaims, PortalLink, PortalTokenFailure } from './portal-link';
