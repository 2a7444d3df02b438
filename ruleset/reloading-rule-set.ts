/**
 * The worker's rules, reloaded when the pricing team's files change: a call compares the rules
 * path's modification times and sizes (a few `stat`s, no reading) with the last load, so a new
 * dated version dropped into `rules/` reaches running workers without a restart. It does so at
 * most once per {@link RULES_RECHECK_MS}: the usage API asks for the rules on every request,
 * and a directory listing and a `stat` per file, synchronous on the event loop, were most of a
 * request's handling time in the intake benchmark.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CREDITS_RULES } from '../infra/settings';
import { defaultRulesPath, loadRuleSet, type RuleSet } from './load';
import type { Rules } from './types';

/** How long a look at the rules files holds: a change on disk is seen within this long. */
export const RULES_RECHECK_MS = 1_000;

/** Options of {@link reloadingRuleSet}. */
export interface ReloadOptions {
  /** How long a look at the files holds before the next call looks again; default {@link RULES_RECHECK_MS}. */
  recheckMs?: number;
  /** The clock the recheck interval runs on (milliseconds, monotonic); default `performance.now`. */
  clock?: () => number;
  /**
   * Told when changed files fail to load; the last good rule set stays in use meanwhile, so a
   * half-written or broken file does not stop running accounts. Called once per change.
   */
  onReloadError?: (err: unknown) => void;
  /**
   * Told of each version that arrives after its `effectiveFrom` has passed. A cycle is priced
   * with the version in force when it starts, read then: accounts whose cycle started between
   * that date and the file's arrival keep the previous version for that whole cycle.
   */
  onLateVersion?: (version: Rules, arrivedAt: Date) => void;
  /** The wall clock late versions are judged by; default `Date.now`. */
  wallClock?: () => number;
}

/** What the files at `path` look like now: names, sizes and modification times. */
function fingerprint(path: string): string {
  try {
    const stat = statSync(path);
    if (!stat.isDirectory()) return `${stat.size}:${stat.mtimeMs}`;
    const parts = [`dir:${stat.mtimeMs}`];
    for (const name of readdirSync(path).sort()) {
      try {
        const entry = statSync(join(path, name));
        parts.push(`${name}:${entry.size}:${entry.mtimeMs}`);
      } catch {
        parts.push(`${name}:gone`);
      }
    }
    return parts.join('|');
  } catch (err) {
    return `unreadable:${(err as NodeJS.ErrnoException).code ?? String(err)}`;
  }
}

/**
 * A function returning the rule set at `path`, loaded on first call and again whenever the
 * files change.
 *
 * @throws RulesError from the call when the rules have never loaded successfully.
 */
export function reloadingRuleSet(path: string, options: ReloadOptions = {}): () => RuleSet {
  const recheckMs = options.recheckMs ?? RULES_RECHECK_MS;
  const clock = options.clock ?? (() => performance.now());
  let loaded: { ruleSet: RuleSet; fingerprint: string } | null = null;
  let failedFingerprint: string | null = null;
  let lookedAt = -Infinity;
  return () => {
    // Until it has loaded once, every call looks (and throws the loading error).
    if (loaded !== null && clock() - lookedAt < recheckMs) return loaded.ruleSet;
    lookedAt = clock();
    const now = fingerprint(path);
    if (loaded !== null && (loaded.fingerprint === now || failedFingerprint === now)) return loaded.ruleSet;
    try {
      const before = loaded?.ruleSet;
      loaded = { ruleSet: loadRuleSet(path), fingerprint: now };
      failedFingerprint = null;
      if (before !== undefined) reportLateVersions(before, loaded.ruleSet, options);
    } catch (err) {
      if (loaded === null) throw err;
      failedFingerprint = now;
      options.onReloadError?.(err);
    }
    return loaded.ruleSet;
  };
}

/** Tells `options.onLateVersion` of each version of `after` new since `before` whose date has passed. */
function reportLateVersions(before: RuleSet, after: RuleSet, options: ReloadOptions): void {
  if (options.onLateVersion === undefined) return;
  const known = new Set(before.versions.map((v) => v.version));
  const nowMs = (options.wallClock ?? Date.now)();
  for (const version of after.versions) {
    if (!known.has(version.version) && Date.parse(version.effectiveFrom) <= nowMs) options.onLateVersion(version, new Date(nowMs));
  }
}

/** Where a surface takes its rules from: a path (reloaded when its files change), a fixed rule set, or a function. */
export type RulesOption = string | RuleSet | (() => RuleSet);

/**
 * The one way the worker's activities and the admin page get their rules: `option` as given,
 * or, when undefined, `CREDITS_RULES`, else the shipped `rules/`. A path is reloaded when its
 * files change; `onReloadError` hears of a change that failed to load.
 */
export function ruleSetSource(
  option: RulesOption | undefined,
  onReloadError?: (err: unknown) => void,
  onLateVersion?: ReloadOptions['onLateVersion'],
): () => RuleSet {
  if (typeof option === 'function') return option;
  if (typeof option === 'object') return () => option;
  return reloadingRuleSet(option ?? CREDITS_RULES.read() ?? defaultRulesPath(), { onReloadError, onLateVersion });
}
