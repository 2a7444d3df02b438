/**
 * Clean text at the door: every string of every update and of the start input is well-formed
 * UTF-16, free of control characters and bounded; ids keep to their alphabet; unknown fields
 * and extra arguments are refused; numbers have upper bounds; and no refusal echoes raw input.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_CALL_MINUTES,
  MAX_GRANT_CREDITS,
  MAX_USAGE_QUANTITY,
  MAX_USERS,
  checkRestartTier,
  checkStartArguments,
  checkStartShape,
  startShapeProblems,
  checkUpdateArguments,
  type InputCheck,
  type InputProblem,
} from '../../domain/input-problems';
import { ACCOUNT_UPDATES, type AccountUpdateName } from '../../workflows/messages';
import { hasControlCharacter, isWellFormedText, quote } from '../../domain/input-text';
import { shippedRules } from '../helpers/shipped-rules';

const rules = shippedRules();
const NOW = Date.parse('2026-06-10T12:00:00.000Z');
const MEGABYTE = 'x'.repeat(1 << 20);

/** Each update's check with a valid input, so a test can spoil one field at a time. */
const VALID: Record<AccountUpdateName, Record<string, unknown>> = {
  recordUsage: { feature: 'enrichment', quantity: 2, idempotencyKey: 'k-1', userId: 'user_ann' },
  recordUsageBatch: { events: [{ feature: 'enrichment', quantity: 2, idempotencyKey: 'k-1', userId: 'user_ann' }] },
  startCall: { callId: 'call_9f2c', agentId: 'agent_chloe_1' },
  endCall: { callId: 'call_9f2c', minutes: 3.5 },
  setUsers: { users: 3 },
  changePlan: { plan: 'scale' },
  changeCreditTier: { tier: 'tier-4' },
  setFeatureEnabled: { feature: 'enrichment', enabled: false },
  setVoiceAgentActive: { agentId: 'agent_chloe_1', active: false },
  grantCredits: { credits: 5000, reason: 'outage goodwill (TICKET-812)', validForCycles: 2, idempotencyKey: 'TICKET-812' },
  voidUsage: { idempotencyKey: 'enrich-lead-42-2026-11-24', reason: 'charged by a sync bug (TICKET-913)' },
  setAdmins: { admins: ['billing@growth.example', 'ops@growth.example'] },
  setTags: { tags: ['chloe-beta', 'emea'] },
};
const UPDATES: Record<string, { check: InputCheck; valid: Record<string, unknown> }> = Object.fromEntries(
  (Object.keys(VALID) as AccountUpdateName[]).map((name) => [name, { check: ACCOUNT_UPDATES[name].check, valid: VALID[name] }]),
);
const { check: checkRecordUsage } = UPDATES.recordUsage!;
const { check: checkEndCall } = UPDATES.endCall!;
const { check: checkSetUsers } = UPDATES.setUsers!;
const { check: checkChangePlan } = UPDATES.changePlan!;
const { check: checkChangeCreditTier } = UPDATES.changeCreditTier!;
const checkGrantCredits = (input: unknown) => ACCOUNT_UPDATES.grantCredits.check(input, {});

/** Every string field of every update, by update. */
const STRING_FIELDS = Object.entries(UPDATES).flatMap(([name, { valid }]) =>
  Object.entries(valid)
    .filter(([, v]) => typeof v === 'string')
    .map(([field]) => [name, field] as const),
);
const START = { accountId: 'demo-growth', plan: 'growth', users: 8, cycleAnchor: '2026-06-03T00:00:00Z', creditTier: 'tier-3', tags: ['chloe-beta'], admins: ['billing@growth.example'] };

function expectSmallAndClean(found: InputProblem | undefined): void {
  expect(found).toBeDefined();
  const message = found?.message ?? '';
  expect(message.length).toBeLessThan(1024);
  expect(isWellFormedText(message)).toBe(true);
  expect(hasControlCharacter(message)).toBe(false);
}

describe('valid input', () => {
  it.each(Object.keys(UPDATES))('%s passes with and without the rules', (name) => {
    const { check, valid } = UPDATES[name]!;
    expect(check(valid, {})).toBeUndefined();
    expect(check(valid, { rules, knowsCall: () => true })).toBeUndefined();
  });

  it('the start input passes, and the examples\' keys and ids are in the id alphabet', () => {
    expect(checkStartShape(START, NOW)).toBeUndefined();
    expect(checkRecordUsage({ feature: 'enrichment', quantity: 25, idempotencyKey: 'enrich-lead-42-2026-11-24', userId: 'user_ann' }, {})).toBeUndefined();
    expect(checkGrantCredits({ credits: 1, reason: 'ünïcödé 🎉 reason', validForCycles: 120, idempotencyKey: 'k'.repeat(200) })).toBeUndefined();
  });
});

describe('text in every string field', () => {
  it.each(STRING_FIELDS)('%s.%s refuses U+0000, lone surrogates, controls and 1 MB without echoing them', (name, field) => {
    const { check, valid } = UPDATES[name]!;
    for (const bad of ['a\u0000b', '\ud800', 'x\udfffy', '\udc00\ud800', 'tab\there', 'del\u007f', 'c1\u0085', MEGABYTE, '']) {
      const found = check({ ...valid, [field]: bad }, { rules, knowsCall: () => true });
      expectSmallAndClean(found);
      if (bad.length > 0) expect(found?.message).not.toContain(bad);
    }
  });

  it.each([
    ['idempotencyKey', 'recordUsage'],
    ['userId', 'recordUsage'],
    ['callId', 'startCall'],
    ['agentId', 'startCall'],
    ['callId', 'endCall'],
    ['agentId', 'setVoiceAgentActive'],
    ['idempotencyKey', 'grantCredits'],
  ])('%s of %s keeps to printable ASCII without spaces, at most 200 characters', (field, name) => {
    const { check, valid } = UPDATES[name]!;
    for (const bad of ['with space', 'é', '🎉', 'k'.repeat(201), 'line\nbreak']) expect(check({ ...valid, [field]: bad }, {})).toBeDefined();
    for (const good of ['!', '~~', 'a:b/c@d#e', 'k'.repeat(200)]) expect(check({ ...valid, [field]: good }, {})).toBeUndefined();
  });

  it('a grant reason may be any Unicode text of 1-500 characters, not blank', () => {
    const grant = (reason: unknown) => checkGrantCredits({ ...UPDATES.grantCredits!.valid, reason });
    expect(grant('r'.repeat(500))).toBeUndefined();
    expect(grant('😀'.repeat(250))).toBeUndefined();
    expect(grant('r'.repeat(501))?.code).toBe('InvalidInput');
    expect(grant('   ')?.code).toBe('InvalidInput');
    expect(grant('two\nlines')?.code).toBe('InvalidInput');
  });

  it('quotes a value as a short, escaped prefix', () => {
    expect(quote('platinum')).toBe('"platinum"');
    expect(quote('\ud800')).toBe('"\\ud800"');
    expect(quote('a\u0000')).toBe('"a\\u0000"');
    expect(quote('d\u007f\u0085')).toBe('"d\\u007f\\u0085"');
    // Invisible format characters and line separators: a U+202E would turn the message around on screen.
    expect(quote('\u202etnemhcirne\u200b\u2028\u{e0041}')).toBe('"\\u202etnemhcirne\\u200b\\u2028\\udb40\\udc41"');
    expect(quote(MEGABYTE)).toBe(`"${'x'.repeat(32)}"…`);
    expect(quote(Number.NaN)).toBe('NaN');
    expect(quote({ toString: () => MEGABYTE })).toBe('an object');
  });
});

describe('refusals never echo the input', () => {
  it.each([
    ['endCall', { callId: '\ud800', minutes: 1 }],
    ['changeCreditTier', { tier: '\ud800' }],
    ['setFeatureEnabled', { feature: '\ud800', enabled: true }],
    ['changePlan', { plan: '\udfff' }],
    ['recordUsage', { feature: '\ud800', quantity: 1, idempotencyKey: 'k' }],
    ['endCall', { callId: MEGABYTE, minutes: 1 }],
    ['changeCreditTier', { tier: MEGABYTE }],
    ['setFeatureEnabled', { feature: MEGABYTE, enabled: true }],
    ['changePlan', { plan: MEGABYTE }],
    ['recordUsage', { feature: 'enrichment', quantity: MEGABYTE, idempotencyKey: 'k' }],
    ['endCall', { callId: 'c', minutes: MEGABYTE }],
    ['recordUsage', { feature: 'enrichment', quantity: 1, idempotencyKey: 'k', [MEGABYTE]: 1 }],
    ['setUsers', { users: 1, '\ud800': 1, 'a\u0000': 2, b: 3, c: 4, d: 5, e: 6, f: 7 }],
  ])('%s %#', (name, input) => {
    const found = UPDATES[name]!.check(input, { rules, knowsCall: () => false });
    expectSmallAndClean(found);
  });

  it('an unknown feature, plan, tier or call is quoted short and escaped', () => {
    const long = `teleport-${'x'.repeat(90)}`;
    expect(checkRecordUsage({ feature: long, quantity: 1, idempotencyKey: 'k' }, { rules })?.message).toMatch(/^unknown feature "teleport-x{23}"… \(known: /);
    expect(checkChangePlan({ plan: 'platinum' }, { rules })?.message).toMatch(/^unknown plan "platinum" \(known: solo, /);
    expect(checkChangeCreditTier({ tier: 'tier-99' }, { rules })?.message).toBe('unknown credit tier "tier-99"');
    expect(checkEndCall({ callId: 'call-404', minutes: 1 }, { knowsCall: () => false })?.message).toBe('no call "call-404" was started on this account');
  });

  it('a 1 MB value in the start input is refused in under 1 KB', () => {
    for (const spoil of [{ plan: MEGABYTE }, { creditTier: MEGABYTE }, { tags: [MEGABYTE] }, { admins: [`${MEGABYTE}@x.example`] }, { accountId: MEGABYTE }, { [MEGABYTE]: 1 }]) {
      const found = checkStartShape({ ...START, ...spoil }, NOW);
      expect(found?.code).toBe('InvalidStartInput');
      expectSmallAndClean(found);
    }
  });
});

describe('unknown fields and extra arguments', () => {
  it.each(Object.keys(UPDATES))('%s refuses an unknown field, prototype names included', (name) => {
    const { check, valid } = UPDATES[name]!;
    for (const extra of ['junk', '__proto__', 'constructor', 'toString']) {
      const input = JSON.parse(JSON.stringify({ ...valid, [extra === '__proto__' ? 'PROTO' : extra]: 1 }).replace('"PROTO"', '"__proto__"')) as object;
      expect(Object.keys(input)).toContain(extra);
      const found = check(input, {});
      expect(found?.code).toBe('InvalidInput');
      expect(found?.message).toContain(`unknown field(s) "${extra}"`);
    }
  });

  it('refuses more than one argument to an update, and none but an object', () => {
    const { check, valid } = UPDATES.recordUsage!;
    expect(checkUpdateArguments([valid], check, {})).toBeUndefined();
    expect(checkUpdateArguments([valid, valid], check, {})?.message).toBe('an update takes one object argument, got 2 arguments');
    expect(checkUpdateArguments([valid, undefined], check, {})?.code).toBe('InvalidInput');
    expect(checkUpdateArguments([], check, {})?.code).toBe('InvalidInput');
    expect(checkUpdateArguments([[valid]], check, {})?.code).toBe('InvalidInput');
  });

  it('refuses a start with a second argument unless the run was continued as new', () => {
    expect(checkStartArguments({ state: undefined, others: 0, continued: false })).toBeUndefined();
    expect(checkStartArguments({ state: {}, others: 0, continued: true })).toBeUndefined();
    expect(checkStartArguments({ state: {}, others: 0, continued: false })?.code).toBe('InvalidStartInput');
    expect(checkStartArguments({ state: null, others: 0, continued: false })?.code).toBe('InvalidStartInput');
    expect(checkStartArguments({ state: {}, others: 1, continued: true })?.code).toBe('InvalidStartInput');
  });

  it('the start input refuses unknown fields, quoting at most five of them', () => {
    const found = checkStartShape({ ...START, a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7 }, NOW);
    expect(found?.message).toBe('unknown field(s) "a", "b", "c", "d", "e" and 2 more (known: accountId, plan, users, trial, cycleAnchor, creditTier, tags, admins, restartClosed)');
  });
});

describe('number bounds', () => {
  const grant = (credits: unknown) => checkGrantCredits({ ...UPDATES.grantCredits!.valid, credits });
  it('a grant gives at most 10,000,000 credits, as a safe whole number', () => {
    expect(grant(MAX_GRANT_CREDITS)).toBeUndefined();
    for (const bad of [MAX_GRANT_CREDITS + 1, 2 ** 53, 2 ** 53 + 2, 1e300, Number.MAX_VALUE, Infinity, Number.NaN, 1.5, 0, -1, '5']) {
      expect(grant(bad)?.code).toBe('InvalidInput');
    }
  });

  it('usage quantities, call minutes and users have upper bounds', () => {
    const usage = (quantity: unknown) => checkRecordUsage({ feature: 'enrichment', quantity, idempotencyKey: 'k' }, {});
    expect(usage(MAX_USAGE_QUANTITY)).toBeUndefined();
    expect(usage(MAX_USAGE_QUANTITY + 1)?.code).toBe('InvalidQuantity');
    expect(usage(1e9)?.code).toBe('InvalidQuantity');
    const end = (minutes: unknown) => checkEndCall({ callId: 'c', minutes }, {});
    expect(end(MAX_CALL_MINUTES)).toBeUndefined();
    expect(end(MAX_CALL_MINUTES + 0.5)?.code).toBe('InvalidQuantity');
    expect(checkSetUsers({ users: MAX_USERS }, {})).toBeUndefined();
    expect(checkSetUsers({ users: MAX_USERS + 1 }, {})?.code).toBe('InvalidInput');
    expect(checkStartShape({ ...START, users: MAX_USERS + 1 }, NOW)?.code).toBe('InvalidStartInput');
  });
});

describe('the start input', () => {
  it.each([
    [{ accountId: 'a\u0000' }, /accountId/],
    [{ plan: '\ud800' }, /plan must be/],
    [{ creditTier: 'tier-3\u0000' }, /creditTier must be/],
    [{ tags: ['chloe beta'] }, /tags\[0\] must be 1-100 printable ASCII/],
    [{ tags: ['\ud800'] }, /tags\[0\]/],
    [{ tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, /tags may hold at most 50 items, got 51/],
    [{ admins: ['ops@example.com\u0000'] }, /admins\[0\]/],
    [{ admins: ['not-an-address'] }, /admins\[0\] must be an e-mail address/],
    [{ admins: [`${'a'.repeat(250)}@x.io`] }, /admins\[0\] must be a text of 1-254/],
    [{ admins: Array.from({ length: 51 }, (_, i) => `a${i}@x.io`) }, /admins may hold at most 50 items/],
  ])('refuses %o', (spoil, message) => {
    const found = checkStartShape({ ...START, ...spoil }, NOW);
    expect(found?.code).toBe('InvalidStartInput');
    expect(found?.message).toMatch(message);
  });
});

describe('account details and voids', () => {
  // setAdmins and setTags take the start input's rules for their lists.
  const LIST_CASES: [string, Record<string, unknown>, RegExp][] = [
    ['setTags', { tags: ['chloe beta'] }, /tags\[0\] must be 1-100 printable ASCII/],
    ['setTags', { tags: ['t'.repeat(101)] }, /tags\[0\] must be 1-100 printable ASCII characters without spaces, got 101 characters long/],
    ['setTags', { tags: Array.from({ length: 51 }, (_, i) => `t${i}`) }, /tags may hold at most 50 items, got 51/],
    ['setTags', { tags: 'chloe-beta' }, /tags must be a list, got a text/],
    ['setTags', {}, /tags must be a list, got a undefined/],
    ['setAdmins', { admins: ['not-an-address'] }, /admins\[0\] must be an e-mail address/],
    ['setAdmins', { admins: [`${'a'.repeat(250)}@x.io`] }, /admins\[0\] must be a text of 1-254/],
    ['setAdmins', { admins: Array.from({ length: 51 }, (_, i) => `a${i}@x.io`) }, /admins may hold at most 50 items, got 51/],
    ['setAdmins', { admins: ['ops@example.com\u0000'] }, /admins\[0\]/],
  ];
  it.each(LIST_CASES)('%s refuses %o', (name, input, message) => {
    const found = UPDATES[name]?.check(input, {});
    expect(found?.code).toBe('InvalidInput');
    expect(found?.message).toMatch(message);
  });

  it('lists of exactly 50 items, and empty lists, pass', () => {
    expect(UPDATES.setTags?.check({ tags: Array.from({ length: 50 }, (_, i) => `t${i}`) }, {})).toBeUndefined();
    expect(UPDATES.setAdmins?.check({ admins: Array.from({ length: 50 }, (_, i) => `a${i}@x.io`) }, {})).toBeUndefined();
    expect(UPDATES.setTags?.check({ tags: [] }, {})).toBeUndefined();
    expect(UPDATES.setAdmins?.check({ admins: [] }, {})).toBeUndefined();
  });

  it('voidUsage needs a key and a reason', () => {
    const check = (input: unknown) => UPDATES.voidUsage?.check(input, {});
    expect(check({ reason: 'bug' })).toMatchObject({ code: 'MissingIdempotencyKey', message: 'idempotencyKey must be 1-200 printable ASCII characters without spaces, got a undefined' });
    expect(check({ idempotencyKey: 'k 1', reason: 'bug' })?.code).toBe('MissingIdempotencyKey');
    expect(check({ idempotencyKey: 'k-1' })).toMatchObject({ code: 'InvalidInput', message: expect.stringMatching(/^reason must be a text of 1-500 characters/) as unknown });
    expect(check({ idempotencyKey: 'k-1', reason: '   ' })?.message).toMatch(/got a blank text/);
    expect(check({ idempotencyKey: 'k-1', reason: 'r'.repeat(501) })?.message).toMatch(/got 501 characters long/);
    expect(check({ idempotencyKey: 'k-1', reason: 'bug', credits: 5 })?.message).toMatch(/unknown field\(s\) "credits"/);
  });
});

describe('every problem of the start input', () => {
  it('lists one problem per bad field, the first being what checkStartShape says', () => {
    const spoilt = { ...START, accountId: 'bad id', plan: 7, users: 0, trial: 'yes', cycleAnchor: 'soon', creditTier: 3, tags: ['a b'], admins: ['x'], restartClosed: 'yes', extra: 1 };
    const all = startShapeProblems(spoilt, NOW);
    expect(all.map((p) => p.message.split(/[ [(:]/)[0])).toEqual(['unknown', 'accountId', 'plan', 'users', 'trial', 'cycleAnchor', 'creditTier', 'tags', 'admins', 'restartClosed']);
    expect(all.at(-1)?.message).toBe('restartClosed must be true or false');
    expect(startShapeProblems({ ...START, restartClosed: true }, NOW)).toEqual([]);
    expect(startShapeProblems({ ...START, restartClosed: false }, NOW)).toEqual([]);
    expect(all.every((p) => p.code === 'InvalidStartInput')).toBe(true);
    expect(checkStartShape(spoilt, NOW)).toEqual(all[0]);
    expect(startShapeProblems(START, NOW)).toEqual([]);
    expect(startShapeProblems('x', NOW)).toEqual([{ code: 'InvalidStartInput', message: 'the start argument must be one object' }]);
  });
});

describe('a restart within a billing period its earlier workflow paid a tier for', () => {
  const start = { accountId: 'acme', plan: 'growth', users: 1, cycleAnchor: '2026-06-03T00:00:00.000Z', restartClosed: true };
  const paid = { chargeId: 'acme:tier:2026-06-03T00:00:00.000Z', tierId: 'tier-4', amountCents: 15_000, reason: 'cycle_start' as const };
  it.each([
    ['the tier paid for', { creditTier: 'tier-4' }, paid, undefined],
    ['the tier paid for, in other case', { creditTier: 'TIER-4' }, paid, undefined],
    ['any tier, when the period was not billed', { creditTier: 'tier-6' }, null, undefined],
    ['any tier, when the rules no longer hold the tier paid for', { creditTier: 'tier-6' }, { ...paid, tierId: 'tier-99' }, undefined],
    ['another tier', { creditTier: 'tier-3' }, paid, '(--tier in the CLI; this start asks for "tier-3")'],
    ['no tier', {}, paid, '(--tier in the CLI; this start has no tier)'],
  ])('%s', (_what, tier, charge, refusal) => {
    const problem = checkRestartTier({ ...start, ...tier }, rules, charge);
    if (refusal === undefined) expect(problem).toBeUndefined();
    else expect(problem).toMatchObject({ code: 'InvalidStartInput', message: expect.stringContaining(`restart it with creditTier "tier-4" ${refusal}`) });
  });
});
