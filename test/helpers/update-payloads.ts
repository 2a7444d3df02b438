/**
 * fast-check payloads for every update of the account workflow: valid inputs, and inputs a
 * hostile or careless caller might send (lone surrogates, NUL and other controls, huge
 * strings, names on Object.prototype, deep objects, wrong types, unknown fields, extra
 * arguments, huge, negative, fractional and non-finite numbers). Shared by the pure property
 * test of the checks and the fuzzing of the real workflow.
 */
import fc from 'fast-check';
import type { AccountUpdateName } from '../../workflows/messages';

/** Names an object inherits from Object.prototype, which a plain-object map would "find". */
export const PROTOTYPE_NAMES = ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf', 'propertyIsEnumerable'];

/** One update call: its name and every argument it is sent with. */
export interface UpdatePayload {
  name: AccountUpdateName;
  args: unknown[];
}

/** Sizes of the huge strings; the workflow fuzz uses a megabyte, the pure test less, to stay fast. */
export interface PayloadOptions {
  hugeLength: number;
  /** Call ids the valid payloads may use, so `endCall` meets calls that were started. */
  callIds: readonly string[];
}

const validId = fc.oneof(
  fc.stringMatching(/^[!-~]{1,24}$/),
  fc.constantFrom(...PROTOTYPE_NAMES),
  fc.constantFrom('k-1', 'enrich-lead-42-2026-11-24', 'TICKET-812', 'a'.repeat(200)),
);

/** Strings no field may take (or that only some may): bad UTF-16, controls, spaces, wrong length. */
function badString(hugeLength: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom('\ud800', '\udfff', 'a\ud800b', '\udc00\ud800', 'x\u0000', '\u0000', 'tab\t', 'line\nbreak', 'del\u007f', 'c1\u0085', '', ' ', 'with space', 'é', '🎉'),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ unit: fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 4 }),
    fc.constantFrom('k'.repeat(201), 'r'.repeat(501)),
    fc.constantFrom('x'.repeat(hugeLength), `\ud800${'y'.repeat(hugeLength - 1)}`),
  );
}

const badNumber = fc.oneof(
  fc.double(),
  fc.constantFrom(0, -0, -1, 0.5, 1e-7, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e308, Number.MAX_VALUE, Number.NaN, Infinity, -Infinity),
  fc.constantFrom(10_000_001, 1_000_001, 1_441, 1_000_001.5, 121),
  fc.integer(),
);

/** An object nested `depth` levels deep. */
function deep(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

/** An object whose own keys include names on Object.prototype (`__proto__` as an own key, as JSON.parse makes it). */
const prototypeKeyed = fc.constantFrom(...PROTOTYPE_NAMES).map((key) => JSON.parse(`{${JSON.stringify(key)}: 1}`) as unknown);

/** Any value of the wrong kind for a field. */
function badValue(options: PayloadOptions): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 4, arbitrary: badString(options.hugeLength) },
    { weight: 3, arbitrary: badNumber },
    { weight: 1, arbitrary: fc.constantFrom(null, undefined, true, false, [], {}, ['enrichment']) },
    { weight: 1, arbitrary: fc.constantFrom(deep(1000), deep(50)) },
    { weight: 1, arbitrary: prototypeKeyed },
    { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
  );
}

/** Valid values of each field, by field name. */
function validFields(options: PayloadOptions): Record<string, fc.Arbitrary<unknown>> {
  const callId = options.callIds.length > 0 ? fc.oneof(fc.constantFrom(...options.callIds), validId) : validId;
  return {
    feature: fc.constantFrom('enrichment', 'auto-updates', 'notetaker', 'sms', 'lead-summaries', 'voice-agent', 'teleportation'),
    quantity: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constantFrom(0.5, 1_000_000)),
    idempotencyKey: validId,
    userId: validId,
    callId,
    agentId: validId,
    minutes: fc.oneof(fc.integer({ min: 1, max: 30 }), fc.constantFrom(0.25, 1_440)),
    users: fc.oneof(fc.integer({ min: 1, max: 20 }), fc.constant(1_000_000)),
    plan: fc.constantFrom('solo', 'essentials', 'growth', 'scale', 'Professional', 'platinum'),
    tier: fc.constantFrom(null, 'tier-1', 'tier-3', 'tier-17', 'tier-99'),
    enabled: fc.boolean(),
    active: fc.boolean(),
    credits: fc.oneof(fc.integer({ min: 1, max: 5000 }), fc.constant(10_000_000)),
    reason: fc.oneof(fc.constantFrom('outage goodwill (TICKET-812)', 'ünïcödé 🎉', 'r'.repeat(500)), fc.string({ minLength: 1, maxLength: 30 }).filter((s) => s.trim() !== '')),
    validForCycles: fc.integer({ min: 1, max: 120 }),
    admins: fc.array(fc.constantFrom('ops@acme.test', 'billing@growth.example', `${'a'.repeat(240)}@example.com`), { maxLength: 4 }),
    tags: fc.array(fc.oneof(fc.constantFrom('chloe-beta', 'emea', 't'.repeat(100)), validId.filter((t) => t.length <= 100)), { maxLength: 4 }),
  };
}

/**
 * `events` of a batch: a few usage inputs, each as generated for `recordUsage` (so sometimes
 * spoiled), sometimes one more than the batch may hold.
 */
function withEvents(valid: Record<string, fc.Arbitrary<unknown>>, bad: fc.Arbitrary<unknown>): Record<string, fc.Arbitrary<unknown>> {
  const event = inputOf('recordUsage', valid, bad);
  const tooMany = Array.from({ length: 501 }, (_, i) => ({ feature: 'enrichment', quantity: 1, idempotencyKey: `many-${i}` }));
  return { ...valid, events: fc.oneof({ weight: 20, arbitrary: fc.array(event, { minLength: 1, maxLength: 4 }) }, { weight: 1, arbitrary: fc.constant(tooMany) }) };
}

/** Fields of each update, required ones first. */
const FIELDS: Record<AccountUpdateName, { required: string[]; optional: string[] }> = {
  recordUsage: { required: ['feature', 'quantity', 'idempotencyKey'], optional: ['userId'] },
  recordUsageBatch: { required: ['events'], optional: [] },
  startCall: { required: ['callId', 'agentId'], optional: [] },
  endCall: { required: ['callId', 'minutes'], optional: [] },
  setUsers: { required: ['users'], optional: [] },
  changePlan: { required: ['plan'], optional: [] },
  changeCreditTier: { required: ['tier'], optional: [] },
  setFeatureEnabled: { required: ['feature', 'enabled'], optional: [] },
  setVoiceAgentActive: { required: ['agentId', 'active'], optional: [] },
  grantCredits: { required: ['credits', 'reason', 'validForCycles', 'idempotencyKey'], optional: [] },
  voidUsage: { required: ['idempotencyKey', 'reason'], optional: [] },
  setAdmins: { required: ['admins'], optional: [] },
  setTags: { required: ['tags'], optional: [] },
};

/** Every update's name. */
export const UPDATE_NAMES = Object.keys(FIELDS) as AccountUpdateName[];

/** An input object for `name`: each field valid most of the time, sometimes spoiled, left out or joined by others. */
function inputOf(name: AccountUpdateName, valid: Record<string, fc.Arbitrary<unknown>>, bad: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  const { required, optional } = FIELDS[name];
  const field = (f: string) => fc.oneof({ weight: 5, arbitrary: valid[f] as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: bad });
  const fields = fc.record(Object.fromEntries([...required, ...optional].map((f) => [f, field(f)])), { requiredKeys: required });
  const extraFields = fc.oneof(
    { weight: 6, arbitrary: fc.constant({}) },
    { weight: 1, arbitrary: fc.dictionary(fc.oneof(fc.constantFrom(...PROTOTYPE_NAMES, 'junk'), fc.string({ unit: 'binary', maxLength: 8 })), bad, { minKeys: 1, maxKeys: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(...required).map((f) => ({ [f.toUpperCase()]: 1 })) },
  );
  return fc.oneof(
    { weight: 12, arbitrary: fc.tuple(fields, extraFields).map(([f, extra]) => withOwnKeys(f, extra)) },
    { weight: 1, arbitrary: bad },
  );
}

/** `fields` plus `extra`, each as an own key (a spread would turn `__proto__` into a prototype). */
function withOwnKeys(fields: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const source of [fields, extra]) {
    for (const key of Object.keys(source)) Object.defineProperty(out, key, { value: source[key], enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** One update call with generated input, sometimes with no argument or extra ones. */
export function updatePayload(options: PayloadOptions): fc.Arbitrary<UpdatePayload> {
  const bad = badValue(options);
  const valid = withEvents(validFields(options), bad);
  const extraArgs = fc.oneof({ weight: 12, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(bad, { minLength: 1, maxLength: 2 }) });
  return fc.oneof(
    ...UPDATE_NAMES.map((name) =>
      fc.tuple(inputOf(name, valid, bad), extraArgs, fc.nat(30)).map(([input, extra, roll]): UpdatePayload => ({ name, args: roll === 0 ? [] : [input, ...extra] })),
    ),
  );
}

/**
 * The arguments as the workflow receives them: through JSON, as Temporal's default payload
 * converter sends them (NaN and Infinity become null; an undefined argument stays undefined).
 */
export function asReceived(args: readonly unknown[]): unknown[] {
  return args.map((a) => (a === undefined ? undefined : (JSON.parse(JSON.stringify(a) ?? 'null') as unknown)));
}
