/**
 * The ops pages: trace search, a trace's waterfall, log search. Every value from Jaeger,
 * Elasticsearch or the query string goes through the escaping `html` template; the only numbers
 * written into `style` attributes are the bars' computed percentages and a hue from a hash.
 */
import { html, Html } from '@cinema/html';
import {
  formatDuration,
  LEVELS,
  LOOKBACKS,
  type LogPage,
  type TraceSummary,
  type Waterfall,
  type WaterfallRow,
} from '../domain/ops';
import { layout, type ViewContext } from './views';

const STYLE = `
.ops-tabs{display:flex;gap:1rem;margin-bottom:1rem}.ops-tabs a.on{font-weight:700;text-decoration:none;color:#1d2330}
form.ops{display:flex;flex-wrap:wrap;gap:.6rem 1rem;align-items:flex-end}
form.ops label{display:block;font-size:.85em;font-weight:600;margin-bottom:.15rem}
form.ops input[name=q]{min-width:18rem}
.svc{display:inline-block;width:.75rem;height:.75rem;border-radius:2px;margin-right:.35rem;vertical-align:middle}
table.wf td{padding:.25rem .5rem;font-size:.9em}table.wf td.name{width:38%;white-space:nowrap;overflow:hidden;text-overflow:ellipsis;max-width:0}
.track{position:relative;height:14px;background:#f0f2f5;border-radius:2px}
.track .span-bar{position:absolute;top:1px;height:12px;border-radius:2px;min-width:2px}
tr.err td.name,tr.err td.dur,.err{color:#c42424}tr.err .span-bar{background:#c42424 !important}
details.attrs{margin:.2rem 0 .4rem}details.attrs table{font-size:.85em;box-shadow:none}
details.attrs td{font-family:ui-monospace,monospace;word-break:break-all}
td.msg{font-family:ui-monospace,monospace;font-size:.85em;word-break:break-word}
.lvl-error,.lvl-fatal{color:#c42424;font-weight:600}.lvl-warn{color:#a65f00;font-weight:600}
.mono{font-family:ui-monospace,monospace;font-size:.85em}
`;

/** A stable hue per service name, so one service has one colour on every page. */
export function hueOf(name: string): number {
  let h = 0;
  for (const c of name) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}

const swatch = (service: string) =>
  html`<span class="svc" style="background:hsl(${hueOf(service)},55%,55%)"></span>`;

/** Microseconds since the epoch -> "2026-12-01 09:30:12.345". */
const when = (us: number) => new Date(us / 1000).toISOString().replace('T', ' ').slice(0, 23);

/** A log search around a trace: five minutes either side of its spans. */
export function logsHref(
  traceId: string,
  around: { start: number; end: number },
  spanId?: string,
): string {
  const pad = 5 * 60_000;
  const params = new URLSearchParams({
    traceId,
    ...(spanId ? { spanId } : {}),
    from: new Date(around.start - pad).toISOString(),
    to: new Date(around.end + pad).toISOString(),
  });
  return `/admin/ops/logs?${params}`;
}

export const traceHref = (traceId: string, spanId?: string) =>
  `/admin/ops/traces/${encodeURIComponent(traceId)}${spanId ? `#span-${encodeURIComponent(spanId)}` : ''}`;

function page(ctx: ViewContext, title: string, tab: 'traces' | 'logs' | 'trace', body: Html) {
  return layout(
    ctx,
    title,
    html`<style>
        ${new Html(STYLE)}
      </style>
      <nav class="ops-tabs" aria-label="Ops">
        <a href="/admin/ops/traces" class="${tab === 'traces' ? 'on' : ''}">Traces</a>
        <a href="/admin/ops/logs" class="${tab === 'logs' ? 'on' : ''}">Logs</a>
      </nav>
      ${body}`,
  );
}

const problems = (list: string[]) =>
  list.length
    ? html`<div class="alert" role="alert">${list.map((p) => html`<div>${p}</div>`)}</div>`
    : '';

type FormValues = Record<string, unknown>;
const v = (values: FormValues, name: string) => {
  const x = values[name];
  return typeof x === 'string' || typeof x === 'number' ? String(x) : '';
};

function lookbackField(values: FormValues): Html {
  const current = v(values, 'lookback') || '1h';
  return html`<div>
      <label for="lookback">Last</label>
      <select id="lookback" name="lookback">
        ${Object.keys(LOOKBACKS).map(
          (k) => html`<option value="${k}" ${k === current ? html`selected` : ''}>${k}</option>`,
        )}
      </select>
    </div>
    <div>
      <label for="from">or from (UTC)</label
      ><input
        id="from"
        name="from"
        type="text"
        placeholder="2026-12-01T09:00"
        value="${v(values, 'from')}"
        size="19"
      />
    </div>
    <div>
      <label for="to">to (UTC)</label
      ><input
        id="to"
        name="to"
        type="text"
        placeholder="now"
        value="${v(values, 'to')}"
        size="19"
      />
    </div>`;
}

export interface TraceSearchView {
  values: FormValues;
  problems: string[];
  services: string[];
  operations: string[];
  results?: TraceSummary[];
  /** Why nothing could be asked (Jaeger not configured). */
  unavailable?: string;
}

export function traceSearchPage(ctx: ViewContext, view: TraceSearchView): string {
  const service = v(view.values, 'service');
  const results = view.results;
  return page(
    ctx,
    'Traces',
    'traces',
    html`<h1>Traces</h1>
      ${view.unavailable ? html`<div class="alert" role="alert">${view.unavailable}</div>` : ''}
      ${problems(view.problems)}
      <form class="card ops" method="get" action="/admin/ops/traces" role="search">
        <div>
          <label for="service">Service</label>
          <select id="service" name="service" required>
            <option value="">choose…</option>
            ${view.services.map(
              (s) =>
                html`<option value="${s}" ${s === service ? html`selected` : ''}>${s}</option>`,
            )}
          </select>
        </div>
        <div>
          <label for="operation">Operation</label
          ><input
            id="operation"
            name="operation"
            list="operations"
            value="${v(view.values, 'operation')}"
            placeholder="any"
          />
          <datalist id="operations">
            ${view.operations.map((o) => html`<option value="${o}"></option>`)}
          </datalist>
        </div>
        <div>
          <label for="minDuration">Min duration</label
          ><input
            id="minDuration"
            name="minDuration"
            value="${v(view.values, 'minDuration')}"
            placeholder="100ms"
            size="8"
          />
        </div>
        ${lookbackField(view.values)}
        <div>
          <label for="limit">Limit</label
          ><input
            id="limit"
            name="limit"
            type="number"
            min="1"
            max="100"
            value="${v(view.values, 'limit') || '20'}"
          />
        </div>
        <button type="submit">Find traces</button>
      </form>
      ${
        results === undefined
          ? html`<p class="muted">Choose a service to search its traces.</p>`
          : results.length === 0
            ? html`<p class="muted" id="no-traces">No trace matches.</p>`
            : html`<table id="traces">
                <thead>
                  <tr>
                    <th>Trace</th>
                    <th>Started (UTC)</th>
                    <th>Duration</th>
                    <th>Spans</th>
                    <th>Services</th>
                  </tr>
                </thead>
                <tbody>
                  ${results.map(
                    (t) =>
                      html`<tr class="${t.errors ? 'err' : ''}">
                        <td>
                          <a href="${traceHref(t.traceId)}">${t.rootService}: ${t.rootOperation}</a>
                          <div class="mono muted">${t.traceId}</div>
                        </td>
                        <td>${when(t.start)}</td>
                        <td>${formatDuration(t.duration)}</td>
                        <td>
                          ${t.spanCount}${
                            t.errors
                              ? html` <span class="err">(${t.errors} with errors)</span>`
                              : ''
                          }
                        </td>
                        <td>
                          ${t.services.map(
                            (s) => html`<span>${swatch(s.name)}${s.name} (${s.spans})</span> `,
                          )}
                        </td>
                      </tr>`,
                  )}
                </tbody>
              </table>`
      }`,
  );
}

function spanRow(wf: Waterfall, row: WaterfallRow): Html {
  const s = row.span;
  const around = { start: wf.start / 1000, end: (wf.start + wf.duration) / 1000 };
  return html`<tr id="span-${s.spanId}" class="${s.error ? 'err' : ''}" data-service="${s.service}">
    <td class="name" style="padding-left:${(0.5 + row.depth * 0.9).toFixed(1)}rem">
      ${swatch(s.service)}<strong>${s.service}</strong> ${s.operation}
      <details class="attrs">
        <summary>details</summary>
        <table>
          <tbody>
            <tr>
              <td>span.id</td>
              <td>${s.spanId}</td>
            </tr>
            ${
              s.parentId
                ? html`<tr>
                    <td>parent</td>
                    <td><a href="#span-${s.parentId}">${s.parentId}</a></td>
                  </tr>`
                : ''
            }
            <tr>
              <td>start</td>
              <td>${when(s.start)} (+${formatDuration(s.start - wf.start)})</td>
            </tr>
            ${s.attributes.map(
              ([k, val]) =>
                html`<tr>
                  <td>${k}</td>
                  <td>${val}</td>
                </tr>`,
            )}
            ${s.links.map(
              (l) =>
                html`<tr>
                  <td>link</td>
                  <td><a href="${traceHref(l.traceId, l.spanId)}">${l.traceId}:${l.spanId}</a></td>
                </tr>`,
            )}
            ${s.events.map(
              (e) =>
                html`<tr>
                  <td>event +${formatDuration(e.time - wf.start)}</td>
                  <td>${e.fields.map(([k, val]) => `${k}=${val}`).join('  ')}</td>
                </tr>`,
            )}
          </tbody>
        </table>
        <a href="${logsHref(wf.traceId, around, s.spanId)}">Log lines of this span</a>
      </details>
    </td>
    <td>
      <div class="track">
        <div
          class="span-bar"
          style="left:${row.offsetPct.toFixed(3)}%;width:${row.widthPct.toFixed(3)}%;background:hsl(${hueOf(s.service)},55%,55%)"
        ></div>
      </div>
    </td>
    <td class="dur">${formatDuration(s.duration)}</td>
  </tr>`;
}

export function tracePage(ctx: ViewContext, wf: Waterfall, warnings: string[]): string {
  const around = { start: wf.start / 1000, end: (wf.start + wf.duration) / 1000 };
  return page(
    ctx,
    `Trace ${wf.traceId}`,
    'trace',
    html`<h1>Trace <span class="mono">${wf.traceId}</span></h1>
      <p>
        ${when(wf.start)} UTC · ${formatDuration(wf.duration)} · ${wf.rows.length} spans
        ${wf.errors ? html`· <span class="err">${wf.errors} with errors</span>` : ''} ·
        <a id="trace-logs" href="${logsHref(wf.traceId, around)}">Log lines of this trace</a>
      </p>
      <p>${wf.services.map((s) => html`<span>${swatch(s.name)}${s.name} (${s.spans})</span> `)}</p>
      ${
        warnings.length
          ? html`<div class="alert">${warnings.map((w) => html`<div>${w}</div>`)}</div>`
          : ''
      }
      <table class="wf" id="waterfall">
        <thead>
          <tr>
            <th>Service and operation</th>
            <th>0 · ${formatDuration(wf.duration / 2)} · ${formatDuration(wf.duration)}</th>
            <th>Duration</th>
          </tr>
        </thead>
        <tbody>
          ${wf.rows.map((row) => spanRow(wf, row))}
        </tbody>
      </table>`,
  );
}

export interface LogSearchView {
  values: FormValues;
  problems: string[];
  result?: LogPage;
  unavailable?: string;
}

export function logSearchPage(ctx: ViewContext, view: LogSearchView): string {
  const level = v(view.values, 'level');
  const result = view.result;
  const text = (name: string, label: string, placeholder = '', size = 14) =>
    html`<div>
      <label for="${name}">${label}</label
      ><input
        id="${name}"
        name="${name}"
        value="${v(view.values, name)}"
        placeholder="${placeholder}"
        size="${size}"
      />
    </div>`;
  return page(
    ctx,
    'Logs',
    'logs',
    html`<h1>Logs</h1>
      ${view.unavailable ? html`<div class="alert" role="alert">${view.unavailable}</div>` : ''}
      ${problems(view.problems)}
      <form class="card ops" method="get" action="/admin/ops/logs" role="search">
        ${text('q', 'Text', 'words in the message', 24)} ${text('service', 'Service', 'any')}
        <div>
          <label for="level">Level</label>
          <select id="level" name="level">
            <option value="">any</option>
            ${LEVELS.map(
              (l) => html`<option value="${l}" ${l === level ? html`selected` : ''}>${l}</option>`,
            )}
          </select>
        </div>
        ${text('requestId', 'Request id')} ${text('traceId', 'Trace id', '', 34)}
        ${v(view.values, 'spanId') ? text('spanId', 'Span id', '', 18) : ''}
        ${lookbackField(view.values)}
        <button type="submit">Find log lines</button>
      </form>
      ${
        !result
          ? ''
          : result.lines.length === 0
            ? html`<p class="muted" id="no-logs">No log line matches.</p>`
            : html`<p class="muted">
                  ${
                    result.lines.length < result.total
                      ? `The newest ${result.lines.length} of ${result.total >= 10_000 ? 'over 10,000' : result.total} lines.`
                      : `${result.total} lines.`
                  }
                </p>
                <table id="logs">
                  <thead>
                    <tr>
                      <th>Time (UTC)</th>
                      <th>Service</th>
                      <th>Level</th>
                      <th>Message</th>
                      <th>Request / trace</th>
                    </tr>
                  </thead>
                  <tbody>
                    ${result.lines.map(
                      (l) =>
                        html`<tr>
                          <td class="mono">${l.time.replace('T', ' ').replace('Z', '')}</td>
                          <td>${l.service ? html`${swatch(l.service)}${l.service}` : ''}</td>
                          <td class="lvl-${l.level ?? ''}">${l.level ?? ''}</td>
                          <td class="msg">
                            ${l.message}${l.error ? html`<div class="err">${l.error}</div>` : ''}
                          </td>
                          <td class="mono">
                            ${
                              l.requestId
                                ? html`<a
                                      href="/admin/ops/logs?${new URLSearchParams({ requestId: l.requestId, lookback: '7d' }).toString()}"
                                      >${l.requestId}</a
                                    ><br />`
                                : ''
                            }
                            ${
                              l.traceId
                                ? html`<a
                                    class="trace-link"
                                    href="${traceHref(l.traceId, l.spanId)}"
                                    >trace ${l.traceId.slice(0, 12)}…</a
                                  >`
                                : ''
                            }
                          </td>
                        </tr>`,
                    )}
                  </tbody>
                </table>`
      }`,
  );
}
