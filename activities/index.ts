/** The account workflow's activities: their interface and the implementation the worker registers. */
export type { ChargeReceipt, CreditActivities } from './credit-activities';
export { createActivities, toActivityFailure } from './create-activities';
export type { ActivityDeps, ActivityLog } from './create-activities';
