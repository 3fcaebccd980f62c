/**
 * The admin panel in headless Chromium: log in, create a film, attach a genre and a person with
 * a role, edit, search, delete. Debian's chromium is installed when missing (`launchChromium` of
 * @cinema/testing, through the stack's apt helper); playwright-core drives it (never `playwright
 * install`).
 * Screenshots go to $CATALOG_ADMIN_SCREENSHOTS (default: the OS temp folder).
 */
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { startBrowserPanel, type BrowserPanel } from './browser-panel';

const shots = process.env.CATALOG_ADMIN_SCREENSHOTS ?? os.tmpdir();

let panel: BrowserPanel;

beforeAll(async () => {
  panel = await startBrowserPanel({
    database: 'catalog_admin_browser',
    accounts: { 'editor@test': { password: 'editor-pass', roles: ['admin'] } },
    chromium: { profilePrefix: 'catalog-admin-chromium' },
  });
  await panel.catalog.createGenre({ name: 'Science Fiction', description: null });
  await panel.catalog.createPerson({ fullName: 'Sigourney Weaver', birthDate: '1949-10-08' });
}, 600_000);

afterAll(() => panel?.close());

const shot = (page: Page, name: string) =>
  page.screenshot({ path: path.join(shots, `catalog-admin-${name}.png`), fullPage: true });

it('an editor logs in and edits a film with its genre and cast in the browser', async () => {
  const page = await panel.browser.context.newPage();
  page.setDefaultTimeout(15_000);

  await page.goto(`${panel.base}/admin/films`);
  await page.waitForURL(/\/admin\/login/);
  await page.fill('#email', 'editor@test');
  await page.fill('#password', 'wrong');
  await page.click('button[type=submit]');
  await page.getByRole('alert').getByText('wrong e-mail or password').waitFor();
  await page.fill('#password', 'editor-pass');
  await page.click('button[type=submit]');
  await page.waitForURL(/\/admin\/films$/);
  await page.getByRole('heading', { name: 'Films' }).waitFor();
  const cookies = await panel.browser.context.cookies();
  expect(cookies.find((c) => c.name === 'ca_access')).toMatchObject({
    httpOnly: true,
    sameSite: 'Strict',
  });

  // Create.
  await page.getByRole('link', { name: 'New film' }).click();
  await page.fill('#title', 'Alien');
  await page.fill('#description', 'The crew of a space tug meets a deadly creature.');
  await page.fill('#creationDate', '1979-05-25');
  await page.fill('#rating', '8.5');
  await page.selectOption('#type', 'movie');
  await page.getByRole('button', { name: 'Create' }).click();
  await page.getByRole('status').getByText('Created.').waitFor();
  const filmId = /\/admin\/films\/([0-9a-f-]{36})/.exec(page.url())![1]!;

  // Attach a genre and a person with a role.
  await page.selectOption('select[name=genreId]', { label: 'Science Fiction' });
  await page.getByRole('button', { name: 'Attach genre' }).click();
  await page.getByRole('status').getByText('Genre attached.').waitFor();
  await page.fill('input[name=person]', 'Sigourney Weaver');
  await page.selectOption('select[name=role]', 'actor');
  await page.getByRole('button', { name: 'Attach person' }).click();
  await page.getByRole('status').getByText('Person attached.').waitFor();
  expect(await page.locator('#genres li').allInnerTexts()).toEqual([
    expect.stringContaining('Science Fiction'),
  ]);
  expect(await page.locator('#persons tbody tr').first().innerText()).toMatch(
    /actor\s+Sigourney Weaver/,
  );

  // Edit.
  await page.fill('#title', 'Alien (Director’s Cut)');
  await page.fill('#rating', '8.6');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.getByRole('status').getByText('Saved.').waitFor();
  await page.getByRole('heading', { name: 'Alien (Director’s Cut)' }).waitFor();
  await shot(page, 'film');
  const { rows } = await panel.db.pool.query(
    `SELECT f.title, f.rating, g.name AS genre, p.full_name, pfw.role
       FROM content.film_work f
       JOIN content.genre_film_work gfw ON gfw.film_work_id = f.id JOIN content.genre g ON g.id = gfw.genre_id
       JOIN content.person_film_work pfw ON pfw.film_work_id = f.id JOIN content.person p ON p.id = pfw.person_id
      WHERE f.id = $1`,
    [filmId],
  );
  expect(rows).toEqual([
    {
      title: 'Alien (Director’s Cut)',
      rating: 8.6,
      genre: 'Science Fiction',
      full_name: 'Sigourney Weaver',
      role: 'actor',
    },
  ]);

  // Search.
  await page.getByRole('navigation').getByRole('link', { name: 'Films' }).click();
  await page.getByRole('searchbox', { name: 'Search' }).fill('director');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: 'Alien (Director’s Cut)' }).waitFor();
  await shot(page, 'films');
  await page.getByRole('link', { name: 'Alien (Director’s Cut)' }).click();

  // Delete.
  await page.getByRole('button', { name: 'Delete this film' }).click();
  await page.getByRole('status').getByText('Deleted.').waitFor();
  expect(await page.getByText('No films found.').count()).toBe(1);
  const gone = await panel.db.pool.query(`SELECT 1 FROM content.film_work WHERE id = $1`, [filmId]);
  expect(gone.rowCount).toBe(0);

  // Log out: the panel is closed again.
  await page.getByRole('button', { name: 'Log out' }).click();
  await page.waitForURL(/\/admin\/login/);
  await page.goto(`${panel.base}/admin/films`);
  await page.waitForURL(/\/admin\/login/);
});
