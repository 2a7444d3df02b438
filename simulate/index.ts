/**
 * What-if for the pricing team: replay the ledger through the credit core with the rules in
 * force and with a draft, and forecast an account's cycle. See docs/rules.md.
 */
export { advanceTo, nextCycleOf, type CycleOpening, type RulesForCycle } from './clock';
export { FIGURE_FIELDS, countEntry, emptyFigures, type FigureField, type Figures } from './figures';
export { forecastAccount, type Forecast } from './forecast';
export { describePeriod, lastCompleteCycles, periodContains, type Period } from './period';
export { replayAccount, type AccountOutcome, type ReplayOptions, type RunFigures, type SimulationWarning } from './replay';
export { SimulationError, manualGrantExpiries, simulate, type AccountChange, type SimulationErrorCode, type SimulationReport, type SimulationRequest } from './simulate';
