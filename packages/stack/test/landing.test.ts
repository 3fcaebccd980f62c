import { escapeHtml, renderLandingPage, safeHref } from '../src/landing';

const page = () =>
  renderLandingPage({
    player: {
      href: '/player/?film=3d825f60-9fff-4dfe-b294-1a45fa1e115d&x=1',
      filmTitle: 'Star <b>Wars</b> & "Co"',
    },
    admin: { href: '/admin/', email: 'admin@cinema.local' },
    analytics: { href: '/analytics/' },
    docs: [
      { href: '/docs/auth/', label: 'auth', note: '/api/v1/auth' },
      { href: '/docs/catalog-api/', label: 'catalog-api' },
    ],
    mailCatcher: 'http://127.0.0.1:21080',
  });

describe('landing page', () => {
  it('links the player with the film, the admin panel, the analytics page, each Swagger UI and the mail catcher', () => {
    const html = page();
    expect(html).toContain('<a href="/analytics/">Viewer analytics</a>');
    expect(html).toContain('href="/player/?film=3d825f60-9fff-4dfe-b294-1a45fa1e115d&amp;x=1"');
    expect(html).toContain('href="/admin/"');
    expect(html).toContain('Log in as admin@cinema.local');
    expect(html).toContain('href="/docs/auth/"');
    expect(html).toContain('href="/docs/catalog-api/"');
    expect(html).toContain('href="http://127.0.0.1:21080/"');
  });

  it('escapes what it shows', () => {
    const html = page();
    expect(html).toContain('Star &lt;b&gt;Wars&lt;/b&gt; &amp; &quot;Co&quot;');
    expect(html).not.toContain('<b>Wars');
    expect(escapeHtml(`<script>alert('x')</script>`)).toBe(
      '&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;',
    );
  });

  it('loads nothing from elsewhere: no script, stylesheet link, image, font or import; a CSP says so', () => {
    const html = page();
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|src=/i);
    expect(html).toContain(
      `content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`,
    );
  });

  it('refuses links that are not gateway paths or http(s) URLs', () => {
    expect(() => safeHref('javascript:alert(1)')).toThrow(/not a gateway path/);
    expect(() => safeHref('//evil.example/x')).toThrow(/not a gateway path/);
    expect(() => safeHref('data:text/html,x')).toThrow(/not a gateway path/);
    expect(safeHref('/docs/a/')).toBe('/docs/a/');
  });

  it('shows a notice instead of links when the services do not run', () => {
    const html = renderLandingPage({ docs: [], notice: 'Not <running>' });
    expect(html).toContain('<p class="notice">Not &lt;running&gt;</p>');
    expect(html).not.toContain('<h2>');
  });
});
