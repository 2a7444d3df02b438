/**
 * `credits rules ...`: the pricing team's tools for the rules files. `validate` checks like a
 * linter, `explain` prints a version as the help page's tables, `diff` says what changes for
 * customers between two versions.
 */
import { isAbsolute, relative } from 'node:path';
import type { Command } from 'commander';
import { plural } from '../display';
import { defaultRulesPath, describeRulesChanges, droppedPlansAndTiers, loadRuleSet, loadRuleSets, parseInstantOrDate, rulesForCycleStart } from '../ruleset';
import type { RuleSet, Rules } from '../ruleset';
import { CliFailure, EXIT_CODES, writeLines } from './io';
import type { CliIo } from './io';
import { explainRules } from './rules-explain';
import { DEFAULT_OUTPUT_WIDTH, MIN_OUTPUT_WIDTH, terminalWidth } from './fit-table';
import { wholeNumber } from './option-parsers';

/**
 * The shipped rules directory, shown relative to the working directory when inside it, so
 * diagnostics read `rules/2026-06-03.yaml:41:7` as the help text promises.
 */
function shippedRulesPath(): string {
  const path = defaultRulesPath();
  const shown = relative(process.cwd(), path);
  return shown === '' || shown.startsWith('..') || isAbsolute(shown) ? path : shown;
}

/** The version to explain: in force at `at`, or now (the earliest before any, as the engine prices such cycles). */
function chooseVersion(set: RuleSet, at: string | undefined): { rules: Rules; context: string } {
  const when = at === undefined ? new Date() : parseInstantOrDate(at);
  if (when === undefined) {
    throw new CliFailure(`--at "${at}" is not a date or instant; write 2026-06-03 or 2026-06-03T00:00:00Z`, EXIT_CODES.usage);
  }
  // The engine's own choice for a cycle starting then: the earliest version before any.
  const rules = rulesForCycleStart(set, when.toISOString());
  const before = when.getTime() < Date.parse(rules.effectiveFrom);
  if (at === undefined) return { rules, context: before ? 'not yet in force: the earliest version' : 'the version in force now' };
  const context = before
    ? `no version is in force yet at ${when.toISOString()}: the earliest version, which prices accounts whose cycle began before it`
    : `the version in force at ${when.toISOString()}`;
  return { rules, context };
}

/**
 * A warning for each plan or tier a version drops that the version before it had. Valid, but
 * an account on it cannot take the later version: at every reset it keeps the rules it has
 * (the workflow logs a warning), so none of the later versions' prices reach it, cycle after
 * cycle, until it moves to a plan and tier the rules still have.
 */
export function removalWarnings(versions: readonly Rules[]): string[] {
  return versions.slice(1).flatMap((after, i) => {
    const before = versions[i] as Rules;
    const { plans, tiers } = droppedPlansAndTiers(before, after);
    const warning = (kind: 'plan' | 'tier') => (id: string) =>
      `warning: ${after.source}: drops ${kind} "${id}" of ${before.source}: accounts on it (trials converting included) keep version ${before.version} at every reset, ` +
      `and get none of the later versions' prices or promotions; keep the ${kind} or move those accounts first`;
    return [...plans.map(warning('plan')), ...tiers.map(warning('tier'))];
  });
}

type Promotion = Rules['promotions'][number];

/** A promotion of an earlier version that a promotion new under another id looks like. */
interface Renamed {
  readonly from: Promotion;
  /** The latest earlier version holding it: where the pricing team last saw it. */
  readonly version: Rules;
  readonly same: string;
}

/**
 * The promotion of an `earlier` version (oldest first) that `promotion` of `after` looks like
 * under another id, and why: absent from `after`, with the same name, or the same start and tag.
 * Every earlier version counts, not only the one just before: a promotion dropped for a version
 * or more and brought back under a new id is granted again to the accounts that had it, as
 * accounts remember promotions by id for good.
 */
function renamedFrom(earlier: readonly Rules[], after: Rules, promotion: Promotion): Renamed | undefined {
  const kept = new Set(after.promotions.map((p) => p.id));
  for (const version of [...earlier].reverse()) {
    for (const from of version.promotions) {
      if (kept.has(from.id)) continue;
      if (from.name === promotion.name) return { from, version, same: `the same name, "${from.name}"` };
      if (from.startsOn === promotion.startsOn && from.eligibleTag === promotion.eligibleTag) {
        return { from, version, same: `the same start (${from.startsOn}) and tag ("${from.eligibleTag}")` };
      }
    }
  }
  return undefined;
}

/**
 * A warning for each promotion a version brings under an id no earlier version used that looks
 * like one an earlier version had and this one lacks (the same name, or the same start and tag),
 * however many versions ago: accounts remember the promotions they were granted by id, so every
 * account already granted the old one is granted the new one too, its credits a second time.
 */
export function promotionRenameWarnings(versions: readonly Rules[]): string[] {
  return versions.flatMap((after, i) => {
    const earlier = versions.slice(0, i);
    const known = new Set(earlier.flatMap((version) => version.promotions.map((p) => p.id)));
    return after.promotions.flatMap((p) => {
      const renamed = known.has(p.id) ? undefined : renamedFrom(earlier, after, p);
      if (!renamed) return [];
      return [
        `warning: ${after.source}: promotion "${p.id}" replaces "${renamed.from.id}" of ${renamed.version.source} (${renamed.same}): promotions are granted once per id, ` +
          `so accounts already granted "${renamed.from.id}" are granted "${p.id}" as well (${p.credits} credits again); keep the id "${renamed.from.id}" to change that promotion`,
      ];
    });
  });
}

/**
 * Warnings for promotions a version brings (absent from the version before it) that start before
 * the version takes effect. A promotion is granted at an account's cycle start, from the version
 * pricing that cycle, while the cycle is one of the promotion's `validForCycles` counted from the
 * account's first cycle starting on or after `startsOn`, and it expires with the last of them
 * (domain/cycle-rollover.ts `grantOpenPromotions`). So an account whose first such cycle starts
 * in between, under the version before, gets it only at its first cycle start under this
 * version, usable for fewer cycles, and not at all if its cycles are over by then (always so
 * with a single cycle). The first version is not warned about: cycles starting before it are
 * priced with it. A promotion renamed from an earlier version ({@link promotionRenameWarnings})
 * is not one of these: those accounts had it under its old id.
 */
export function promotionDateWarnings(versions: readonly Rules[]): string[] {
  return versions.flatMap((version, i) => {
    const before = versions[i - 1];
    if (before === undefined) return [];
    const known = new Set(before.promotions.map((p) => p.id));
    const effective = Date.parse(version.effectiveFrom);
    return version.promotions
      .filter((p) => !known.has(p.id) && !renamedFrom(versions.slice(0, i), version, p) && Date.parse(`${p.startsOn}T00:00:00Z`) < effective)
      .map((p) => {
        const missed =
          p.validForCycles === 1
            ? 'never get it'
            : `get it late, at their first cycle starting on or after then, usable only for what is left of its ${p.validForCycles} cycles (and never if those are over by then)`;
        return (
          `warning: ${version.source}: promotion "${p.id}" starts on ${p.startsOn}, before this version takes effect (${version.effectiveFrom}): ` +
          `accounts whose first cycle on or after ${p.startsOn} starts before then ${missed}; start it on or after the version's date`
        );
      });
  });
}

/** Registers `credits rules validate|explain|diff` on the program. */
export function registerRulesCommands(program: Command, io: CliIo): void {
  const rules = program
    .command('rules')
    .description('check, explain and compare the AI-credits pricing rules (rules/*.yaml)');

  rules
    .command('validate')
    .description('check a rules file or directory; lists every problem as path:line:col code: message')
    .argument('[path]', 'rules file or directory (default: the shipped rules/)')
    .action((path: string | undefined) => {
      const set = loadRuleSet(path ?? shippedRulesPath());
      const warnings = [...removalWarnings(set.versions), ...promotionRenameWarnings(set.versions), ...promotionDateWarnings(set.versions)];
      writeLines(io.stdout, [
        ...set.versions.map((v) => `valid: ${v.source} (version ${v.version}, in force from ${v.effectiveFrom})`),
        ...warnings,
        `${plural(set.versions.length, 'rules version')} checked, no problems${warnings.length > 0 ? `, ${plural(warnings.length, 'warning')}` : ''}`,
      ]);
    });

  rules
    .command('explain')
    .description('print the rules version in force: plans, trial, tiers with $/credit, features, promotions, policies')
    .argument('[path]', 'rules file or directory (default: the shipped rules/)')
    .option('--at <date>', 'explain the version in force at this date or instant (default: now)')
    .option('--json', 'print the compiled rules as JSON instead of tables')
    .option('--width <columns>', `fit the output to this many columns (default: the terminal's width, ${DEFAULT_OUTPUT_WIDTH} when not a terminal)`, wholeNumber(MIN_OUTPUT_WIDTH))
    .action((path: string | undefined, options: { at?: string; json?: boolean; width?: number }) => {
      const set = loadRuleSet(path ?? shippedRulesPath());
      const { rules: chosen, context } = chooseVersion(set, options.at);
      if (options.json === true) io.stdout(`${JSON.stringify(chosen, null, 2)}\n`);
      else writeLines(io.stdout, explainRules(chosen, context, options.width ?? terminalWidth()));
    });

  rules
    .command('diff')
    .description('say what changes for customers from OLD to NEW (for a directory: its latest version)')
    .argument('<old>', 'rules file or directory before the change')
    .argument('<new>', 'rules file or directory after the change')
    .action((oldPath: string, newPath: string) => {
      // Both read before either is reported: every problem of the two at once.
      const [before, after] = loadRuleSets([oldPath, newPath]).map((set) => set.latest) as [Rules, Rules];
      const changes = describeRulesChanges(before, after);
      const effective =
        before.effectiveFrom === after.effectiveFrom ? [] : [`  in force from ${before.effectiveFrom} -> ${after.effectiveFrom}`];
      writeLines(io.stdout, [
        `From ${before.version} (${before.source}) to ${after.version} (${after.source}):`,
        ...effective,
        ...(changes.length === 0 ? ['  nothing a customer would notice changes'] : changes.map((change) => `  - ${change}`)),
      ]);
    });
}
