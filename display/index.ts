/**
 * How the engine writes numbers, money, counts and times for people: one set of rules for the
 * CLI, the admin page, the alert e-mails and the rules tools, so they never disagree.
 */
export { creditRateUnits, formatAmount, formatCount, formatCreditRate, formatMoney, formatPrice, formatQuantity, percentOf } from './numbers';
export { formatUtc, formatUtcDate, formatUtcTime } from './times';
export { expiredAgain, joinNames, perUnits, plural } from './words';
export { MAX_CYCLE_NUMBER, cycleIndexOf, cycleNumber } from './cycle-number';
export { UNPRINTABLE_PATTERN, hasControlCharacter, isWellFormedText, showableText } from './unprintable';
