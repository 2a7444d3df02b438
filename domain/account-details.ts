/**
 * The account's details that are not credits: its admins (who receive low-credit notices) and
 * its tags (which make it eligible for promotions). Both can change while the account runs;
 * each change writes a ledger entry saying what was added and removed.
 */
import type { SetAdminsResult, SetTagsResult } from './wire-contract';
import type { AccountState } from './account-state';
import { logEntry } from './outbox';
import { grantOpenPromotions } from './cycle-rollover';

/**
 * What replacing `before` by `list` (without repeats, in first-seen order, as the start
 * input's lists are kept) adds and removes. The same items in another order is no change.
 */
function compare(before: readonly string[], list: readonly string[]): { after: string[]; changed: boolean; note: (what: string) => string } {
  const after = [...new Set(list)];
  const added = after.filter((x) => !before.includes(x));
  const removed = before.filter((x) => !after.includes(x));
  const note = (what: string) => `${what}: added ${added.join(', ') || 'none'}; removed ${removed.join(', ') || 'none'}`;
  return { after, changed: added.length > 0 || removed.length > 0, note };
}

/** Replace the account's admins (the next low-credit notice goes to the new list). */
export function setAdmins(state: AccountState, admins: readonly string[], nowMs: number): SetAdminsResult {
  const { after, changed, note } = compare(state.admins, admins);
  if (!changed) return { admins: [...state.admins], changed: false };
  state.admins = after;
  logEntry(state, nowMs, 'admins_change', 0, { note: note('admins') });
  return { admins: [...after], changed: true };
}

/**
 * Replace the account's tags. A tag that makes the account eligible for a promotion whose
 * window is still open grants that promotion at once, expiring at the window's end, exactly as
 * for an account starting inside the window; a promotion is still granted once per account,
 * and removing a tag takes nothing back.
 */
export function setTags(state: AccountState, tags: readonly string[], nowMs: number): SetTagsResult {
  const { after, changed, note } = compare(state.tags, tags);
  if (!changed) return { tags: [...state.tags], changed: false, promotionsGranted: [], creditsGranted: 0 };
  state.tags = after;
  const promotionsBefore = state.promotionsGranted.length;
  const grantsBefore = state.grants.length;
  grantOpenPromotions(state, nowMs);
  const promotions = state.promotionsGranted.slice(promotionsBefore);
  const credits = state.grants.slice(grantsBefore).reduce((sum, g) => sum + g.amount, 0);
  const granted = promotions.length > 0 ? `; promotion ${promotions.join(', ')} granted` : '';
  // 0 credits: the promotion's `grant` entry carries them, so they are counted once.
  logEntry(state, nowMs, 'tags_change', 0, { note: `${note('tags')}${granted}` });
  return { tags: [...after], changed: true, promotionsGranted: promotions, creditsGranted: credits };
}
