/**
 * `credits rules explain`: one rules version as the pricing team and support read it, in the
 * help page's own terms and tables, so a reviewer can hold the two side by side.
 */
import { formatCount, formatCreditRate, formatPrice, perUnits, plural } from '../display';
import { trialFeatures, trialLength, type FeatureRule, type Rules } from '../ruleset';
import { DEFAULT_OUTPUT_WIDTH, fitTable, wrapLine } from './fit-table';
import type { Column } from './text-table';

function plansFor(rules: Rules, feature: FeatureRule): string {
  if (feature.minPlan === null) return 'All';
  const plan = rules.plans.find((p) => p.id === feature.minPlan);
  return `${plan?.name ?? feature.minPlan} and above`;
}

function costOf(feature: FeatureRule): string {
  if (feature.cost === null) return feature.billing === 'telephony' ? 'telephony rates' : '-';
  const { credits, per, unit, rounding } = feature.cost;
  return `${formatCount(credits)} per ${perUnits(per, unit)}, rounded ${rounding}`;
}

function featureNote(feature: FeatureRule): string {
  const extras = [
    feature.perCall ? 'authorised per call' : '',
    feature.telephonyMinutes ? 'minutes also billed as telephony' : '',
  ].filter((extra) => extra !== '');
  return extras.length === 0 ? feature.note : `${feature.note} (${extras.join('; ')})`;
}

/**
 * The explanation of one version, as lines of at most `width` characters (wide tables wrap
 * their text cells, prose wraps at spaces); `context` says why this version was chosen.
 */
export function explainRules(rules: Rules, context: string, width: number = DEFAULT_OUTPUT_WIDTH): string[] {
  const renderTable = (columns: readonly Column[], rows: readonly (readonly string[])[]) => fitTable(columns, rows, width);
  const consumption = Object.entries(rules.consumptionPriority)
    .sort(([, a], [, b]) => a - b)
    .map(([source]) => source);
  const { policies, alerts } = rules;
  const lines = [
    `Rules version ${rules.version}`,
    `In force from ${rules.effectiveFrom} (${context})`,
    `Source: ${rules.source}`,
    `Currency: ${rules.currency}`,
    '',
    'Included credits by plan (per cycle, pooled per account)',
    ...renderTable(
      [
        { heading: 'Plan' },
        { heading: 'Id' },
        { heading: 'Credits per user', align: 'right' },
        { heading: 'Cap', align: 'right' },
        { heading: 'Max credits', align: 'right' },
      ],
      rules.plans.map((plan) => [
        [plan.name, ...plan.aliases].join(' / '),
        plan.id,
        formatCount(plan.creditsPerUser),
        plural(plan.userCap, 'user'),
        formatCount(plan.maxCredits),
      ]),
    ),
    '',
    'Trial',
    `  ${formatCount(rules.trial.credits)} credits, fixed (not per user); unused trial credits ${
      rules.trial.rolloverOnConversion ? 'roll over' : 'do not roll over'
    } when the account converts to a paid plan`,
    `  granted once per trial; they last ${trialLength(rules) === 'until conversion' ? 'until the trial converts' : `${trialLength(rules)} from the trial's start`}`,
    `  features beyond the trialled plan's: ${trialFeatures(rules)}`,
    '',
    'AI Credit Subscription tiers',
    ...renderTable(
      [
        { heading: 'Tier' },
        { heading: 'Id' },
        { heading: 'Monthly price', align: 'right' },
        { heading: 'Credits included', align: 'right' },
        { heading: '$/credit', align: 'right' },
      ],
      rules.tiers.map((tier) => [
        tier.name,
        tier.id,
        formatPrice(tier.priceCents, rules.currency),
        formatCount(tier.credits),
        formatCreditRate(tier.priceCents, tier.credits, rules.currency),
      ]),
    ),
    '',
    'Features',
    ...renderTable(
      [{ heading: 'Feature' }, { heading: 'Id' }, { heading: 'Billing' }, { heading: 'Plans' }, { heading: 'Cost in credits' }, { heading: 'Toggleable' }, { heading: 'Notes' }],
      rules.features.map((feature) => [
        feature.name,
        feature.id,
        feature.billing,
        plansFor(rules, feature),
        costOf(feature),
        feature.toggleable ? 'yes' : 'no',
        featureNote(feature),
      ]),
    ),
    '',
    'Promotions',
    ...(rules.promotions.length === 0
      ? ['  none']
      : renderTable(
          [
            { heading: 'Promotion' },
            { heading: 'Id' },
            { heading: 'Credits', align: 'right' },
            { heading: 'For accounts tagged' },
            { heading: 'Granted at first cycle on or after' },
            { heading: 'Usable over' },
          ],
          rules.promotions.map((p) => [
            p.name,
            p.id,
            formatCount(p.credits),
            p.eligibleTag,
            p.startsOn,
            plural(p.validForCycles, 'cycle'),
          ]),
        )),
    '',
    'Policies',
    `  Tier upgrade: ${policies.tierUpgrade.timing}, charged the full price of the new tier (no proration), full new credit allocation at once`,
    `  Tier downgrade: at the start of the next billing cycle; the current allocation continues until then`,
    `  Plan downgrade: at the start of the next billing cycle`,
    `  Reset: ${policies.reset.period}, aligned with the CRM subscription; unused credits ${policies.reset.rollover ? 'roll over' : 'do not roll over'}`,
    `  Pooling: credits are shared by the whole ${policies.pooling}, no per-user limits`,
    `  When grants expire together, credits are spent first from: ${consumption.join(', ')}`,
    '',
    'Low-credit alerts',
    `  Warning: ${alerts.warningUsedPercent}% or more of the cycle's credits used${
      alerts.warningRequiresProjectedRunOut ? ' and on pace to run out before the billing cycle resets' : ''
    }`,
    `  Exhausted: balance at or below ${formatCount(alerts.exhaustedAtBalance)} credits; credit-based features pause, free features keep working`,
  ];
  return lines.flatMap((line) => wrapLine(line, width));
}
