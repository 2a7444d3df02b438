import { describe, expect, it } from 'vitest';
import { formatUtc } from '../../display';
import { renderAlertMessage, usedPercent } from '../../notify/alert-message';
import { warningAlert } from '../ledger/entry-fixtures';

describe('alert message', () => {
  it('warns with the numbers, the projected run-out and the reset date', () => {
    const message = renderAlertMessage(warningAlert('acme'));
    expect(message.subject).toBe('AI credits running low: 80% used (account acme)');
    expect(message.text).toContain('has used 80% of its AI credits');
    expect(message.text).toContain('run out around 2026-06-28 06:00 UTC, before your credits reset on 2026-07-03 00:00 UTC');
    expect(message.text).toContain('Available: 3,000 credits. Used this billing cycle: 12,000 of 15,000 granted (80%).');
    expect(message.text).toContain('Free AI features keep working.');
    expect(message.html).toContain('<p>Available: 3,000 credits.');
  });

  it('says credit-based features are paused when exhausted, and free ones keep working', () => {
    const message = renderAlertMessage(
      warningAlert('acme', { state: 'exhausted', available: 0, used: 15_000, projectedRunOutAt: null }),
    );
    expect(message.subject).toBe('AI credits exhausted: credit-based features paused (account acme)');
    expect(message.text).toContain('are paused until credits are added');
    expect(message.text).toContain('Free AI features keep working.');
    expect(message.text).toContain('Credits reset on 2026-07-03 00:00 UTC.');
    expect(message.text).toContain('Available: 0 credits. Used this billing cycle: 15,000 of 15,000 granted (100%).');
  });

  it('escapes HTML from account ids', () => {
    const message = renderAlertMessage(warningAlert('<b>&"x"'));
    expect(message.html).toContain('&#60;b&#62;&#38;&#34;x&#34;');
    expect(message.html).not.toContain('<b>&');
  });

  it('formats instants and percentages plainly', () => {
    expect(formatUtc('2026-06-03T02:30:00+02:00')).toBe('2026-06-03 00:30 UTC');
    expect(usedPercent({ used: 5, granted: 0 })).toBe(100);
    expect(usedPercent({ used: 7_499, granted: 10_000 })).toBe(74);
  });
});
