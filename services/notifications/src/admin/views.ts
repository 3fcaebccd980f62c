/** Server-rendered pages of the campaigns panel; every value is escaped by `html`, every form has the CSRF token. */
import type { Campaign, CampaignDelivery, CampaignProgress } from '../domain/campaigns.model';
import { html, Html } from '@cinema/html';
import { ADMIN_PREFIX } from './paths';

export interface ViewContext {
  csrf: string;
  user?: { id: string; email?: string };
  notice?: string;
}

const P = ADMIN_PREFIX;
const csrfField = (ctx: ViewContext) =>
  html`<input type="hidden" name="_csrf" value="${ctx.csrf}" />`;

export function layout(ctx: ViewContext, title: string, body: Html): string {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>${title} · Notifications admin</title>
        <link rel="stylesheet" href="${P}/static/admin.css" />
        <script src="${P}/static/admin.js" defer></script>
      </head>
      <body>
        ${
          ctx.user
            ? html`<header>
                <a class="brand" href="${P}/campaigns">Notifications admin</a>
                <nav>
                  <a href="${P}/campaigns">Campaigns</a
                  ><a href="${P}/campaigns/new">New campaign</a>
                </nav>
                <span class="who">${ctx.user.email ?? ctx.user.id}</span>
                <form method="post" action="${P}/logout">
                  ${csrfField(ctx)}<button class="secondary">Log out</button>
                </form>
              </header>`
            : ''
        }
        <main>
          ${ctx.notice ? html`<div class="notice" role="status">${ctx.notice}</div>` : ''}${body}
        </main>
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
    html`<form class="card login" method="post" action="${P}/login">
      <h1>Notifications admin</h1>
      ${o.error ? html`<div class="alert" role="alert">${o.error}</div>` : ''}${csrfField(ctx)}<input
        type="hidden"
        name="next"
        value="${o.next}"
      />
      <div class="field">
        <label for="email">E-mail</label
        ><input id="email" name="email" type="email" value="${o.email ?? ''}" required />
      </div>
      <div class="field">
        <label for="password">Password</label
        ><input id="password" name="password" type="password" required />
      </div>
      <button type="submit">Log in</button>
    </form>`,
  );

const when = (d: Date | null) =>
  d ? d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC' : '—';

export const campaigns = (ctx: ViewContext, items: Campaign[]) =>
  layout(
    ctx,
    'Campaigns',
    html`<div class="bar">
        <h1 class="grow">Campaigns</h1>
        <a class="button" href="${P}/campaigns/new">New campaign</a>
      </div>
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>Title</th>
            <th>State</th>
            <th>Recipients</th>
            <th>Send at</th>
          </tr>
        </thead>
        <tbody>
          ${items.map(
            (c) =>
              html`<tr>
                <td>${c.id}</td>
                <td><a href="${P}/campaigns/${c.id}">${c.title}</a></td>
                <td><span class="state ${c.state}">${c.state}</span></td>
                <td>${c.total}</td>
                <td>${c.localTime ? `${c.localTime} local` : when(c.sendAt)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${items.length ? '' : html`<p class="muted">No campaign yet.</p>`}`,
  );

export interface FormValues {
  title?: string;
  category?: string;
  channels?: string[];
  template?: string;
  subject?: string;
  body?: string;
  vars?: string;
  audienceKind?: string;
  role?: string;
  genres?: string;
  ids?: string;
  sendAt?: string;
  localTime?: boolean;
}

const opt = (value: string, label: string, current?: string) =>
  html`<option value="${value}" ${value === current ? new Html('selected') : ''}>${label}</option>`;

export function newCampaign(
  ctx: ViewContext,
  o: {
    values: FormValues;
    errors?: Record<string, { message: string }>;
    templates: string[];
    error?: string;
  },
): string {
  const v = o.values;
  const err = (k: string) => {
    const found = Object.entries(o.errors ?? {}).filter(
      ([f]) => f === `body.${k}` || f.startsWith(`body.${k}.`),
    );
    return found.length
      ? html`<div class="error">${found.map(([, e]) => e.message).join('; ')}</div>`
      : '';
  };
  const channels = v.channels ?? ['email', 'in_app'];
  return layout(
    ctx,
    'New campaign',
    html`<h1>New campaign</h1>
      ${o.error ? html`<div class="alert" role="alert">${o.error}</div>` : ''}
      <form class="card" method="post" action="${P}/campaigns" id="campaign-form">
        ${csrfField(ctx)}
        <div class="field">
          <label for="title">Title</label
          ><input
            id="title"
            name="title"
            type="text"
            value="${v.title ?? ''}"
            required
            maxlength="200"
          />${err('title')}
        </div>
        <div class="field">
          <label for="category">Category</label
          ><select id="category" name="category">
            ${['new_films', 'marketing', 'review_activity'].map((c) => opt(c, c, v.category))}</select
          >${err('category')}
        </div>
        <div class="field">
          <label>Channels</label
          >${['email', 'in_app', 'sms'].map((c) => html`<label class="inline"><input type="checkbox" name="channels" value="${c}" ${channels.includes(c) ? new Html('checked') : ''} /> ${c}</label> `)}${err('channels')}
        </div>
        <div class="field">
          <label for="template">Template</label
          ><select id="template" name="template">
            ${opt('', 'ad-hoc subject and body', v.template)}${o.templates.map((t) => opt(t, t, v.template))}</select
          >${err('template')}
        </div>
        <div class="field">
          <label for="subject">Subject (ad-hoc)</label
          ><input
            id="subject"
            name="subject"
            type="text"
            value="${v.subject ?? ''}"
          />${err('subject')}
        </div>
        <div class="field">
          <label for="body">Body (ad-hoc; placeholders {{name}})</label
          ><textarea id="body" name="body">${v.body ?? ''}</textarea>${err('body')}
        </div>
        <div class="field">
          <label for="vars">Variables (one name=value per line)</label
          ><textarea id="vars" name="vars">${v.vars ?? ''}</textarea>${err('vars')}
        </div>
        <div class="field">
          <label for="audienceKind">Audience</label
          ><select id="audienceKind" name="audienceKind">
            ${[
              ['everyone', 'everyone'],
              ['role', 'a role'],
              ['genres', 'opted into genres'],
              ['ids', 'user ids / CSV'],
            ].map(([k, l]) => opt(k!, l!, v.audienceKind))}
          </select>
          <input name="role" type="text" placeholder="role" value="${v.role ?? ''}" />
          <input
            name="genres"
            type="text"
            placeholder="genres, comma separated"
            value="${v.genres ?? ''}"
          />
          <textarea id="ids" name="ids" placeholder="user ids or e-mails, one per line (CSV)">
${v.ids ?? ''}</textarea
          ><input type="file" id="csv-file" accept=".csv,text/csv,text/plain" /> ${err('audience')}
        </div>
        <div class="field">
          <label for="sendAt">Send at (UTC; empty: now)</label
          ><input id="sendAt" name="sendAt" type="datetime-local" value="${v.sendAt ?? ''}" />
          <label class="inline"
            ><input
              type="checkbox"
              name="localTime"
              value="1"
              ${v.localTime ? new Html('checked') : ''}
            />
            in each recipient's local time</label
          >${err('sendAt')}
        </div>
        <button type="submit" name="action" value="create">Create campaign</button>
        <button type="submit" class="secondary" name="action" value="preview">Preview</button>
      </form>`,
  );
}

export const preview = (
  ctx: ViewContext,
  o: { subject: string; text: string; token: string; values: FormValues; templates: string[] },
) =>
  layout(
    ctx,
    'Preview',
    html`<h1>Preview</h1>
      <div class="card">
        <p><strong>Subject:</strong> <span id="preview-subject">${o.subject}</span></p>
        <iframe
          class="preview"
          sandbox=""
          src="${P}/preview/${o.token}"
          title="e-mail preview"
        ></iframe>
        <h2>Plain text</h2>
        <pre id="preview-text">${o.text}</pre>
      </div>
      ${new Html(newCampaign(ctx, { values: o.values, templates: o.templates }).replace(/^[\s\S]*<main>|<\/main>[\s\S]*$/g, ''))}`,
  );

const COUNTS: Array<keyof CampaignProgress> = [
  'recipients',
  'planned',
  'queued',
  'sent',
  'failed',
  'skipped',
  'skippedByPreference',
  'held',
];

export function campaign(
  ctx: ViewContext,
  c: Campaign,
  p: CampaignProgress,
  failed: CampaignDelivery[],
): string {
  const action = (name: string, label: string, cls = '') =>
    html`<form class="inline" method="post" action="${P}/campaigns/${c.id}/${name}">
      ${csrfField(ctx)}<button class="${cls}" type="submit">${label}</button>
    </form> `;
  return layout(
    ctx,
    c.title,
    html`<div class="bar">
        <h1 class="grow">${c.title}</h1>
        <span>State: <strong id="state" class="state ${c.state}">${c.state}</strong></span>
      </div>
      <div class="card">
        <p class="muted">
          #${c.id} · ${c.category} · ${c.channels.join(', ')} · template ${c.template} · send at
          ${c.localTime ? `${c.localTime} (local time)` : when(c.sendAt)}
        </p>
        <div class="bar">
          ${c.state === 'scheduled' || c.state === 'running' ? action('pause', 'Pause', 'secondary') : ''}${c.state === 'paused' ? action('resume', 'Resume') : ''}${['scheduled', 'running', 'paused'].includes(c.state) ? action('cancel', 'Cancel', 'danger') : ''}${p.failed && c.state !== 'paused' && c.state !== 'cancelled' ? action('retry', 'Retry failed') : ''}
        </div>
        <table id="progress" data-src="${P}/campaigns/${c.id}/progress.json">
          <thead>
            <tr>
              ${COUNTS.map((k) => html`<th>${k}</th>`)}
            </tr>
          </thead>
          <tbody>
            <tr>
              ${COUNTS.map((k) => html`<td data-count="${k}">${p[k]}</td>`)}
            </tr>
          </tbody>
        </table>
      </div>
      <h2>Failed deliveries</h2>
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>Recipient</th>
            <th>Channel</th>
            <th>Reason</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          ${failed.map(
            (d) =>
              html`<tr>
                <td>${d.id}</td>
                <td><a href="${P}/users/${d.recipient}">${d.recipient}</a></td>
                <td>${d.channel}</td>
                <td>${d.reason ?? ''}</td>
                <td>
                  <form class="inline" method="post" action="${P}/campaigns/${c.id}/retry">
                    ${csrfField(ctx)}<input
                      type="hidden"
                      name="deliveryId"
                      value="${d.id}"
                    /><button class="link" type="submit">Retry</button>
                  </form>
                </td>
              </tr>`,
          )}
        </tbody>
      </table>`,
  );
}

export const userDeliveries = (ctx: ViewContext, userId: string, items: CampaignDelivery[]) =>
  layout(
    ctx,
    'Deliveries',
    html`<h1>Deliveries to ${userId}</h1>
      <table>
        <thead>
          <tr>
            <th>#</th>
            <th>Campaign</th>
            <th>Channel</th>
            <th>Category</th>
            <th>Status</th>
            <th>Reason</th>
            <th>Created</th>
          </tr>
        </thead>
        <tbody>
          ${items.map(
            (d) =>
              html`<tr>
                <td>${d.id}</td>
                <td>
                  ${d.campaignId ? html`<a href="${P}/campaigns/${d.campaignId}">${d.campaignId}</a>` : d.messageId}
                </td>
                <td>${d.channel}</td>
                <td>${d.category}</td>
                <td>${d.status}</td>
                <td>${d.reason ?? ''}</td>
                <td>${when(d.createdAt)}</td>
              </tr>`,
          )}
        </tbody>
      </table>`,
  );

export const STYLE = `*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;display:flex;align-items:center;gap:1.5rem;padding:.6rem 1.5rem}header a{color:#fff;text-decoration:none}
header a.brand{font-weight:700}header nav{display:flex;gap:1rem;flex:1}header form{margin:0}.who{opacity:.8;font-size:.9em}
main{max-width:1100px;margin:1.5rem auto;padding:0 1.5rem}h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .6rem}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}th,td{text-align:left;padding:.45rem .7rem;border-bottom:1px solid #e4e6ea}
th{background:#eef0f3}a{color:#2453c4}.bar{display:flex;gap:.8rem;align-items:center;margin-bottom:1rem;flex-wrap:wrap}.grow{flex:1}
input,select,textarea{font:inherit;padding:.35rem .5rem;border:1px solid #b9bec8;border-radius:4px;background:#fff}textarea{width:100%;min-height:5rem}
button,.button{font:inherit;padding:.35rem .9rem;border-radius:4px;border:1px solid #2453c4;background:#2453c4;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#fff;color:#2453c4}button.danger{background:#c42424;border-color:#c42424}button.link{background:none;border:none;color:#2453c4;padding:0}
.card{background:#fff;padding:1rem 1.2rem;box-shadow:0 1px 2px #0002;border-radius:4px;margin-bottom:1rem}.field{margin-bottom:.8rem}.field>label{display:block;font-weight:600}
.field input[type=text],.field input[type=email],.field input[type=password]{width:100%}.error{color:#b00020;font-size:.9em}
.notice{background:#e3f4e6;border:1px solid #9bd3a6;padding:.5rem .8rem;border-radius:4px;margin-bottom:1rem}.alert{background:#fde8e8;border:1px solid #e5a3a3;padding:.5rem .8rem;border-radius:4px;margin-bottom:1rem}
.inline{display:inline}.muted{color:#6b7280}.login{max-width:380px;margin:4rem auto}.state{padding:.1rem .5rem;border-radius:3px;background:#eef0f3}
.state.running{background:#dbeafe}.state.paused{background:#fef3c7}.state.finished{background:#dcfce7}.state.cancelled{background:#fee2e2}
iframe.preview{width:100%;height:420px;border:1px solid #e4e6ea;background:#fff}pre{white-space:pre-wrap;background:#f5f6f8;padding:.6rem}`;

/** The panel's one script: live progress (polls the JSON every second) and reading a CSV file into the list. */
export const SCRIPT = `(function(){
var t=document.getElementById('progress');
if(t&&t.dataset.src){var tick=function(){fetch(t.dataset.src,{credentials:'same-origin'}).then(function(r){return r.ok?r.json():null}).then(function(p){
if(!p)return;Object.keys(p).forEach(function(k){var c=t.querySelector('[data-count="'+k+'"]');if(c)c.textContent=String(p[k]);});
var s=document.getElementById('state');if(s&&p.state&&s.textContent!==p.state){s.textContent=p.state;s.className='state '+p.state;
if(p.state==='finished'||p.state==='cancelled'){location.reload();}}}).catch(function(){});};setInterval(tick,1000);}
var f=document.getElementById('csv-file');if(f){f.addEventListener('change',function(){var file=f.files&&f.files[0];if(!file)return;
file.text().then(function(text){document.getElementById('ids').value=text;var k=document.getElementById('audienceKind');if(k)k.value='ids';});});}
})();`;
