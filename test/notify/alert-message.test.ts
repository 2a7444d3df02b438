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

  it("names the features that pause from the rules it is given, and none it is not", () => {
    const exhausted = warningAlert('acme', { state: 'exhausted', available: 0, used: 15_000, projectedRunOutAt: null });
    expect(renderAlertMessage(exhausted, ['Chloe Voice Agents', 'Enrichment']).text).toContain(
      'Credit-based AI features (Chloe Voice Agents and Enrichment) are paused until credits are added',
    );
    expect(renderAlertMessage(exhausted).text).toContain('Credit-based AI features are paused until credits are added');
    expect(renderAlertMessage(warningAlert('acme'), ['Enrichment']).text).toContain('When credits run out, credit-based AI features (Enrichment) pause');
  });

  it('shows no negative balance: a call that ran past zero is said as such', () => {
    const message = renderAlertMessage(warningAlert('acme', { state: 'exhausted', available: -70, used: 570, granted: 500, projectedRunOutAt: null }));
    expect(message.text).toContain('Available: 0 credits (a call in progress ran 70 credits past zero). Used this billing cycle: 570 of 500 granted (100%).');
    expect(message.text).not.toContain('-70');
  });

  it('promises a trial no reset: its credits are granted once', () => {
    const trial = { endsAt: '2026-06-17T00:00:00.000Z' };
    const exhausted = renderAlertMessage(warningAlert('acme', { state: 'exhausted', available: 0, used: 1_000, granted: 1_000, projectedRunOutAt: null, trial }));
    expect(exhausted.text).toBe(
      [
        'Your trial account acme has used all of its AI credits.',
        'Available: 0 credits. Used so far: 1,000 of 1,000 granted (100%).',
        'Credit-based AI features are paused until credits are added; calls already in progress complete. Free AI features keep working.',
        'Trial credits do not reset. To keep using them, upgrade to a paid plan or add an AI Credit Subscription Plan in Settings > AI Credits.',
      ].join('\n\n') + '\n',
    );
    const warning = renderAlertMessage(warningAlert('acme', { used: 800, granted: 1_000, available: 200, trial }));
    expect(warning.text).toContain('Your trial account acme has used 80% of its AI credits. At the current pace they will run out around 2026-06-28 06:00 UTC. Your trial credits expire on 2026-06-17 00:00 UTC.');
    expect(warning.text).toContain('To avoid an interruption, upgrade to a paid plan');
    for (const m of [exhausted, warning]) expect(m.text).not.toMatch(/reset on/);
    const untilConversion = renderAlertMessage(warningAlert('acme', { state: 'exhausted', available: 0, used: 1_000, granted: 1_000, projectedRunOutAt: null, trial: { endsAt: null } }));
    expect(untilConversion.text).toContain('Trial credits do not reset.');
    expect(untilConversion.text).not.toContain('expire');
  });

  it('says credits ran out, not that they were used up, when a reset or an expiry took them', () => {
    const trial = { endsAt: null };
    // A reset after the trial's promotion expired: nothing granted or used in the new cycle.
    const byReset = renderAlertMessage(warningAlert('acme', { state: 'exhausted', available: 0, used: 0, granted: 0, projectedRunOutAt: null, trial }));
    expect(byReset.text.split('\n\n').slice(0, 2)).toEqual(['Your trial account acme has no AI credits left.', 'Available: 0 credits.']);
    // Mid-cycle: half used, the rest expired with its grant.
    const byExpiry = renderAlertMessage(warningAlert('acme', { state: 'exhausted', available: 0, used: 500, granted: 1_000, projectedRunOutAt: null }));
    expect(byExpiry.text.split('\n\n').slice(0, 2)).toEqual([
      'Your account acme has no AI credits left for this billing cycle.',
      'Available: 0 credits. Used this billing cycle: 500 of 1,000 granted (50%).',
    ]);
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
