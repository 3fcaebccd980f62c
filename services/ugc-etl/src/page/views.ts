/**
 * The analytics page's markup. Every value goes through `html` of @cinema/html (escaped), the
 * chart data rides in `data-chart` attributes (escaped JSON) that the page's own script hands to
 * ECharts; each chart has a table of the same numbers next to it for screen readers.
 */
import { html, type Html } from '@cinema/html';
import type {
  ActiveViewersChart,
  FilmsChart,
  FullViewChart,
  PageViewChart,
  PauseHeatmapChart,
  QualityChart,
  SearchChart,
} from '../domain/charts';

export interface ViewContext {
  csrf: string;
  user?: { id: string; email?: string };
}

const P = '/analytics';
const csrfField = (ctx: ViewContext) =>
  html`<input type="hidden" name="_csrf" value="${ctx.csrf}" />`;

export function layout(ctx: ViewContext, title: string, body: Html, scripts = false): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>${title} · Cinema analytics</title>
        <link rel="stylesheet" href="${P}/static/analytics.css" />
        ${
          scripts
            ? html`<script src="${P}/static/echarts.min.js" defer></script>
                <script src="${P}/static/analytics.js" defer></script>`
            : ''
        }
      </head>
      <body>
        ${
          ctx.user
            ? html`<header>
                <a class="brand" href="${P}/">Cinema analytics</a>
                <span class="who">${ctx.user.email ?? ctx.user.id}</span>
                <form method="post" action="${P}/logout">
                  ${csrfField(ctx)}<button class="secondary">Log out</button>
                </form>
              </header>`
            : ''
        }
        <main>${body}</main>
      </body>
    </html>`.value;
}

export const message = (ctx: ViewContext, title: string, text: string) =>
  layout(
    ctx,
    title,
    html`<h1>${title}</h1>
      <p role="alert">${text}</p>`,
  );

export const login = (ctx: ViewContext, o: { email?: string; error?: string; next: string }) =>
  layout(
    ctx,
    'Log in',
    html`<h1>Cinema analytics</h1>
      <p>Log in with an <code>admin</code> or <code>super_user</code> account.</p>
      ${o.error ? html`<p class="error" role="alert">${o.error}</p>` : ''}
      <form method="post" action="${P}/login" class="login">
        ${csrfField(ctx)}<input type="hidden" name="next" value="${o.next}" />
        <label
          >E-mail
          <input
            name="email"
            type="email"
            autocomplete="username"
            required
            value="${o.email ?? ''}"
        /></label>
        <label
          >Password <input name="password" type="password" autocomplete="current-password" required
        /></label>
        <button>Log in</button>
      </form>`,
  );

export interface Dashboard {
  /** What the pickers show. */
  picked: { preset: string; from: string; to: string; film: string };
  /** The range used (whole hours, UTC). */
  range: { from: string; to: string };
  error?: string;
  films: FilmsChart;
  heatmap: PauseHeatmapChart;
  quality: QualityChart;
  fullViews: FullViewChart;
  pageViews: PageViewChart;
  searches: SearchChart;
  active: ActiveViewersChart;
}

export const PRESETS: Array<[string, string]> = [
  ['1', 'Last hour'],
  ['6', 'Last 6 hours'],
  ['24', 'Last 24 hours'],
  ['168', 'Last 7 days'],
  ['720', 'Last 30 days'],
  ['custom', 'From … to … (UTC)'],
];

const short = (id: string) => id.slice(0, 8);
const pct = (r: number) => `${(r * 100).toFixed(1)} %`;
const num = (v: number) => v.toLocaleString('en-US');
const time = (iso: string) => iso.slice(0, 16).replace('T', ' ');

function chart(id: string, kind: string, label: string, data: unknown, empty: boolean): Html {
  return empty
    ? html`<p class="empty" id="${id}-empty">No data in this range.</p>`
    : html`<div
        class="chart"
        id="${id}"
        data-kind="${kind}"
        data-chart="${JSON.stringify(data)}"
        role="img"
        aria-label="${label}"
      ></div>`;
}

function table(
  caption: string,
  head: string[],
  rows: Array<Array<string | number>>,
  max = 50,
): Html {
  const shown = rows.slice(0, max);
  return html`<table>
    <caption>
      ${caption}${rows.length > max ? ` (first ${max} of ${rows.length})` : ''}
    </caption>
    <thead>
      <tr>
        ${head.map((h) => html`<th scope="col">${h}</th>`)}
      </tr>
    </thead>
    <tbody>
      ${
        shown.length
          ? shown.map(
              (r) =>
                html`<tr>
                  ${r.map((c) => html`<td>${typeof c === 'number' ? num(c) : c}</td>`)}
                </tr>`,
            )
          : html`<tr>
              <td colspan="${head.length}">none</td>
            </tr>`
      }
    </tbody>
  </table>`;
}

function section(id: string, title: string, figure: Html, numbers: Html): Html {
  return html`<section aria-labelledby="${id}-title">
    <h2 id="${id}-title">${title}</h2>
    <div class="pair">
      ${figure}
      <div class="numbers">${numbers}</div>
    </div>
  </section>`;
}

export function dashboard(ctx: ViewContext, d: Dashboard): string {
  const { heatmap, quality, fullViews, pageViews, searches, active } = d;
  const filmName = d.picked.film ? `film ${short(d.picked.film)}` : 'all films';
  const body = html`<h1>Viewer analytics</h1>
    <form method="get" action="${P}/" class="pickers" aria-label="Time range and film">
      <label
        >Time range
        <select name="range">
          ${PRESETS.map(
            ([v, l]) =>
              html`<option value="${v}" ${d.picked.preset === v ? html`selected` : ''}>
                ${l}
              </option>`,
          )}
        </select></label
      >
      <label>From (UTC) <input name="from" type="datetime-local" value="${d.picked.from}" /></label>
      <label>To (UTC) <input name="to" type="datetime-local" value="${d.picked.to}" /></label>
      <label
        >Film
        <select name="film">
          <option value="">All films</option>
          ${d.films.films.map(
            (f) =>
              html`<option
                value="${f.film_id}"
                ${d.picked.film === f.film_id ? html`selected` : ''}
              >
                ${f.film_id} (${num(f.events)} events)
              </option>`,
          )}
        </select></label
      >
      <button>Show</button>
    </form>
    ${d.error ? html`<p class="error" role="alert">${d.error}</p>` : ''}
    <p class="range">
      ${time(d.range.from)} – ${time(d.range.to)} UTC, ${filmName}. Film minutes and times are whole
      minutes; the range is widened to whole hours.
    </p>
    ${section(
      'heatmap',
      'Where viewers pause (pauses per minute of the film)',
      chart('heatmap', 'heatmap', `Pause heat map of ${filmName}`, heatmap, !heatmap.cells.length),
      table(
        'Pauses per film and minute (busiest first)',
        ['Film', 'Minute', 'Pauses'],
        [...heatmap.cells]
          .sort((a, b) => b.pauses - a.pauses || a.minute - b.minute)
          .map((c) => [short(c.film_id), c.minute, c.pauses]),
        30,
      ),
    )}
    ${section(
      'quality',
      `Quality switches: ${num(quality.up)} up, ${num(quality.down)} down`,
      chart(
        'quality',
        'quality',
        'Quality switches up and down over time',
        quality,
        !quality.series.length,
      ),
      table(
        'Switches per pair of renditions',
        ['From', 'To', 'Direction', 'Switches'],
        quality.pairs.map((p) => [p.from_quality, p.to_quality, p.direction, p.count]),
      ),
    )}
    ${section(
      'fullviews',
      'Who watches to the end (full-view rate per film)',
      chart(
        'fullviews',
        'fullviews',
        'Full-view rate, best and worst films',
        fullViews,
        !fullViews.top.length,
      ),
      html`${table(
        'Highest full-view rate',
        ['Film', 'Viewers', 'Watched to the end', 'Rate'],
        fullViews.top.map((f) => [short(f.film_id), f.viewers, f.full_viewers, pct(f.rate)]),
      )}${table(
        'Lowest full-view rate',
        ['Film', 'Viewers', 'Watched to the end', 'Rate'],
        fullViews.bottom.map((f) => [short(f.film_id), f.viewers, f.full_viewers, pct(f.rate)]),
      )}`,
    )}
    ${section(
      'pageviews',
      'Catalog page views per endpoint',
      chart(
        'pageviews',
        'pageviews',
        'Catalog page views per endpoint over time',
        pageViews,
        !pageViews.series.length,
      ),
      table(
        'Views per endpoint',
        ['Endpoint', 'Views', '4xx', '5xx'],
        pageViews.endpoints.map((e) => [e.endpoint, e.views, e.client_errors, e.server_errors]),
      ),
    )}
    ${section(
      'searches',
      `Searches: ${num(searches.searches)}, ${num(searches.zero_result_searches)} found nothing`,
      chart('searches', 'searches', 'Most searched queries', searches, !searches.top.length),
      html`${table(
        'Most searched',
        ['Search', 'Query', 'Searches', 'Found nothing'],
        searches.top.map((s) => [s.target, s.query, s.searches, s.zero_results]),
      )}${table(
        'Searches that found nothing',
        ['Search', 'Query', 'Found nothing', 'Searches'],
        searches.zero_results.map((s) => [s.target, s.query, s.zero_results, s.searches]),
      )}`,
    )}
    ${section(
      'active',
      `Active viewers per ${active.bucket_seconds === 60 ? 'minute' : `${active.bucket_seconds / 60} minutes`} (peak ${num(active.peak)})`,
      chart(
        'active',
        'active',
        `Active viewers over time, ${filmName}`,
        active,
        !active.series.length,
      ),
      table(
        'Active viewers (latest first)',
        ['Time (UTC)', 'Viewers'],
        [...active.series].reverse().map((p) => [time(p.t), p.viewers]),
        30,
      ),
    )}`;
  return layout(ctx, 'Viewer analytics', body, true);
}

export const STYLE = `
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f4f5f8; }
header { display: flex; gap: 1rem; align-items: center; padding: .6rem 1.5rem; background: #1d2330; color: #fff; }
header a { color: #fff; font-weight: 600; text-decoration: none; }
header .who { margin-left: auto; opacity: .8; }
header form { margin: 0; }
main { max-width: 78rem; margin: 1rem auto; padding: 0 1.5rem 2rem; }
h1 { font-size: 1.5rem; }
h2 { font-size: 1.1rem; margin: 0 0 .5rem; }
section { background: #fff; border-radius: 8px; box-shadow: 0 1px 4px rgba(0,0,0,.08); padding: 1rem 1.25rem; margin: 1rem 0; }
.pair { display: grid; grid-template-columns: minmax(0, 3fr) minmax(16rem, 2fr); gap: 1.25rem; align-items: start; }
.chart { width: 100%; height: 340px; }
.numbers { max-height: 340px; overflow: auto; }
table { border-collapse: collapse; width: 100%; margin-bottom: .75rem; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding: .25rem 0; }
th, td { text-align: left; padding: .2rem .45rem; border-bottom: 1px solid #e3e6ee; }
td:not(:first-child), th:not(:first-child) { text-align: right; }
.pickers { display: flex; flex-wrap: wrap; gap: .75rem; align-items: end; background: #fff; padding: .75rem 1rem; border-radius: 8px; }
.pickers label { display: flex; flex-direction: column; font-size: .85rem; gap: .2rem; }
.pickers select[name=film] { max-width: 26rem; }
.login { display: flex; flex-direction: column; gap: .75rem; max-width: 22rem; }
.login label { display: flex; flex-direction: column; gap: .2rem; }
button { padding: .4rem .9rem; border: 0; border-radius: 4px; background: #1a55c4; color: #fff; cursor: pointer; }
button.secondary { background: #4a5266; }
.error { background: #fde8e8; border: 1px solid #e89a9a; padding: .5rem .75rem; border-radius: 4px; }
.empty { color: #5b6375; }
.range { color: #4a5266; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } }
`;
