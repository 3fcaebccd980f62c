/** Server-rendered pages of the admin panel. Every form carries the CSRF token. */
import {
  FILM_TYPES,
  ROLES,
  type FilmDetail,
  type Film,
  type Genre,
  type Page,
  type Person,
  type PersonDetail,
} from '../domain/catalog';
import { html, Html } from '@cinema/html';

export interface ViewContext {
  csrf: string;
  user?: { email?: string; id: string; roles: string[] };
  notice?: string;
}

type Errors = Record<string, { message: string }>;
type Values = object;

const STYLE = `
*{box-sizing:border-box}body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1d2330;color:#fff;display:flex;align-items:center;gap:1.5rem;padding:.6rem 1.5rem}
header a{color:#fff;text-decoration:none}header a.brand{font-weight:700}header nav{display:flex;gap:1rem;flex:1}
header form{margin:0}header .who{opacity:.8;font-size:.9em}
main{max-width:1100px;margin:1.5rem auto;padding:0 1.5rem}
h1{font-size:1.5rem;margin:.2rem 0 1rem}h2{font-size:1.15rem;margin:1.5rem 0 .6rem}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}
th,td{text-align:left;padding:.45rem .7rem;border-bottom:1px solid #e4e6ea;vertical-align:top}
th{background:#eef0f3;font-weight:600}
a{color:#2453c4}
.bar{display:flex;gap:.8rem;align-items:center;margin-bottom:1rem;flex-wrap:wrap}
.bar .grow{flex:1}
input,select,textarea{font:inherit;padding:.35rem .5rem;border:1px solid #b9bec8;border-radius:4px;background:#fff}
textarea{width:100%;min-height:7rem}
button,.button{font:inherit;padding:.35rem .9rem;border-radius:4px;border:1px solid #2453c4;background:#2453c4;color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#fff;color:#2453c4}button.danger{background:#c42424;border-color:#c42424}
button.link{background:none;border:none;color:#c42424;padding:0}
form.card,.card{background:#fff;padding:1rem 1.2rem;box-shadow:0 1px 2px #0002;border-radius:4px;margin-bottom:1rem}
.field{margin-bottom:.8rem}.field label{display:block;font-weight:600;margin-bottom:.2rem}
.field input[type=text],.field input[type=email],.field input[type=password]{width:100%}
.error{color:#b00020;font-size:.9em}.notice{background:#e3f4e6;border:1px solid #9bd3a6;padding:.5rem .8rem;border-radius:4px;margin-bottom:1rem}
.alert{background:#fde8e8;border:1px solid #e5a3a3;padding:.5rem .8rem;border-radius:4px;margin-bottom:1rem}
.inline{display:inline}.muted{color:#6b7280}.pager{margin-top:1rem;display:flex;gap:1rem;align-items:center}
.login{max-width:380px;margin:4rem auto}
`;

const NOTICES: Record<string, string> = {
  created: 'Created.',
  saved: 'Saved.',
  deleted: 'Deleted.',
  'genre-added': 'Genre attached.',
  'genre-removed': 'Genre detached.',
  'person-added': 'Person attached.',
  'person-removed': 'Person detached.',
};

const csrfField = (ctx: ViewContext) =>
  html`<input type="hidden" name="_csrf" value="${ctx.csrf}" />`;

export function layout(ctx: ViewContext, title: string, body: Html): string {
  const notice = ctx.notice ? NOTICES[ctx.notice] : undefined;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width,initial-scale=1" />
        <title>${title} · Catalog admin</title>
        <style>
          ${new Html(STYLE)}
        </style>
      </head>
      <body>
        ${
          ctx.user
            ? html`<header>
                <a class="brand" href="/admin/films">Catalog admin</a>
                <nav>
                  <a href="/admin/films">Films</a><a href="/admin/genres">Genres</a
                  ><a href="/admin/persons">Persons</a><a href="/admin/ops/traces">Traces</a
                  ><a href="/admin/ops/logs">Logs</a><a href="/docs">API</a>
                </nav>
                <span class="who"
                  >${ctx.user.email ?? ctx.user.id} (${ctx.user.roles.join(', ')})</span
                >
                <form method="post" action="/admin/logout">
                  ${csrfField(ctx)}<button class="secondary" type="submit">Log out</button>
                </form>
              </header>`
            : html`<header><span class="brand">Catalog admin</span></header>`
        }
        <main>${notice ? html`<div class="notice" role="status">${notice}</div>` : ''}${body}</main>
      </body>
    </html>`.value;
}

export function loginPage(
  ctx: ViewContext,
  opts: { email?: string; error?: string; next?: string },
): string {
  return layout(
    ctx,
    'Log in',
    html`<div class="login">
      <h1>Log in</h1>
      ${opts.error ? html`<div class="alert" role="alert">${opts.error}</div>` : ''}
      <form class="card" method="post" action="/admin/login">
        ${csrfField(ctx)}
        <input type="hidden" name="next" value="${opts.next ?? ''}" />
        <div class="field">
          <label for="email">E-mail</label
          ><input
            id="email"
            type="email"
            name="email"
            value="${opts.email ?? ''}"
            required
            autofocus
          />
        </div>
        <div class="field">
          <label for="password">Password</label
          ><input id="password" type="password" name="password" required />
        </div>
        <button type="submit">Log in</button>
        <p class="muted">Only accounts with the admin or super_user role may enter.</p>
      </form>
    </div>`,
  );
}

export function messagePage(ctx: ViewContext, title: string, message: string): string {
  return layout(
    ctx,
    title,
    html`<h1>${title}</h1>
      <div class="alert" role="alert">${message}</div>
      <p><a href="/admin/films">Back to the films</a></p>`,
  );
}

function pager(base: string, page: Page<unknown>, q: string): Html {
  const pages = Math.max(1, Math.ceil(page.total / page.pageSize));
  const link = (p: number) =>
    `${base}?${new URLSearchParams({ ...(q ? { q } : {}), page: String(p) }).toString()}`;
  return html`<div class="pager">
    ${page.page > 1 ? html`<a href="${link(page.page - 1)}" rel="prev">← Previous</a>` : ''}
    <span class="muted">Page ${page.page} of ${pages} · ${page.total} in all</span>
    ${page.page < pages ? html`<a href="${link(page.page + 1)}" rel="next">Next →</a>` : ''}
  </div>`;
}

function searchBar(action: string, q: string, newHref: string, newLabel: string): Html {
  return html`<form class="bar" method="get" action="${action}" role="search">
    <input
      class="grow"
      type="search"
      name="q"
      value="${q}"
      placeholder="Search…"
      aria-label="Search"
    />
    <button type="submit" class="secondary">Search</button>
    <a class="button" href="${newHref}">${newLabel}</a>
  </form>`;
}

const fieldError = (errors: Errors, name: string) =>
  errors[name] ? html`<div class="error">${errors[name]!.message}</div>` : '';

const val = (values: Values, name: string): string => {
  const v = (values as Record<string, unknown>)[name];
  return v === null || v === undefined ? '' : String(v);
};

function input(
  values: Values,
  errors: Errors,
  name: string,
  label: string,
  attrs: { type?: string; required?: boolean; step?: string; min?: string; max?: string } = {},
): Html {
  return html`<div class="field">
    <label for="${name}">${label}</label>
    <input
      id="${name}"
      name="${name}"
      type="${attrs.type ?? 'text'}"
      value="${val(values, name)}"
      ${attrs.required ? html`required` : ''}
      ${attrs.step ? html`step="${attrs.step}"` : ''}
      ${attrs.min ? html`min="${attrs.min}"` : ''}
      ${attrs.max ? html`max="${attrs.max}"` : ''}
    />
    ${fieldError(errors, name)}
  </div>`;
}

function formErrors(errors: Errors, message?: string): Html | string {
  return message || Object.keys(errors).length
    ? html`<div class="alert" role="alert">${message ?? 'Please correct the marked fields.'}</div>`
    : '';
}

/* Films */

export function filmsPage(ctx: ViewContext, page: Page<Film>, q: string): string {
  return layout(
    ctx,
    'Films',
    html`<h1>Films</h1>
      ${searchBar('/admin/films', q, '/admin/films/new', 'New film')}
      <table>
        <thead>
          <tr>
            <th>Title</th>
            <th>Type</th>
            <th>Rating</th>
            <th>Creation date</th>
            <th>Modified</th>
          </tr>
        </thead>
        <tbody>
          ${page.items.map(
            (f) =>
              html`<tr>
                <td><a href="/admin/films/${f.id}">${f.title}</a></td>
                <td>${f.type}</td>
                <td>${f.rating ?? '–'}</td>
                <td>${f.creationDate ?? '–'}</td>
                <td class="muted">${f.modified.slice(0, 19)}</td>
              </tr>`,
          )}
          ${
            page.items.length
              ? ''
              : html`<tr>
                  <td colspan="5" class="muted">No films found.</td>
                </tr>`
          }
        </tbody>
      </table>
      ${pager('/admin/films', page, q)}`,
  );
}

export function filmForm(
  ctx: ViewContext,
  opts: {
    film?: FilmDetail;
    values: Values;
    errors?: Errors;
    message?: string;
    genres?: Array<{ id: string; name: string }>;
    linkError?: string;
  },
): string {
  const errors = opts.errors ?? {};
  const film = opts.film;
  const action = film ? `/admin/films/${film.id}` : '/admin/films';
  const type = val(opts.values, 'type') || 'movie';
  const form = html`<form class="card" method="post" action="${action}">
    ${csrfField(ctx)} ${formErrors(errors, opts.message)}
    ${input(opts.values, errors, 'title', 'Title', { required: true })}
    <div class="field">
      <label for="description">Description</label>
      <textarea id="description" name="description">${val(opts.values, 'description')}</textarea
      >${fieldError(errors, 'description')}
    </div>
    ${input(opts.values, errors, 'creationDate', 'Creation date', { type: 'date' })}
    ${input(opts.values, errors, 'rating', 'Rating (0–10)', { type: 'number', step: '0.1', min: '0', max: '10' })}
    <div class="field">
      <label for="type">Type</label
      ><select id="type" name="type">
        ${FILM_TYPES.map((t) => html`<option value="${t}" ${t === type ? html`selected` : ''}>${t}</option>`)}</select
      >${fieldError(errors, 'type')}
    </div>
    ${input(opts.values, errors, 'certificate', 'Certificate')}
    ${input(opts.values, errors, 'filePath', 'File path')}
    <button type="submit">${film ? 'Save' : 'Create'}</button>
  </form>`;
  if (!film)
    return layout(
      ctx,
      'New film',
      html`<h1>New film</h1>
        ${form}`,
    );

  const attached = new Set(film.genres.map((g) => g.genreId));
  const available = (opts.genres ?? []).filter((g) => !attached.has(g.id));
  const links = html` ${opts.linkError ? html`<div class="alert" role="alert">${opts.linkError}</div>` : ''}
    <h2>Genres</h2>
    <div class="card">
      <ul id="genres">
        ${film.genres.map(
          (g) =>
            html`<li>
              ${g.name}
              <form
                class="inline"
                method="post"
                action="/admin/films/${film.id}/genres/${g.genreId}/delete"
              >
                ${csrfField(ctx)}
                <button class="link" type="submit" aria-label="Detach ${g.name}">detach</button>
              </form>
            </li>`,
        )}
      </ul>
      ${film.genres.length ? '' : html`<p class="muted">No genres yet.</p>`}
      ${
        available.length
          ? html`<form class="bar" method="post" action="/admin/films/${film.id}/genres">
              ${csrfField(ctx)}
              <select name="genreId" aria-label="Genre">
                ${available.map((g) => html`<option value="${g.id}">${g.name}</option>`)}
              </select>
              <button type="submit" class="secondary">Attach genre</button>
            </form>`
          : html`<p class="muted">Every genre is attached.</p>`
      }
    </div>
    <h2>Persons</h2>
    <div class="card">
      <table id="persons">
        <thead>
          <tr>
            <th>Role</th>
            <th>Name</th>
            <th></th>
          </tr>
        </thead>
        <tbody>
          ${film.persons.map(
            (p) =>
              html`<tr>
                <td>${p.role}</td>
                <td><a href="/admin/persons/${p.personId}">${p.fullName}</a></td>
                <td>
                  <form
                    class="inline"
                    method="post"
                    action="/admin/films/${film.id}/persons/${p.linkId}/delete"
                  >
                    ${csrfField(ctx)} <button class="link" type="submit">detach</button>
                  </form>
                </td>
              </tr>`,
          )}
          ${
            film.persons.length
              ? ''
              : html`<tr>
                  <td colspan="3" class="muted">No persons yet.</td>
                </tr>`
          }
        </tbody>
      </table>
      <form
        class="bar"
        method="post"
        action="/admin/films/${film.id}/persons"
        style="margin-top:.8rem"
      >
        ${csrfField(ctx)}
        <input
          class="grow"
          type="text"
          name="person"
          placeholder="Person's full name or id"
          aria-label="Person"
          required
        />
        <select name="role" aria-label="Role">
          ${ROLES.map((r) => html`<option value="${r}">${r}</option>`)}
        </select>
        <button type="submit" class="secondary">Attach person</button>
      </form>
    </div>
    <h2>Danger zone</h2>
    <form class="card" method="post" action="/admin/films/${film.id}/delete">
      ${csrfField(ctx)} <button class="danger" type="submit">Delete this film</button>
    </form>`;
  return layout(
    ctx,
    film.title,
    html`<h1>${film.title}</h1>
      <p class="muted">
        id ${film.id} · created ${film.created.slice(0, 19)} · modified
        ${film.modified.slice(0, 19)}
      </p>
      ${form}${links}`,
  );
}

/* Genres */

export function genresPage(ctx: ViewContext, page: Page<Genre & { films: number }>, q: string) {
  return layout(
    ctx,
    'Genres',
    html`<h1>Genres</h1>
      ${searchBar('/admin/genres', q, '/admin/genres/new', 'New genre')}
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Films</th>
            <th>Modified</th>
          </tr>
        </thead>
        <tbody>
          ${page.items.map(
            (g) =>
              html`<tr>
                <td><a href="/admin/genres/${g.id}">${g.name}</a></td>
                <td>${g.films}</td>
                <td class="muted">${g.modified.slice(0, 19)}</td>
              </tr>`,
          )}
          ${
            page.items.length
              ? ''
              : html`<tr>
                  <td colspan="3" class="muted">No genres found.</td>
                </tr>`
          }
        </tbody>
      </table>
      ${pager('/admin/genres', page, q)}`,
  );
}

export function genreForm(
  ctx: ViewContext,
  opts: { genre?: Genre; values: Values; errors?: Errors; message?: string },
): string {
  const errors = opts.errors ?? {};
  const g = opts.genre;
  const title = g ? g.name : 'New genre';
  return layout(
    ctx,
    title,
    html`<h1>${title}</h1>
      <form class="card" method="post" action="${g ? `/admin/genres/${g.id}` : '/admin/genres'}">
        ${csrfField(ctx)} ${formErrors(errors, opts.message)}
        ${input(opts.values, errors, 'name', 'Name', { required: true })}
        <div class="field">
          <label for="description">Description</label>
          <textarea id="description" name="description">${val(opts.values, 'description')}</textarea
          >${fieldError(errors, 'description')}
        </div>
        <button type="submit">${g ? 'Save' : 'Create'}</button>
      </form>
      ${
        g
          ? html`<form class="card" method="post" action="/admin/genres/${g.id}/delete">
              ${csrfField(ctx)} <button class="danger" type="submit">Delete this genre</button>
              <span class="muted">Its links to films go with it.</span>
            </form>`
          : ''
      }`,
  );
}

/* Persons */

export function personsPage(ctx: ViewContext, page: Page<Person & { films: number }>, q: string) {
  return layout(
    ctx,
    'Persons',
    html`<h1>Persons</h1>
      ${searchBar('/admin/persons', q, '/admin/persons/new', 'New person')}
      <table>
        <thead>
          <tr>
            <th>Full name</th>
            <th>Films</th>
            <th>Birth date</th>
            <th>Modified</th>
          </tr>
        </thead>
        <tbody>
          ${page.items.map(
            (p) =>
              html`<tr>
                <td><a href="/admin/persons/${p.id}">${p.fullName}</a></td>
                <td>${p.films}</td>
                <td>${p.birthDate ?? '–'}</td>
                <td class="muted">${p.modified.slice(0, 19)}</td>
              </tr>`,
          )}
          ${
            page.items.length
              ? ''
              : html`<tr>
                  <td colspan="4" class="muted">No persons found.</td>
                </tr>`
          }
        </tbody>
      </table>
      ${pager('/admin/persons', page, q)}`,
  );
}

export function personForm(
  ctx: ViewContext,
  opts: { person?: PersonDetail; values: Values; errors?: Errors; message?: string },
): string {
  const errors = opts.errors ?? {};
  const p = opts.person;
  const title = p ? p.fullName : 'New person';
  return layout(
    ctx,
    title,
    html`<h1>${title}</h1>
      <form class="card" method="post" action="${p ? `/admin/persons/${p.id}` : '/admin/persons'}">
        ${csrfField(ctx)} ${formErrors(errors, opts.message)}
        ${input(opts.values, errors, 'fullName', 'Full name', { required: true })}
        ${input(opts.values, errors, 'birthDate', 'Birth date', { type: 'date' })}
        <button type="submit">${p ? 'Save' : 'Create'}</button>
      </form>
      ${
        p
          ? html`<h2>Films</h2>
              <table>
                <thead>
                  <tr>
                    <th>Film</th>
                    <th>Role</th>
                  </tr>
                </thead>
                <tbody>
                  ${p.films.map(
                    (f) =>
                      html`<tr>
                        <td><a href="/admin/films/${f.filmId}">${f.title}</a></td>
                        <td>${f.role}</td>
                      </tr>`,
                  )}
                  ${
                    p.films.length
                      ? ''
                      : html`<tr>
                          <td colspan="2" class="muted">No films.</td>
                        </tr>`
                  }
                </tbody>
              </table>
              <form
                class="card"
                method="post"
                action="/admin/persons/${p.id}/delete"
                style="margin-top:1rem"
              >
                ${csrfField(ctx)} <button class="danger" type="submit">Delete this person</button>
                <span class="muted">Their links to films go with them.</span>
              </form>`
          : ''
      }`,
  );
}
