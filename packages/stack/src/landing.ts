/**
 * The gateway's landing page (`/`): one self-contained HTML file (inline CSS, no script, no
 * external resources; a CSP meta tag forbids loading any) that links what `npm start` runs.
 * Everything that comes from outside (film titles, names, URLs) is escaped.
 */

export interface LandingLink {
  /** Gateway path (`/admin/`) or absolute http(s) URL. */
  href: string;
  label: string;
  /** One line under the link. */
  note?: string;
}

export interface LandingPage {
  /** The player with a real film, when the catalog has one. */
  player?: { href: string; filmTitle: string };
  /** The admin panel, with the demo admin's e-mail when there is one. */
  admin?: { href: string; email?: string };
  /** The ops pages (traces from Jaeger, logs from Elasticsearch) of the admin panel. */
  ops?: { href: string };
  /** The analytics page (ugc-etl): viewers' pauses, quality switches, full views, page views. */
  analytics?: { href: string };
  /** Swagger UI of each service with an HTTP API. */
  docs: LandingLink[];
  /** Mail catcher (MailDev) web UI. */
  mailCatcher?: string;
  /** Shown on top when the services are not (yet) running. */
  notice?: string;
}

const entities: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => entities[c]!);
}

/** Only gateway paths and http(s) URLs become links; anything else (javascript:, data:) is refused. */
export function safeHref(href: string): string {
  if (/^\/(?!\/)/.test(href)) return escapeHtml(href);
  try {
    const url = new URL(href);
    if (url.protocol === 'http:' || url.protocol === 'https:') return escapeHtml(url.href);
  } catch {
    /* not a URL */
  }
  throw new Error(`landing page: not a gateway path or http(s) URL: ${JSON.stringify(href)}`);
}

function item(link: LandingLink): string {
  return `      <li><a href="${safeHref(link.href)}">${escapeHtml(link.label)}</a>${
    link.note ? `<br><small>${escapeHtml(link.note)}</small>` : ''
  }</li>`;
}

export function renderLandingPage(page: LandingPage): string {
  const watch: LandingLink[] = page.player
    ? [
        {
          href: page.player.href,
          label: `Watch “${page.player.filmTitle}” in the player`,
          note: 'Pauses, quality changes and full views go to the UGC collector.',
        },
      ]
    : [];
  const manage: LandingLink[] = page.admin
    ? [
        {
          href: page.admin.href,
          label: 'Admin panel',
          note: page.admin.email
            ? `Log in as ${page.admin.email} (the password is printed by npm start).`
            : 'Log in with a super_user account (auth: createsuperuser).',
        },
      ]
    : [];
  if (page.ops) {
    manage.push({
      href: page.ops.href,
      label: 'Traces and logs',
      note: 'Search traces (Jaeger) and log lines (Elasticsearch), follow a request across services; admins only.',
    });
  }
  if (page.analytics)
    manage.push({
      href: page.analytics.href,
      label: 'Viewer analytics',
      note: 'Charts of what viewers do (admin or super_user); `npm run simulate` makes traffic.',
    });
  const mail: LandingLink[] = page.mailCatcher
    ? [
        {
          href: page.mailCatcher,
          label: 'Mail catcher',
          note: 'Every mail the platform sends (password resets, notifications) lands here.',
        },
      ]
    : [];
  const section = (title: string, links: LandingLink[]) =>
    links.length
      ? `    <h2>${escapeHtml(title)}</h2>\n    <ul>\n${links.map(item).join('\n')}\n    </ul>`
      : '';
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
  <title>Cinema platform</title>
  <style>
    body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f4f5f8; }
    main { max-width: 44rem; margin: 2rem auto; padding: 1.5rem 2rem; background: #fff;
           border-radius: 8px; box-shadow: 0 1px 4px rgba(0, 0, 0, .08); }
    h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
    h2 { font-size: 1.1rem; margin: 1.5rem 0 .25rem; color: #4a5266; }
    ul { margin: 0; padding-left: 1.2rem; }
    li { margin: .35rem 0; }
    a { color: #1a55c4; }
    small { color: #5b6375; }
    .notice { background: #fff4d6; border: 1px solid #e8c76a; padding: .5rem .75rem; border-radius: 4px; }
  </style>
</head>
<body>
  <main>
    <h1>Cinema platform</h1>
    <p>Local stack started by <code>npm start</code>. Everything below goes through this gateway.</p>
${page.notice ? `    <p class="notice">${escapeHtml(page.notice)}</p>\n` : ''}${[
    section('Watch', watch),
    section('Manage', manage),
    section('API documentation (Swagger UI)', page.docs),
    section('Mail', mail),
  ]
    .filter(Boolean)
    .join('\n')}
  </main>
</body>
</html>
`;
}
