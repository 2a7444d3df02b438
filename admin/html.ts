/**
 * A tiny HTML template helper: the `html` tag escapes every interpolated value unless it is
 * already markup made by this helper, so data from the account (ids, labels, feature names,
 * grant reasons typed by billing ops) can never inject markup into the admin page, nor
 * reorder or hide its text with invisible formatting characters.
 */
import { showableText } from '../display/unprintable';

/** Markup produced by {@link html} or {@link raw}: interpolated as it is, never escaped again. */
export class SafeHtml {
  constructor(readonly markup: string) {}

  /** The markup itself. */
  toString(): string {
    return this.markup;
  }
}

/** What may be interpolated: text (escaped), markup, lists of either, or nothing. */
export type HtmlValue = SafeHtml | string | number | boolean | null | undefined | readonly HtmlValue[];

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

function render(value: HtmlValue): string {
  if (value instanceof SafeHtml) return value.markup;
  if (Array.isArray(value)) return value.map(render).join('');
  // null, undefined and false render as nothing, so `${cond && html`...`}` reads naturally.
  if (value === null || value === undefined || value === false) return '';
  // A right-to-left override or a zero-width character in a grant's reason would reorder or
  // hide what the page says around it: such characters are written out visibly (`\u202e`).
  return escapeHtml(showableText(String(value)));
}

/** Tagged template: `html\`<td>${label}</td>\`` with `label` escaped. */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new SafeHtml(out);
}

/** Trusted markup, for constants only (never for data). */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}
