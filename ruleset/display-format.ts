/**
 * How rules numbers are shown to people: credit counts with thousands separators, prices
 * from integer cents, and the help page's $/credit column. All integer arithmetic: money
 * never passes through a float, so what is printed is exactly what the ledger holds.
 */

/** `1000000` as `1,000,000`; independent of the machine's locale. */
export function formatCount(value: number): string {
  const sign = value < 0 ? '-' : '';
  return sign + String(Math.abs(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Integer cents as a decimal amount with two places: `1000050` as `10,000.50`. */
export function formatAmount(cents: number): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${formatCount(Math.floor(abs / 100))}.${String(abs % 100).padStart(2, '0')}`;
}

/**
 * A price as the help page writes it: `$1,000` for whole dollars, `$12.50` otherwise.
 * Other currencies are written with their code (`1,000 EUR`).
 */
export function formatPrice(cents: number, currency: string): string {
  const amount = cents % 100 === 0 ? formatCount(cents / 100) : formatAmount(cents);
  return currency === 'USD' ? `$${amount}` : `${amount} ${currency}`;
}

/**
 * The per-credit rate in thousandths of the currency unit (mills), rounded half up: the help
 * page's $/credit column is the price per credit rounded to three decimals of a dollar
 * (Tier 5: $200 / 16,000 = $0.0125, published as $0.0130).
 */
export function creditRateMills(priceCents: number, credits: number): number {
  if (!Number.isSafeInteger(priceCents) || !Number.isSafeInteger(credits) || credits <= 0) {
    throw new RangeError(`credit rate needs whole cents and a positive credit count, got ${priceCents} / ${credits}`);
  }
  // price in mills is cents * 10; add half the divisor before flooring to round half up.
  return Math.floor((priceCents * 20 + credits) / (2 * credits));
}

/**
 * The $/credit column exactly as the help page prints it: three rounded decimals followed by
 * the page's trailing zero (`$0.0170`).
 */
export function formatCreditRate(priceCents: number, credits: number, currency: string): string {
  const mills = creditRateMills(priceCents, credits);
  const amount = `${Math.floor(mills / 1000)}.${String(mills % 1000).padStart(3, '0')}0`;
  return currency === 'USD' ? `$${amount}` : `${amount} ${currency}`;
}
