/**
 * Templates from files: `templates/<name>.<locale>.hbs` holds sections (`=== subject`,
 * `=== html` an MJML fragment, `=== text`, `=== sms`, `=== in_app.title`, `=== in_app.body`,
 * `=== in_app.link`), Handlebars in strict mode (a variable the caller did not give is an
 * error, not an empty string); `_layout.<locale>.mjml` wraps the HTML. Values are HTML-escaped
 * in the HTML part only; the subject is one line (no header injection). English is the fallback
 * locale.
 *
 * MJML is the costly step (a few ms a mail): its output is cached by its input (a bounded LRU).
 * A campaign's mails differ only in the unsubscribe link, so that link is rendered as a
 * per-process random placeholder, and the escaped link replaces the placeholder in the cached
 * HTML: a campaign's HTML goes through MJML once per template and locale.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Handlebars from 'handlebars';
import mjml2html from 'mjml';
import { NotFoundError, ValidationError } from '@cinema/errors';
import { LOCALES, type Locale, type RenderedMessage, type TemplateRenderer } from '../domain/model';

export const TEMPLATES_DIR = path.resolve(__dirname, '..', '..', 'templates');

type Section = 'subject' | 'html' | 'text' | 'sms' | 'in_app.title' | 'in_app.body' | 'in_app.link';
const SECTIONS: readonly Section[] = [
  'subject',
  'html',
  'text',
  'sms',
  'in_app.title',
  'in_app.body',
  'in_app.link',
];
type Compiled = Partial<Record<Section, HandlebarsTemplateDelegate>>;

const oneLine = (s: string) => s.replace(/[\r\n\u2028\u2029]+/g, ' ').trim();

export class FileTemplates implements TemplateRenderer {
  private readonly hb = Handlebars.create();
  private readonly templates = new Map<string, Partial<Record<Locale, Compiled>>>();
  private readonly layouts = new Map<Locale, HandlebarsTemplateDelegate>();
  /** MJML source -> HTML, least recently used first out. */
  private readonly mjmlCache = new Map<string, string>();
  /** Stands for the unsubscribe link while MJML runs; random so no variable can forge it. */
  private readonly linkPlaceholder = `urn-unsubscribe-${randomBytes(12).toString('hex')}`;
  /** MJML renders (cache misses), for tests and metrics. */
  mjmlRenders = 0;

  constructor(
    dir = TEMPLATES_DIR,
    private readonly mjmlCacheSize = 256,
  ) {
    for (const file of fs.readdirSync(dir)) {
      const layout = /^_layout\.([a-z]{2})\.mjml$/.exec(file);
      if (layout) {
        this.layouts.set(
          layout[1] as Locale,
          this.hb.compile(fs.readFileSync(path.join(dir, file), 'utf8')),
        );
        continue;
      }
      const m = /^([a-z0-9_]+)\.([a-z]{2})\.hbs$/.exec(file);
      if (!m || !(LOCALES as readonly string[]).includes(m[2]!)) continue;
      const byLocale = this.templates.get(m[1]!) ?? {};
      byLocale[m[2] as Locale] = this.parse(fs.readFileSync(path.join(dir, file), 'utf8'), file);
      this.templates.set(m[1]!, byLocale);
    }
  }

  private parse(source: string, file: string): Compiled {
    const out: Compiled = {};
    const parts = source.split(/^=== ([a-z_.]+)[ \t]*$/m);
    for (let i = 1; i < parts.length; i += 2) {
      const name = parts[i] as Section;
      if (!SECTIONS.includes(name)) throw new Error(`${file}: unknown section ${name}`);
      const body = parts[i + 1]!.replace(/^\n/, '').replace(/\n+$/, '');
      out[name] = this.hb.compile(body, { strict: true, noEscape: name !== 'html' });
    }
    if (!out.subject !== !out.html || !out.html !== !out.text) {
      throw new Error(`${file}: an e-mail needs subject, html and text`);
    }
    return out;
  }

  names(): string[] {
    return [...this.templates.keys()].sort();
  }

  has(template: string, part: 'email' | 'sms' | 'in_app'): boolean {
    const t = this.templates.get(template)?.en;
    if (!t) return false;
    return part === 'email'
      ? Boolean(t.html)
      : part === 'sms'
        ? Boolean(t.sms)
        : Boolean(t['in_app.title'] && t['in_app.body']);
  }

  check(template: string, vars: Record<string, unknown>): void {
    const byLocale = this.templates.get(template);
    if (!byLocale) throw new NotFoundError(`no template ${template}`);
    const all = { unsubscribe_url: null, ...vars };
    for (const sections of Object.values(byLocale)) {
      for (const [name, fn] of Object.entries(sections)) this.run(fn, all, name);
    }
  }

  private sections(template: string, locale: Locale): Compiled {
    const byLocale = this.templates.get(template);
    if (!byLocale) throw new NotFoundError(`no template ${template}`);
    return byLocale[locale] ?? byLocale.en!;
  }

  private run(
    fn: HandlebarsTemplateDelegate | undefined,
    vars: Record<string, unknown>,
    what: string,
  ): string {
    if (!fn) throw new ValidationError(`the template has no ${what} part`);
    try {
      return fn(vars);
    } catch (err) {
      throw new ValidationError(`template variable: ${(err as Error).message.split(' - ')[0]}`);
    }
  }

  async email(
    template: string,
    locale: Locale,
    vars: Record<string, unknown>,
  ): Promise<RenderedMessage> {
    const t = this.sections(template, locale);
    const subject = oneLine(this.run(t.subject, vars, 'subject'));
    const text = this.run(t.text, vars, 'text');
    const link =
      typeof vars.unsubscribe_url === 'string' && vars.unsubscribe_url !== ''
        ? vars.unsubscribe_url
        : undefined;
    const htmlVars = link === undefined ? vars : { ...vars, unsubscribe_url: this.linkPlaceholder };
    const content = this.run(t.html, htmlVars, 'html');
    const layout = this.layouts.get(locale) ?? this.layouts.get('en')!;
    let html = await this.mjml(layout({ ...htmlVars, subject, content }));
    if (link !== undefined) {
      html = html.split(this.linkPlaceholder).join(this.hb.Utils.escapeExpression(link));
    }
    return { subject, html, text };
  }

  private async mjml(source: string): Promise<string> {
    const cached = this.mjmlCache.get(source);
    if (cached !== undefined) {
      this.mjmlCache.delete(source);
      this.mjmlCache.set(source, cached);
      return cached;
    }
    this.mjmlRenders++;
    const { html, errors } = await mjml2html(source, { validationLevel: 'soft' });
    if (errors.length)
      throw new ValidationError(`MJML: ${errors.map((e) => e.formattedMessage).join('; ')}`);
    this.mjmlCache.set(source, html);
    if (this.mjmlCache.size > this.mjmlCacheSize) {
      this.mjmlCache.delete(this.mjmlCache.keys().next().value!);
    }
    return html;
  }

  sms(template: string, locale: Locale, vars: Record<string, unknown>): string {
    return oneLine(this.run(this.sections(template, locale).sms, vars, 'sms')).slice(0, 480);
  }

  inApp(
    template: string,
    locale: Locale,
    vars: Record<string, unknown>,
  ): { title: string; body: string; link: string | null } {
    const t = this.sections(template, locale);
    const link = t['in_app.link'] ? oneLine(this.run(t['in_app.link'], vars, 'in_app.link')) : '';
    return {
      title: oneLine(this.run(t['in_app.title'], vars, 'in_app.title')).slice(0, 200),
      body: this.run(t['in_app.body'], vars, 'in_app.body').trim().slice(0, 2000),
      link: link || null,
    };
  }
}
