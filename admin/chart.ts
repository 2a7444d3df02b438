/**
 * Server-rendered SVG graphics: the usage-by-feature bar chart and the balance bar. Plain SVG
 * with sizes in attributes (not CSS), so the page needs no client-side script and the
 * Content-Security-Policy can forbid inline styles, and a screenshot shows exactly what the
 * server computed.
 */
import { formatCount } from '../display';
import type { AlertState } from '../domain/wire-contract';
import { html, type SafeHtml } from './html';
import { BANNER_COLOURS, BAR_COLOUR } from './styles';

/** One bar of the usage chart. */
export interface ChartBar {
  /** Feature id, kept on the bar as `data-feature` for tests and tooling. */
  id: string;
  label: string;
  credits: number;
}

const WIDTH = 720;
const LABEL_WIDTH = 200;
const VALUE_WIDTH = 120;
const ROW = 38;
const BAR = 22;
/** Colour of the empty part of a bar (its track). */
export const TRACK_COLOUR = '#eef0f4';

/** Width in user units of a bar worth `credits` when the longest is worth `max`. */
export function barWidth(credits: number, max: number, full: number): number {
  if (max <= 0 || credits <= 0) return 0;
  // A tiny non-zero usage still gets a visible sliver.
  return Math.max(2, Math.round((credits / max) * full * 10) / 10);
}

/** Horizontal bar chart of credits by feature, longest bar scaled to the full width. */
export function usageChart(bars: readonly ChartBar[], title: string): SafeHtml {
  const full = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const max = Math.max(0, ...bars.map((b) => b.credits));
  const height = Math.max(1, bars.length) * ROW + 8;
  const rows = bars.map((bar, i) => {
    const y = 4 + i * ROW;
    const width = barWidth(bar.credits, max, full);
    const mid = y + ROW / 2;
    return html`<g class="row">
      <text x="0" y="${mid}" dominant-baseline="middle">${bar.label}</text>
      <rect x="${LABEL_WIDTH}" y="${mid - BAR / 2}" width="${full}" height="${BAR}" rx="4" fill="${TRACK_COLOUR}"></rect>
      <rect class="bar" data-feature="${bar.id}" data-credits="${bar.credits}" x="${LABEL_WIDTH}" y="${mid - BAR / 2}" width="${width}" height="${BAR}" rx="4" fill="${BAR_COLOUR}"></rect>
      <text class="value" x="${WIDTH}" y="${mid}" text-anchor="end" dominant-baseline="middle">${formatCount(bar.credits)} credits</text>
    </g>`;
  });
  return html`<svg class="chart" role="img" aria-labelledby="usage-chart-title" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" xmlns="http://www.w3.org/2000/svg">
    <title id="usage-chart-title">${title}</title>
    ${rows}
  </svg>`;
}

/** Colour of the balance bar for an alert state. */
function progressColour(alert: AlertState): string {
  return alert === 'ok' ? BAR_COLOUR : BANNER_COLOURS[alert].border;
}

/** A thin bar showing the share of the cycle's credits used. */
export function progressBar(usedPercent: number, alert: AlertState, label: string): SafeHtml {
  const pct = Math.min(100, Math.max(0, usedPercent));
  return html`<svg class="progress" role="img" aria-label="${label}" viewBox="0 0 100 10" preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg">
    <rect x="0" y="0" width="100" height="10" fill="${TRACK_COLOUR}"></rect>
    <rect class="used" x="0" y="0" width="${pct}" height="10" fill="${progressColour(alert)}"></rect>
  </svg>`;
}
