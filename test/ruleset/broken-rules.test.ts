/**
 * Broken rules files, one per schema branch and per semantic check: each must be refused
 * with exactly these diagnostics (code, line, column, message), all of them, in file order.
 * Every fixture is test/fixtures/rules/valid/minimal.yaml with one mistake.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIAGNOSTIC_CODES, RulesError, formatDiagnostic, loadRuleSet } from '../../ruleset';
import type { Diagnostic } from '../../ruleset';
import { loadProblems } from './rules-problems';

const FIXTURES = join(__dirname, '..', 'fixtures', 'rules');

type Expected = [code: Diagnostic['code'], line: number, column: number, message: string];

const brokenFixtures: [name: string, mistake: string, expected: Expected[]][] = [
  [
    'yaml-syntax',
    'a mis-indented line',
    [
      ['yaml-syntax', 14, 1, "not valid YAML: Sequence item without - indicator (check this line's indentation and brackets)"],
    ],
  ],
  [
    'duplicate-key',
    'a key written twice',
    [
      ['duplicate-key', 17, 3, "\"credits\" is written twice in the same block; keep one"],
    ],
  ],
  [
    'multiple-documents',
    'a second YAML document',
    [
      ['multiple-documents', 68, 1, "a rules file holds exactly one YAML document; remove this \"---\" separator and what follows, or move it to its own file"],
    ],
  ],
  [
    'yaml-version',
    'a %YAML 1.1 directive',
    [
      ['yaml-version', 1, 1, 'this file asks to be read as YAML 1.1; rules files are YAML 1.2 only (in 1.1, yes is true, 010 is 8 and << merges blocks): remove this line'],
    ],
  ],
  [
    'cr-line-endings',
    'a file saved with classic Mac OS line endings (CR alone), which read as one line: "empty" it said',
    [
      ['cr-line-endings', 1, 82, 'this line ends with a carriage return alone (classic Mac OS line endings), which is not read as a line break: save the file with LF (or CRLF) line endings'],
    ],
  ],
  [
    'non-ascii-indent',
    'a no-break space in an indentation, which the parser reported lines later as nested compact mappings',
    [
      ['non-ascii-indent', 15, 1, 'this line is indented with a no-break space (U+00A0), which YAML does not read as indentation though it looks like a space: indent with ordinary spaces'],
    ],
  ],
  [
    'non-ascii-indent-ideographic',
    'an ideographic space after an ordinary one in an indentation',
    [
      ['non-ascii-indent', 11, 2, 'this line is indented with an ideographic space (U+3000), which YAML does not read as indentation though it looks like a space: indent with ordinary spaces'],
    ],
  ],
  [
    'empty-file',
    'a file with only a comment',
    [
      ['empty-file', 1, 1, "the file holds no rules (it is empty or only comments)"],
    ],
  ],
  [
    'too-many-aliases',
    'anchors and aliases that expand into a huge document',
    [
      ['too-many-aliases', 2, 8, "anchors and aliases expand to too much repeated content (at most 50 alias uses); write the values out instead"],
    ],
  ],
  [
    'unknown-field',
    'a misspelt field in a tier (additionalProperties); the real one is then missing',
    [
      ['missing-field', 42, 5, "tier \"tier-2\" is missing \"priceCents\""],
      ['unknown-field', 44, 5, "\"prise\" is not a field of tier \"tier-2\" (expected one of: id, name, priceCents, credits)"],
    ],
  ],
  [
    'unknown-top-level-field',
    'a misspelt top-level field',
    [
      ['unknown-field', 4, 1, "\"curency\" is not a field of the rules file (expected one of: schemaVersion, effectiveFrom, currency, plans, trial, features, tiers, promotions, consumption, policies, alerts)"],
    ],
  ],
  [
    'unknown-gate-field',
    'an unknown field in a plan gate (if/else object branch)',
    [
      ['unknown-field', 26, 28, "\"upward\" is not a field of plans of feature \"lead-summaries\" (expected one of: from)"],
    ],
  ],
  [
    'missing-field',
    'a tier without credits (required)',
    [
      ['missing-field', 46, 5, "tier \"tier-3\" is missing \"credits\""],
    ],
  ],
  [
    'missing-section',
    'no trial section (required at the top level)',
    [
      ['missing-field', 1, 1, "the rules file is missing \"trial\""],
    ],
  ],
  [
    'missing-cost-rounding',
    'a cost without a rounding rule (required in cost)',
    [
      ['missing-field', 32, 11, "cost of feature \"enrichment\" is missing \"rounding\""],
    ],
  ],
  [
    'wrong-type',
    'text where a whole number belongs (type)',
    [
      ['wrong-type', 14, 14, "userCap of plan \"growth\" must be a whole number, got \"ten\""],
    ],
  ],
  [
    'wrong-type-fraction',
    'fractional credits per user (type integer)',
    [
      ['wrong-type', 8, 21, "creditsPerUser of plan \"solo\" must be a whole number, got 500.5"],
    ],
  ],
  [
    'wrong-type-gate',
    'plans given as a number (if/else object branch type)',
    [
      ['wrong-type', 26, 12, "plans of feature \"lead-summaries\" must be \"all\" or {from: <plan id>}, got 5"],
    ],
  ],
  [
    'wrong-type-root',
    'a list instead of a mapping at the top',
    [
      ['wrong-type', 1, 1, "the rules file must be a mapping of fields, got a list"],
    ],
  ],
  [
    'bad-value-enum',
    'an unknown billing kind (enum)',
    [
      ['bad-value', 35, 14, "billing of feature \"sms\" must be one of free, credits, telephony, got \"phone\""],
    ],
  ],
  [
    'bad-value-gate',
    'plans neither "all" nor {from} (if/then const branch)',
    [
      ['bad-value', 22, 12, "plans of feature \"notetaker\" must be \"all\" or {from: <plan id>}, got \"everyone\""],
    ],
  ],
  [
    'bad-value-const',
    'a policy the engine does not implement (const)',
    [
      ['bad-value', 63, 39, "policies.reset.rollover must be false, got true"],
    ],
  ],
  [
    'bad-value-schema-version',
    'an unknown schemaVersion (const)',
    [
      ['bad-value', 1, 16, "schemaVersion must be 1, got 2"],
    ],
  ],
  [
    'out-of-range-minimum',
    'a user cap of 0 (minimum)',
    [
      ['out-of-range', 9, 14, "userCap of plan \"solo\" must be at least 1, got 0"],
    ],
  ],
  [
    'out-of-range-maximum',
    'a warning threshold over 100% (maximum)',
    [
      ['out-of-range', 66, 27, "alerts.warning.usedPercent must be at most 100, got 150"],
    ],
  ],
  [
    'zero-cost',
    'a credit-based feature costing 0 credits',
    [
      ['out-of-range', 32, 22, "cost.credits of feature \"enrichment\" must be at least 1, got 0"],
    ],
  ],
  [
    'promotion-credits',
    'a promotion with negative credits',
    [
      ['out-of-range', 53, 14, "credits of promotion \"beta\" must be at least 1, got -5"],
    ],
  ],
  [
    'promotion-cycles',
    'a promotion valid for zero cycles',
    [
      ['out-of-range', 56, 21, "validForCycles of promotion \"beta\" must be at least 1, got 0"],
    ],
  ],
  [
    'bad-format-pattern',
    'an id with capitals and a space (pattern); the gate then names no plan',
    [
      ['bad-format', 10, 9, "id of plan \"Growth Plan\" must be lower-case letters, digits and dashes, starting with a letter (e.g. tier-3), got \"Growth Plan\""],
      ['unknown-plan', 26, 20, "feature \"lead-summaries\" is offered from plan \"growth\", which is not a plan id in this file; did you mean \"Growth Plan\"?"],
    ],
  ],
  [
    'bad-format-empty',
    'an empty name (minLength)',
    [
      ['bad-format', 34, 11, "name of feature \"sms\" must not be empty"],
    ],
  ],
  [
    'bad-format-hex',
    'a number written in hexadecimal',
    [
      ['bad-format', 16, 12, "\"0x3E8\" is a hexadecimal number; write numbers in decimal (1000)"],
    ],
  ],
  [
    'bad-format-currency',
    'a currency that is not a three-letter code (pattern)',
    [
      ['bad-format', 3, 11, "currency must be a three-letter currency code such as USD, got \"dollars\""],
    ],
  ],
  [
    'wrong-count',
    'an empty tier list (minItems)',
    [
      ['wrong-count', 37, 8, "tiers must list at least 1 item"],
    ],
  ],
  [
    'effective-from',
    'an effectiveFrom on a day that does not exist',
    [
      ['effective-from', 2, 16, "effectiveFrom must be an existing UTC instant such as 2026-06-03T00:00:00Z, got \"2026-02-30T00:00:00Z\""],
    ],
  ],
  [
    'duplicate-plan',
    'two plans with one id; the gate then names no plan',
    [
      ['duplicate-plan', 10, 9, "plan \"solo\" is defined twice (first at line 5); ids must be unique"],
      ['unknown-plan', 26, 20, "feature \"lead-summaries\" is offered from plan \"growth\", which is not a plan id in this file; did you mean \"solo\"?"],
    ],
  ],
  [
    'duplicate-alias',
    'an alias that already names another plan',
    [
      ['duplicate-alias', 12, 29, "\"starter\" already names plan \"solo\" (line 7); plan names and aliases must be unique, ignoring case"],
    ],
  ],
  [
    'duplicate-alias-normalization',
    'an alias that names another plan in another Unicode normalization (a combining accent for a precomposed one)',
    [
      ['duplicate-alias', 12, 29, "\"Pro\u0301\" already names plan \"solo\" (line 7); plan names and aliases must be unique, ignoring case and how accents are encoded"],
    ],
  ],
  [
    'duplicate-alias-same-plan',
    'an alias repeated within one plan, in another case',
    [
      ['duplicate-alias', 7, 30, "\"base\" is listed twice for plan \"solo\" (line 7); plan names and aliases must be unique, ignoring case"],
    ],
  ],
  [
    'duplicate-feature',
    'two features with one id',
    [
      ['duplicate-feature', 33, 9, "feature \"notetaker\" is defined twice (first at line 19); ids must be unique"],
    ],
  ],
  [
    'duplicate-tier',
    'two tiers with one id',
    [
      ['duplicate-tier', 46, 9, "tier \"tier-2\" is defined twice (first at line 42); ids must be unique"],
    ],
  ],
  [
    'duplicate-promotion',
    'two promotions with one id',
    [
      ['duplicate-promotion', 57, 9, "promotion \"beta\" is defined twice (first at line 51); ids must be unique"],
    ],
  ],
  [
    'unknown-plan',
    'a gate naming an alias instead of a plan id',
    [
      ['unknown-plan', 26, 20, "feature \"lead-summaries\" is offered from plan \"professional\", which is not a plan id in this file; did you mean \"growth\"?"],
    ],
  ],
  [
    'unknown-feature',
    'trial features naming a feature the file does not have',
    [
      ['unknown-feature', 19, 25, "trial.features names \"lead-summary\", which is not a feature id in this file; features are: notetaker, lead-summaries, enrichment, sms"],
    ],
  ],
  [
    'out-of-range-trial-length',
    'a trial over a year long',
    [
      ['out-of-range', 19, 15, "trial.lengthDays must be at most 366, got 400"],
    ],
  ],
  [
    'bad-value-trial-features',
    'trial features neither all nor a list',
    [
      ['bad-value', 19, 13, "trial.features must be \"all\" or a list of feature ids, got \"every\""],
    ],
  ],
  [
    'toggle-not-credit',
    'a toggle on a telephony feature',
    [
      ['toggle-not-credit', 37, 17, "feature \"sms\" is billed as telephony, so it cannot be toggleable; only credit-based features can be switched off"],
    ],
  ],
  [
    'per-call-not-credit',
    'per-call authorisation on a free feature',
    [
      ['per-call-not-credit', 23, 14, "feature \"notetaker\" is free, so it cannot be authorised per call; only credit-based features are"],
    ],
  ],
  [
    'missing-cost',
    'a credit-based feature without a cost',
    [
      ['missing-cost', 29, 14, "feature \"enrichment\" is billed in credits but has no cost; add cost: {credits, per, unit, rounding}"],
    ],
  ],
  [
    'unexpected-cost',
    'a cost on a telephony feature',
    [
      ['unexpected-cost', 37, 11, "feature \"sms\" is billed as telephony, so it must not have a cost in credits"],
    ],
  ],
  [
    'tier-order-price',
    'a tier cheaper than the one before (the next then has a worse rate)',
    [
      ['tier-order', 44, 17, "tier-2 costs less than tier-1 (15.00 vs 20.00 USD); tiers must get dearer down the list"],
      ['tier-rate', 46, 5, "tier-3 charges more per credit than tier-2 (0.014286 vs 0.004688 USD per credit); a larger tier must never have a worse rate"],
    ],
  ],
  [
    'tier-order-credits',
    'a tier with no more credits than the one before (also a worse rate)',
    [
      ['tier-rate', 42, 5, "tier-2 charges more per credit than tier-1 (0.041667 vs 0.016667 USD per credit); a larger tier must never have a worse rate"],
      ['tier-order', 45, 14, "tier-2 includes the same credits as tier-1 (1,200 vs 1,200); tiers must include more credits down the list"],
    ],
  ],
  [
    'tier-rate',
    'a tier with a worse per-credit rate than the one before',
    [
      ['tier-rate', 46, 5, "tier-3 charges more per credit than tier-2 (0.016667 vs 0.015625 USD per credit); a larger tier must never have a worse rate"],
    ],
  ],
  [
    'promotion-date',
    'a promotion starting on June 31',
    [
      ['promotion-date', 55, 15, "startsOn of promotion \"beta\" must be an existing calendar date such as 2026-06-03, got \"2026-06-31\""],
    ],
  ],
  [
    'consumption-priority',
    'a grant source listed twice and two missing',
    [
      ['consumption-priority', 58, 13, "consumption.priority must list every grant source once; missing: subscription, manual"],
      ['consumption-priority', 58, 42, "\"trial\" is listed twice in consumption.priority; list each grant source once"],
    ],
  ],
  [
    'bad-text-surrogate',
    'a lone UTF-16 surrogate in a plan name (a YAML \\ud800 escape)',
    [
      ['bad-text', 7, 11, "name of plan \"solo\" holds a lone UTF-16 surrogate (U+D800 at character 3), which is not valid text; write the whole character"],
    ],
  ],
  [
    'bad-text-nul',
    'a NUL character in a plan alias',
    [
      ['bad-text', 8, 21, "aliases item 2 of plan \"solo\" holds a control character (U+0000 at character 6); rules text may not hold NUL or other control characters"],
    ],
  ],
  [
    'bad-text-tab',
    'a tab in a tier name (only notes may hold tabs and line breaks)',
    [
      ['bad-text', 44, 11, "name of tier \"tier-2\" holds a control character (U+0009 at character 5); rules text may not hold NUL or other control characters"],
    ],
  ],
  [
    'bad-text-c1',
    'a C1 control character (NEL) in a note',
    [
      ['bad-text', 33, 11, "note of feature \"enrichment\" holds a control character (U+0085 at character 10); rules text may not hold NUL or other control characters"],
    ],
  ],
  [
    'bad-text-line-separator',
    'a line separator in a plan name (it breaks the name across lines wherever it is shown)',
    [
      ['bad-text', 11, 11, "name of plan \"growth\" holds a line or paragraph separator (U+2028 at character 4), which breaks it across lines wherever it is shown; remove it"],
    ],
  ],
  [
    'bad-text-zero-width',
    'a zero-width space in a plan name (two names that look alike would differ)',
    [
      ['bad-text', 12, 11, "name of plan \"growth\" holds an invisible formatting character (U+200B at character 4), which makes text that looks the same differ; remove it"],
    ],
  ],
  [
    'bad-text-bidi',
    'a right-to-left override in a plan alias',
    [
      ['bad-text', 8, 21, "aliases item 2 of plan \"solo\" holds an invisible formatting character (U+202E at character 4), which makes text that looks the same differ; remove it"],
    ],
  ],
  [
    'bad-text-key',
    'a NUL character in a field name, quoted escaped in every message',
    [
      ['missing-field', 39, 5, "tier \"tier-1\" is missing \"priceCents\""],
      ['bad-text', 41, 5, "a field name in tier \"tier-1\" holds a control character (U+0000 at character 6); rules text may not hold NUL or other control characters"],
      ['unknown-field', 41, 5, "\"price\\u0000Cents\" is not a field of tier \"tier-1\" (expected one of: id, name, priceCents, credits)"],
    ],
  ],
  [
    'blank-name',
    'a feature name of spaces only',
    [
      ['blank-name', 35, 11, "name of feature \"sms\" is only spaces; write a name people can read"],
    ],
  ],
  [
    'long-name',
    'a plan name over 200 characters (maxLength)',
    [
      ['bad-format', 7, 11, "name of plan \"solo\" must be at most 200 characters long"],
    ],
  ],
  [
    'long-id',
    'a tier id over 64 characters (maxLength), shown shortened',
    [
      ['bad-format', 47, 9, "id of tier \"tier-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" must be at most 64 characters long"],
    ],
  ],
  [
    'duplicate-per-call',
    'two features authorised per call',
    [
      ['duplicate-per-call', 39, 14, "feature \"enrichment\" is authorised per call, and so is feature \"voice-agent\" (line 32); the engine authorises exactly one feature per call (the Voice Agent)"],
    ],
  ],
  [
    'plan-order',
    'plans listed largest first',
    [
      ['plan-order', 11, 5, "plan \"solo\" includes fewer credits than plan \"growth\" before it (500 vs 15,000 for a full team); plans are listed smallest first, and their order decides which changes are upgrades and which downgrades"],
    ],
  ],
  [
    'plan-order-per-user',
    'a plan giving fewer credits per user than the one before',
    [
      ['plan-order', 14, 21, "plan \"growth\" gives fewer credits per user than plan \"solo\" before it (1,500 vs 2,000); plans are listed smallest first, and their order decides which changes are upgrades and which downgrades"],
    ],
  ],
  [
    'out-of-range-plan-credits',
    'a plan including over 1,000,000,000 credits for a full team',
    [
      ['out-of-range', 11, 5, "plan \"growth\" includes 2,000,000,000 credits for a full team (creditsPerUser × userCap); a plan may include at most 1,000,000,000"],
    ],
  ],
  [
    'out-of-range-huge',
    'a price past 2^53',
    [
      ['out-of-range', 41, 17, "priceCents of tier \"tier-1\" must be at most 1000000000, got 9007199254740992"],
    ],
  ],
  [
    'wrong-type-infinite',
    'credits of 1e309, which YAML reads as infinity',
    [
      ['wrong-type', 17, 12, "trial.credits must be a whole number, got Infinity"],
    ],
  ],
  [
    'wrong-count-features',
    'an empty feature list (minItems)',
    [
      ['wrong-count', 19, 11, "features must list at least 1 item"],
    ],
  ],
  [
    'effective-from-hour',
    'an effectiveFrom at hour 24',
    [
      ['effective-from', 3, 16, "effectiveFrom must be an existing UTC instant such as 2026-06-03T00:00:00Z, got \"2026-06-03T24:00:00Z\""],
    ],
  ],
];

describe('broken rules files', () => {
  it('the base fixture is valid', () => {
    expect(loadRuleSet(join(FIXTURES, 'valid', 'minimal.yaml')).versions).toHaveLength(1);
  });

  it.each(brokenFixtures)('%s: %s', (name, _mistake, expected) => {
    const file = join(FIXTURES, 'broken', `${name}.yaml`);
    const problems = loadProblems(file);
    expect(problems.map((d) => [d.code, d.line, d.column, d.message])).toEqual(expected);
    for (const d of problems) expect(d.file).toBe(file);
  });

  it('covers every diagnostic code a single file can produce', () => {
    const covered = new Set(brokenFixtures.flatMap(([, , expected]) => expected.map(([code]) => code)));
    // Codes about directories, sizes, instants and error floods are tested with generated input.
    const elsewhere = new Set([
      'not-found',
      'unreadable',
      'file-too-large',
      'too-many-errors',
      'rules-too-large',
      'no-rules-files',
      'duplicate-effective-from',
      'no-version-in-force',
      'bad-instant',
    ]);
    expect(DIAGNOSTIC_CODES.filter((code) => !covered.has(code) && !elsewhere.has(code))).toEqual([]);
  });

  it('reports every problem of a file with several, sorted by position', () => {
    const file = join(FIXTURES, 'broken', 'several-errors.yaml');
    expect(loadProblems(file).map(formatDiagnostic)).toEqual([
      `${file}:14:14 out-of-range: userCap of plan "growth" must be at least 1, got 0`,
      `${file}:17:25 wrong-type: trial.rolloverOnConversion must be true or false, got "no"`,
      `${file}:18:3 unknown-field: "expires" is not a field of trial (expected one of: credits, rolloverOnConversion, lengthDays, features)`,
      `${file}:27:20 unknown-plan: feature "lead-summaries" is offered from plan "platinum", which is not a plan id in this file; plans are: solo, growth`,
      `${file}:45:17 tier-order: tier-2 costs less than tier-1 (15.00 vs 20.00 USD); tiers must get dearer down the list`,
      `${file}:47:5 tier-rate: tier-3 charges more per credit than tier-2 (0.014286 vs 0.004688 USD per credit); a larger tier must never have a worse rate`,
    ]);
  });

  it('throws a RulesError whose message names the first problem and counts the rest', () => {
    const file = join(FIXTURES, 'broken', 'several-errors.yaml');
    expect(() => loadRuleSet(file)).toThrow(RulesError);
    expect(() => loadRuleSet(file)).toThrow(`${file}:14:14 out-of-range: userCap of plan "growth" must be at least 1, got 0 (and 5 more)`);
  });
});
