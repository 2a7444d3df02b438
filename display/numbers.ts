/**
 * How numbers are written for people, the same on every surface (CLI, admin page, e-mails,
 * rules explain and diff): counts with thousands separators, never locale-dependent, so a
 * screenshot or a diffed CLI output reads the same on every machine; money from integer cents
 * without passing through a float, so what is printed is exactly what the ledger holds.
 */

/** `1000000` as `1,000,000`; independent of the machine's locale. */
export function formatCount(value: number): string {
  const sign = value < 0 ? '-' : '';
  return sign + String(Math.abs(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/**
 * A usage quantity (up to six decimals) as `1,234.5`: separators on the whole part only, no
 * float noise (`0.1 + 0.2` is `0.3`); a whole quantity is written as {@link formatCount} does.
 */
export function formatQuantity(quantity: number): string {
  const [whole = '0', fraction] = String(Number(quantity.toFixed(6))).split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  const grouped = sign + formatCount(Number(whole.replace('-', '')));
  return fraction === undefined ? grouped : `${grouped}.${fraction}`;
}

/** Integer cents as a decimal amount with two places: `1000050` as `10,000.50`. */
export function formatAmount(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${formatCount(Math.floor(abs / 100))}.${String(abs % 100).padStart(2, '0')}`;
}

/** `amount` in `currency`: `$12.50` for US dollars, `12.50 EUR` for any other currency. */
function withCurrency(amount: string, currency: string): string {
  return currency === 'USD' ? `$${amount}` : `${amount} ${currency}`;
}

/**
 * An amount charged or owed, always with cents: `12345` as `$123.45`, `-500` as `-$5.00`
 * (`123.45 EUR` in another currency).
 */
export function formatMoney(cents: number, currency = 'USD'): string {
  return (cents < 0 ? '-' : '') + withCurrency(formatAmount(Math.abs(cents)), currency);
}

/**
 * A price as the help page writes it: `$1,000` for whole dollars, `$12.50` otherwise.
 * Other currencies are written with their code (`1,000 EUR`).
 */
export function formatPrice(cents: number, currency: string): string {
  return withCurrency(cents % 100 === 0 ? formatCount(cents / 100) : formatAmount(cents), currency);
}

/**
 * The per-credit rate in units of 10^-`decimals` of the currency (4: ten-thousandths of a
 * dollar), rounded half up, computed in whole numbers so no float rounding creeps in. The help
 * page's $/credit column is this rate to 3 decimals followed by a 0 (Tier 5: $200 / 16,000 =
 * $0.0125, published as $0.0130), which is not the rate: the engine never shows that rounding.
 */
export function creditRateUnits(priceCents: number, credits: number, decimals: number): number {
  if (!Number.isSafeInteger(priceCents) || !Number.isSafeInteger(credits) || credits <= 0 || !Number.isInteger(decimals) || decimals < 2 || decimals > 6) {
    throw new RangeError(`credit rate needs whole cents, a positive credit count and 2 to 6 decimals, got ${priceCents} / ${credits} to ${decimals}`);
  }
  // price in the target unit is cents * 10^(decimals - 2); add half the divisor before flooring to round half up.
  return Math.floor((priceCents * 10 ** (decimals - 2) * 2 + credits) / (2 * credits));
}

const RATE_DECIMALS = 4;

/**
 * The $/credit column: the real rate rounded half up to four decimals (`$0.0167` for $19.99 /
 * 1,200 credits, `$0.0125` for $200 / 16,000), enough to tell every tier of the shipped ladder
 * apart; a rate under half a ten-thousandth reads `<$0.0001`, not a free `$0.0000`.
 */
export function formatCreditRate(priceCents: number, credits: number, currency: string): string {
  const units = creditRateUnits(priceCents, credits, RATE_DECIMALS);
  const scale = 10 ** RATE_DECIMALS;
  if (units === 0 && priceCents > 0) return `<${withCurrency(`0.${'1'.padStart(RATE_DECIMALS, '0')}`, currency)}`;
  return withCurrency(`${formatCount(Math.floor(units / scale))}.${String(units % scale).padStart(RATE_DECIMALS, '0')}`, currency);
}

/**
 * `part` of `whole` as a whole percentage, floored and kept within 0-100. Nothing granted
 * reads as 100% used once anything was used, and 0% while nothing was.
 */
export function percentOf(part: number, whole: number): number {
  if (whole <= 0) return part > 0 ? 100 : 0;
  // Multiply before dividing: 29 / 100 * 100 is 28.999... in floating point.
  return Math.min(100, Math.max(0, Math.floor((part * 100) / whole)));
}
