/**
 * The admin page's stylesheet, served as a file (`/assets/admin.css`) rather than inline so the
 * Content-Security-Policy can forbid inline styles and scripts altogether. No build step: it is
 * plain CSS in a string.
 */

/**
 * Banner colours by alert state. Exported because the end-to-end test looks for these exact
 * colours in a screenshot, so a restyle that drops the banner's colour fails loudly.
 */
export const BANNER_COLOURS = {
  warning: { background: '#fef3c7', border: '#d97706', text: '#78350f' },
  exhausted: { background: '#fee2e2', border: '#dc2626', text: '#7f1d1d' },
} as const;

/** Fill colour of the usage chart's bars and of the balance bar while all is well. */
export const BAR_COLOUR = '#4f46e5';

/** The stylesheet. */
export const ADMIN_CSS = `
:root {
  --ink: #1c2230; --muted: #5f6b7a; --line: #e3e7ee; --page: #f4f6f9; --card: #ffffff;
  --accent: ${BAR_COLOUR}; --accent-soft: #eef0fe; --ok: #15803d;
  font-family: -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, "DejaVu Sans", sans-serif;
  color: var(--ink); background: var(--page); font-size: 15px; line-height: 1.45;
}
* { box-sizing: border-box; }
body { margin: 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
.topbar { background: #1f2430; color: #fff; padding: 12px 32px; display: flex; align-items: center; gap: 12px; }
.topbar .brand { font-weight: 600; letter-spacing: 0.2px; color: #fff; }
.topbar .crumbs { color: #aab3c2; font-size: 14px; }
.topbar .crumbs a { color: #d6dbe4; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 32px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 14px; }
.subtitle { color: var(--muted); margin: 0 0 20px; }
.subtitle code { font-size: 14px; }
.grid { display: grid; grid-template-columns: 3fr 2fr; gap: 20px; margin-bottom: 20px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 20px 22px;
  box-shadow: 0 1px 2px rgba(16, 24, 40, 0.04); margin-bottom: 20px; }
.grid > .card { margin-bottom: 0; }
.banner { border-radius: 10px; padding: 14px 18px; margin-bottom: 20px; border: 1px solid; border-left-width: 6px; }
.banner strong { display: block; font-size: 16px; margin-bottom: 2px; }
.banner p { margin: 0; }
.banner-warning { background: ${BANNER_COLOURS.warning.background}; border-color: ${BANNER_COLOURS.warning.border};
  color: ${BANNER_COLOURS.warning.text}; }
.banner-exhausted { background: ${BANNER_COLOURS.exhausted.background}; border-color: ${BANNER_COLOURS.exhausted.border};
  color: ${BANNER_COLOURS.exhausted.text}; }
/* An action's answer (admin/actions.ts); a refusal uses the warning colours. */
.banner-ok { background: #ecfdf3; border-color: #12b76a; color: #054f31; }
.label { color: var(--muted); font-size: 13px; text-transform: uppercase; letter-spacing: 0.5px; }
.remaining { font-size: 44px; font-weight: 700; line-height: 1.1; margin: 4px 0 2px; }
.remaining small { font-size: 16px; font-weight: 500; color: var(--muted); }
.progress { display: block; width: 100%; height: 10px; margin: 12px 0 6px; border-radius: 5px; overflow: hidden; }
.stats { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; margin: 16px 0 0; }
.stats div { background: var(--page); border-radius: 8px; padding: 8px 10px; }
.stats dt { color: var(--muted); font-size: 12px; }
.stats dd { margin: 0; font-weight: 600; font-size: 17px; }
.cycle { margin-top: 14px; color: var(--muted); }
.cycle strong { color: var(--ink); }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 8px 16px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
.pending { display: inline-block; margin-top: 2px; background: var(--accent-soft); color: #3730a3; border-radius: 6px;
  padding: 1px 8px; font-size: 13px; }
table { width: 100%; border-collapse: collapse; font-size: 14px; }
th { text-align: left; color: var(--muted); font-weight: 500; font-size: 13px; border-bottom: 1px solid var(--line); padding: 6px 8px; }
td { border-bottom: 1px solid var(--line); padding: 8px; vertical-align: top; }
tr:last-child td { border-bottom: none; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.chart { display: block; width: 100%; max-width: 720px; height: auto; margin-bottom: 12px; }
.chart text { font-size: 13px; fill: var(--ink); }
.chart .value { fill: var(--muted); }
.badge { display: inline-block; border-radius: 999px; padding: 1px 9px; font-size: 12px; font-weight: 600; }
.badge-on, .badge-read { background: #dcfce7; color: var(--ok); }
.badge-off { background: #eceff3; color: var(--muted); }
.badge-warning { background: ${BANNER_COLOURS.warning.background}; color: ${BANNER_COLOURS.warning.text}; }
.badge-exhausted { background: ${BANNER_COLOURS.exhausted.background}; color: ${BANNER_COLOURS.exhausted.text}; }
.badge-unread { background: var(--accent-soft); color: #3730a3; }
.notifications { list-style: none; margin: 0; padding: 0; }
.notifications li { display: flex; gap: 14px; align-items: flex-start; padding: 12px 0; border-bottom: 1px solid var(--line); }
.notifications li:last-child { border-bottom: none; }
.notifications .body { flex: 1; }
.notifications .meta { color: var(--muted); font-size: 13px; }
.notifications li.unread .headline { font-weight: 600; }
button, .button { font: inherit; font-size: 14px; border: 1px solid var(--line); background: #fff; color: var(--ink);
  border-radius: 7px; padding: 6px 12px; cursor: pointer; display: inline-block; }
button:hover, .button:hover { border-color: var(--accent); text-decoration: none; }
.button-primary { background: var(--accent); border-color: var(--accent); color: #fff; }
.button-primary:hover { background: #4338ca; }
form.inline { display: flex; gap: 10px; align-items: flex-end; flex-wrap: wrap; }
label.field { display: flex; flex-direction: column; gap: 4px; font-size: 13px; color: var(--muted); }
input { font: inherit; font-size: 14px; border: 1px solid var(--line); border-radius: 7px; padding: 6px 10px; }
.empty { color: var(--muted); margin: 0; }
.hint { color: var(--muted); font-size: 13px; margin: 10px 0 0; }
.error-card { max-width: 640px; }
.error-card .code { color: var(--muted); font-size: 13px; }
@media (max-width: 820px) { .grid { grid-template-columns: 1fr; } .stats { grid-template-columns: repeat(2, 1fr); } }
`;
