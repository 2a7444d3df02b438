/** Workflow entry point for the worker's bundle: every workflow type this engine runs. */
export { accountCredits } from './account-credits';
export { ledgerSpill } from './ledger-spill';
