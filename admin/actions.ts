/**
 * Acting on an account from its page: the "AI Credit settings" switches (Enrichment, Auto
 * Updates), activating or deactivating a Voice Agent, buying, upgrading or scheduling a
 * downgrade of a tier (through a confirm page that states the price and when it is charged),
 * and, for operators only, granting credits and voiding a usage.
 *
 * Each action is the same `CreditsClient` update the CLI sends, so the workflow's checks and
 * answers are the ones everywhere else. Every form carries the session's CSRF token and an
 * idempotency key generated into it: a double submit gets the first answer, never a second
 * update. The key is also the update's id (a grant's idempotency key), so a submit that
 * reaches another admin server, which shares the session but not this memory, is answered by
 * the account with the first answer and applied once. The answer (or the refusal, in words)
 * is shown once on the account page after a redirect, so a reload does not post again.
 */
import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isAccountNotFoundError, isCreditsError, isCreditsInputError, type CreditsClient } from '../client';
import { expiredAgain, formatCount, formatPrice, formatUtcDate, plural } from '../display';
import type { AccountSummary, ChangeCreditTierInput, VoidRejection } from '../domain/wire-contract';
import type { Rules, TierRule } from '../ruleset';
import type { AdminAccess, AdminSession, Caller } from './access';
import { HttpError, badRequest } from './errors';
import { html, type SafeHtml } from './html';
import type { DisplayNames } from './names';
import { wantsJson } from './negotiate';
import { accountPath, layout } from './pages';

/** An action's answer as the page shows it. */
export interface ActionOutcome {
  /** True when the workflow did it; false for a refusal. */
  ok: boolean;
  /** The answer or the refusal, in words. */
  text: string;
}

/** What a tier change will do, as its confirm page states it: the words, and the numbers the change is held to. */
export interface TierPreview extends ActionOutcome {
  /** For a change that may go ahead: when it takes effect, what it charges and grants. */
  expect?: NonNullable<ChangeCreditTierInput['expect']>;
}

/** What the action routes need from the server. */
export interface ActionDeps {
  client: CreditsClient;
  access: AdminAccess;
  /** The rules the account's cycle is priced with, if they can be read. */
  rulesFor(summary: AccountSummary): Rules | undefined;
  namesFor(summary: AccountSummary): DisplayNames;
  log(message: string): void;
}

const IDEMPOTENCY_KEY = /^[A-Za-z0-9_-]{8,64}$/;
const WHOLE = /^\d{1,9}$/;
/** Answers remembered per idempotency key: enough for double submits, bounded in memory. */
const MAX_REMEMBERED = 2000;
const ACTIONS = ['feature', 'agent', 'tier', 'grant', 'void'] as const;
type ActionName = (typeof ACTIONS)[number];
const OPERATORS_ONLY: readonly ActionName[] = ['grant', 'void'];

const VOID_WORDS: Record<VoidRejection, string> = {
  unknown_usage: 'no usage with that key is known to this account',
  earlier_cycle: 'that usage was charged in an earlier cycle, which is settled',
  usage_refused: 'that usage was refused and charged nothing',
  nothing_charged: 'that usage cost no credits',
  void_window_passed: 'that usage is older than the usages the account keeps voidable',
  call_not_voidable: 'that key names a Voice Agent call, which cannot be voided',
};

/** A fresh idempotency key for a form. */
export function newIdempotencyKey(): string {
  return `adm_${randomBytes(16).toString('base64url')}`;
}

/** What changing to `target` (a tier id, or null to cancel) would do: the confirm page's words. */
export function tierChangePreview(summary: AccountSummary, tiers: readonly TierRule[], target: string | null, currency: string): TierPreview {
  const current = summary.tier ? tiers.find((t) => t.id === summary.tier?.id) : undefined;
  const wanted = target === null ? undefined : tiers.find((t) => t.id === target);
  if (target !== null && !wanted) return { ok: false, text: `There is no tier ${target}.` };
  const from = formatUtcDate(summary.cycle.end);
  if (wanted && (!current || wanted.rank > current.rank)) {
    return {
      ok: true,
      text: `${current ? 'Upgrade' : 'Buy'} ${wanted.name}: ${formatPrice(wanted.priceCents, currency)} charged now, and ${formatCount(wanted.credits)} credits added at once (no proration; the cycle does not move).`,
      expect: { effective: 'now', chargedCents: wanted.priceCents, creditsGranted: wanted.credits },
    };
  }
  if (wanted && current && wanted.id === current.id) {
    return summary.pendingTier
      ? { ok: true, text: `Stay on ${wanted.name}: nothing charged; the change waiting for ${from} is cancelled.`, expect: { effective: 'now', chargedCents: 0, creditsGranted: 0 } }
      : { ok: false, text: `You are already on ${wanted.name}.` };
  }
  if (!wanted && !current) return { ok: false, text: 'There is no subscription to cancel.' };
  const what = wanted ? `Downgrade to ${wanted.name} (${formatPrice(wanted.priceCents, currency)}/month)` : 'Cancel the subscription';
  return {
    ok: true,
    text: `${what} from ${from}: nothing charged now; ${current?.name ?? 'the current tier'} stays until then.`,
    expect: { effective: 'next_cycle', chargedCents: 0, creditsGranted: 0 },
  };
}

/** Remembers the first answer of each idempotency key (including one still running). */
class Answered {
  private readonly answers = new Map<string, Promise<ActionOutcome>>();

  once(key: string, run: () => Promise<ActionOutcome>): Promise<ActionOutcome> {
    const known = this.answers.get(key);
    if (known) return known;
    const answer = run();
    this.answers.set(key, answer);
    // A failure that is not an answer (service down) may be retried with the same form.
    answer.catch(() => this.answers.delete(key));
    if (this.answers.size > MAX_REMEMBERED) {
      const oldest = this.answers.keys().next();
      if (oldest.done !== true) this.answers.delete(oldest.value);
    }
    return answer;
  }
}

function field(body: Record<string, unknown>, name: string): string {
  const value = body[name];
  return typeof value === 'string' ? value.trim() : '';
}

function refusal(text: string): ActionOutcome {
  return { ok: false, text };
}

/** The tier change the confirm form was reviewed with (its hidden fields), or undefined when they are missing or malformed. */
function shownTierChange(body: Record<string, unknown>): TierPreview['expect'] {
  const effective = field(body, 'effective');
  const [charged, granted] = [field(body, 'chargedCents'), field(body, 'creditsGranted')];
  if ((effective !== 'now' && effective !== 'next_cycle') || !WHOLE.test(charged) || !WHOLE.test(granted)) return undefined;
  return { effective, chargedCents: Number(charged), creditsGranted: Number(granted) };
}

/** Runs one validated action through the client and puts its answer in words. */
async function perform(deps: ActionDeps, action: ActionName, accountId: string, body: Record<string, unknown>, idem: string): Promise<ActionOutcome> {
  const summary = await deps.client.summary(accountId);
  const names = deps.namesFor(summary);
  switch (action) {
    case 'feature': {
      const feature = field(body, 'feature');
      const enabled = field(body, 'enabled');
      if (!summary.features.some((f) => f.feature === feature)) return refusal('That feature cannot be switched on this account.');
      if (enabled !== 'on' && enabled !== 'off') return refusal('Choose on or off.');
      const answer = await deps.client.setFeatureEnabled(accountId, { feature, enabled: enabled === 'on' }, { updateId: idem });
      return { ok: true, text: `${names.feature(answer.feature)} is now ${answer.enabled ? 'on' : 'off'}.` };
    }
    case 'agent': {
      const agentId = field(body, 'agentId');
      const active = field(body, 'active');
      if (agentId === '') return refusal('Give the Voice Agent id.');
      if (active !== 'yes' && active !== 'no') return refusal('Choose activate or deactivate.');
      const answer = await deps.client.setVoiceAgentActive(accountId, { agentId, active: active === 'yes' }, { updateId: idem });
      return { ok: true, text: `Voice Agent ${answer.agentId} is now ${answer.active ? 'active' : 'inactive'}.` };
    }
    case 'tier': {
      const tier = field(body, 'tier');
      const rules = deps.rulesFor(summary);
      if (!rules) return refusal('The tiers cannot be read right now; try again later.');
      const target = tier === 'none' ? null : tier;
      const preview = tierChangePreview(summary, rules.tiers, target, names.currency);
      // The change is held to what the confirm page said (the account checks it when it makes
      // the change): a page reviewed before a reset, a new price or another tab's change is
      // refused, never charged otherwise than it read.
      const shown = shownTierChange(body);
      // A change that would now do nothing ("already on Tier 2") may be this very form, sent
      // again to another admin server after it went through: the account knows the request id
      // and answers it as the first time. So it is asked, unless the form is incomplete anyway.
      if (!shown) return preview.ok ? refusal('This confirmation is incomplete; review the change again from the account page.') : preview;
      let answer;
      try {
        answer = await deps.client.changeCreditTier(accountId, { tier: target, expect: shown }, { updateId: idem });
      } catch (err) {
        // Not a request the account has answered: what the page tells is the refusal.
        if (!preview.ok && isCreditsInputError(err)) return preview;
        if (isCreditsInputError(err) && err.problem === 'TierChangeDiffers') {
          return refusal(`What this change does has changed since you reviewed it, so nothing was changed or charged. It would now be: ${preview.text} Review it again to go ahead.`);
        }
        throw err;
      }
      // The tier the answer names: the first submission's, for a form sent again.
      const chosen = answer.tier === undefined ? target : answer.tier;
      const name = chosen === null ? 'No subscription' : names.tier(chosen);
      if (answer.effective === 'next_cycle') return { ok: true, text: `${name} from ${formatUtcDate(summary.cycle.end)}; nothing was charged now.` };
      if (answer.chargedCents > 0) {
        return { ok: true, text: `${name}: ${formatPrice(answer.chargedCents, names.currency)} charged now; ${formatCount(answer.creditsGranted)} credits added.` };
      }
      return { ok: true, text: `${name} kept; the waiting change is cancelled and nothing was charged.` };
    }
    case 'grant': {
      const credits = field(body, 'credits');
      const cycles = field(body, 'validForCycles') || '1';
      if (!WHOLE.test(credits)) return refusal('Credits must be a whole number.');
      if (!WHOLE.test(cycles)) return refusal('Cycles must be a whole number.');
      const answer = await deps.client.grantCredits(accountId, {
        credits: Number(credits),
        reason: field(body, 'reason'),
        validForCycles: Number(cycles),
        idempotencyKey: idem,
      });
      // A repeated key answers with the first grant: its numbers are not this form's to state.
      if (answer.payloadMismatch === true) return refusal('This form was already used for another grant; nothing was granted. Reload the account page for a new form.');
      if (answer.duplicate) return { ok: true, text: `This grant was already made (expiring ${formatUtcDate(answer.expiresAt)}); nothing was granted again.` };
      return { ok: true, text: `Granted ${plural(Number(credits), 'credit')}, expiring ${formatUtcDate(answer.expiresAt)}.` };
    }
    case 'void': {
      const usageKey = field(body, 'usageKey');
      if (usageKey === '') return refusal('Give the idempotency key the usage was recorded with.');
      const answer = await deps.client.voidUsage(accountId, { idempotencyKey: usageKey, reason: field(body, 'reason') });
      if (!answer.voided) return refusal(`Not voided: ${answer.reason ? VOID_WORDS[answer.reason] : 'the account refused'}.`);
      if (answer.duplicate) return { ok: true, text: `Already voided earlier (that void returned ${plural(answer.credits, 'credit')}); nothing was returned again.` };
      return { ok: true, text: `Voided: ${plural(answer.credits, 'credit')} returned${expiredAgain(answer.expired)}; ${formatCount(answer.balance)} available.` };
    }
  }
}

/** The refusal in words for errors that are answers, rethrowing the others. */
function asRefusal(err: unknown): ActionOutcome {
  if (isAccountNotFoundError(err)) throw err;
  if (isCreditsInputError(err)) return refusal(`Refused: ${err.message}.`);
  if (isCreditsError(err) && err.code !== 'unavailable') return refusal(`Refused: ${err.message}.`);
  throw err;
}

function hiddenFields(session: AdminSession | undefined, idem: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${session?.csrf ?? ''}"><input type="hidden" name="idem" value="${idem}">`;
}

/** The "Manage" section of the account page for `caller`, with `flash`, the last action's answer (see `AdminAccess.takeFlash`). */
export function actionsSection(
  summary: AccountSummary,
  names: DisplayNames,
  rules: Rules | undefined,
  caller: Caller,
  session: AdminSession | undefined,
  flash?: ActionOutcome,
): SafeHtml {
  const base = `${accountPath(summary.accountId)}/actions`;
  const result = flash
    ? html`<p class="banner ${flash.ok ? 'banner-ok' : 'banner-warning'}" role="status" id="action-result" data-ok="${String(flash.ok)}">${flash.text}</p>`
    : null;
  const switches = summary.features.map(
    (f) => html`<form class="inline" method="post" action="${base}/feature">${hiddenFields(session, newIdempotencyKey())}
    <input type="hidden" name="feature" value="${f.feature}"><input type="hidden" name="enabled" value="${f.enabled ? 'off' : 'on'}">
    <span>${names.feature(f.feature)}: <strong data-switch="${f.feature}">${f.enabled ? 'On' : 'Off'}</strong></span>
    <button type="submit" id="switch-${f.feature}">Turn ${f.enabled ? 'off' : 'on'}</button></form>`,
  );
  const tiers = (rules?.tiers ?? []).map((t) => html`<option value="${t.id}">${t.name}: ${formatPrice(t.priceCents, names.currency)}/month, ${formatCount(t.credits)} credits</option>`);
  const ops =
    caller.role === 'operator'
      ? html`<h3>Grant credits (billing ops)</h3>
  <form class="inline" method="post" action="${base}/grant" id="grant-form">${hiddenFields(session, newIdempotencyKey())}
    <label class="field">Credits<input name="credits" type="number" min="1" max="10000000" required></label>
    <label class="field">Valid for cycles<input name="validForCycles" type="number" min="1" value="1" required></label>
    <label class="field">Reason<input name="reason" maxlength="500" required></label>
    <button type="submit">Grant</button></form>
  <h3>Void a usage (billing ops)</h3>
  <form class="inline" method="post" action="${base}/void" id="void-form">${hiddenFields(session, newIdempotencyKey())}
    <label class="field">Usage idempotency key<input name="usageKey" required maxlength="200"></label>
    <label class="field">Reason<input name="reason" maxlength="500" required></label>
    <button type="submit">Void</button></form>`
      : null;
  return html`<section class="card" id="actions">
  <h2>Manage</h2>
  ${result}
  <h3>AI Credit settings</h3>
  ${switches}
  <h3>Voice Agents</h3>
  <form class="inline" method="post" action="${base}/agent" id="agent-form">${hiddenFields(session, newIdempotencyKey())}
    <label class="field">Agent id<input name="agentId" required maxlength="128"></label>
    <label class="field">Set<select name="active"><option value="yes">Activate</option><option value="no">Deactivate</option></select></label>
    <button type="submit">Apply</button></form>
  <h3>AI credit subscription</h3>
  <form class="inline" method="get" action="${base}/tier" id="tier-form"><input type="hidden" name="idem" value="${newIdempotencyKey()}">
    <label class="field">Tier<select name="tier">${tiers}<option value="none">No subscription (cancel)</option></select></label>
    <button type="submit">Review</button></form>
  ${ops}
</section>`;
}

function tierConfirmPage(summary: AccountSummary, preview: TierPreview, tier: string, idem: string, session: AdminSession | undefined): string {
  const path = accountPath(summary.accountId);
  const shown = preview.expect;
  const confirm =
    preview.ok && shown
      ? html`<form method="post" action="${path}/actions/tier">${hiddenFields(session, idem)}<input type="hidden" name="tier" value="${tier}">
    <input type="hidden" name="effective" value="${shown.effective}"><input type="hidden" name="chargedCents" value="${String(shown.chargedCents)}"><input type="hidden" name="creditsGranted" value="${String(shown.creditsGranted)}">
    <button class="button-primary" type="submit" id="confirm-tier">Confirm</button> <a href="${path}">Cancel</a></form>`
    : html`<p><a href="${path}">Back to the account</a></p>`;
  const body = html`<section class="card" id="tier-confirm">
  <h1>Confirm the subscription change</h1>
  <p id="tier-preview">${preview.text}</p>
  ${confirm}
</section>`;
  return layout(`Confirm · ${summary.accountId}`, html`Settings › AI Credits › ${summary.accountId}`, body);
}

/** Adds the confirm page and the action posts to `app`. */
export function registerActionRoutes(app: FastifyInstance, deps: ActionDeps, checkedAccountId: (id: string) => string): void {
  const answered = new Answered();

  app.get<{ Params: { accountId: string }; Querystring: Record<string, unknown> }>('/accounts/:accountId/actions/tier', async (request, reply) => {
    const accountId = checkedAccountId(request.params.accountId);
    const idem = field(request.query, 'idem');
    if (!IDEMPOTENCY_KEY.test(idem)) throw badRequest('this form is incomplete; reload the account page and try again');
    const tier = field(request.query, 'tier');
    const summary = await deps.client.summary(accountId);
    const rules = deps.rulesFor(summary);
    const preview = rules
      ? tierChangePreview(summary, rules.tiers, tier === 'none' ? null : tier, deps.namesFor(summary).currency)
      : refusal('The tiers cannot be read right now; try again later.');
    return reply.type('text/html; charset=utf-8').send(tierConfirmPage(summary, preview, tier, idem, deps.access.sessionOf(request)));
  });

  app.post<{ Params: { accountId: string; action: string }; Body: Record<string, unknown> }>(
    '/accounts/:accountId/actions/:action',
    async (request: FastifyRequest<{ Params: { accountId: string; action: string }; Body: Record<string, unknown> }>, reply: FastifyReply) => {
      const accountId = checkedAccountId(request.params.accountId);
      const action = ACTIONS.find((a) => a === request.params.action);
      if (!action) throw new HttpError(404, 'not_found', `there is no action ${JSON.stringify(request.params.action.slice(0, 40))}`);
      const body = request.body ?? {};
      deps.access.checkCsrf(request, body.csrf);
      const caller = deps.access.callerOf(request);
      if (OPERATORS_ONLY.includes(action) && caller.role !== 'operator') {
        deps.log(`admin access refused: customer of ${accountId} tried the operators' action ${action}`);
        throw new HttpError(403, 'operators_only', 'Only billing operators can grant credits or void usage.');
      }
      const idem = field(body, 'idem');
      if (!IDEMPOTENCY_KEY.test(idem)) throw badRequest('this form is incomplete; reload the account page and try again');
      const outcome = await answered.once(`${accountId}\n${action}\n${idem}`, () => perform(deps, action, accountId, body, idem).catch(asRefusal));
      if (wantsJson(request)) return reply.code(outcome.ok ? 200 : 422).send(outcome);
      await deps.access.setFlash(request, { accountId, ok: outcome.ok, text: outcome.text });
      return reply.redirect(`${accountPath(accountId)}#actions`, 303);
    },
  );
}
