/**
 * The player's control icons in Debian's headless Chromium: every control button draws an inline
 * SVG icon of non-zero size (no font glyphs, which Debian's Chromium showed as empty boxes), the
 * icons are actually painted (light pixels on the button in its screenshot), each state swaps
 * the icon, and the buttons keep their accessible names. No Kafka: the collector's intake gets a
 * sink that acknowledges at once. The page's screenshot is written to
 * $PLAYER_SCREENSHOTS/ugc-player-icons.png (default: the OS temp folder).
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createLogger } from '@cinema/logging';
import type { Page } from 'playwright-core';
import { countPixels, launchChromium, type HeadlessChromium } from '@cinema/testing';
import { buildApp as buildCollector } from '../../services/ugc-collector/src/app';
import { topicNames } from '../../services/ugc-collector/src/domain/events';
import { EventIntake } from '../../services/ugc-collector/src/domain/intake';

jest.setTimeout(120_000);

/* Browser globals used inside page functions (this project's TypeScript has no DOM typings). */
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const getComputedStyle: any;
/* eslint-enable @typescript-eslint/no-explicit-any */

const shots = process.env.PLAYER_SCREENSHOTS ?? os.tmpdir();
const BUTTONS = ['#play', '#mute', '#fullscreen'];

interface Drawn {
  label: string | null;
  text: string;
  /** Width and height of each SVG icon that is displayed in the button. */
  icons: Array<{ name: string; width: number; height: number; paths: number }>;
}

/** What a button shows: its accessible name, its text, and the SVG icons on display. */
function drawn(page: Page, selector: string): Promise<Drawn> {
  return page.$eval(selector, (button) => {
    const icons = [...button.querySelectorAll('svg')]
      .filter((svg) => getComputedStyle(svg).display !== 'none')
      .map((svg) => {
        const box = svg.getBoundingClientRect();
        return {
          name: svg.getAttribute('class') ?? '',
          width: box.width,
          height: box.height,
          paths: svg.querySelectorAll('path').length,
        };
      });
    return {
      label: button.getAttribute('aria-label'),
      text: (button.textContent ?? '').trim(),
      icons,
    };
  }) as Promise<Drawn>;
}

/** Light pixels (the icon, #eee on the button's #333) in a screenshot of the button. */
const lightPixels = (page: Page, selector: string) =>
  countPixels(page, selector, { min: [151, 151, 151], max: [255, 255, 255] });

describe('player control icons', () => {
  let server: Server;
  let browser: HeadlessChromium;

  beforeAll(async () => {
    const collector = buildCollector({
      config: { CORS_ORIGINS: [], BODY_LIMIT: '1mb', BATCH_MAX_EVENTS: 500 },
      logger: createLogger({ service: 'player-icons-test', level: 'silent' }),
      intake: new EventIntake({ sink: { send: async () => undefined }, topics: topicNames('') }),
      readiness: {},
    });
    server = await new Promise<Server>((resolve) => {
      const s = collector.listen(0, '127.0.0.1', () => resolve(s));
    });
    browser = await launchChromium();
  }, 600_000);

  afterAll(async () => {
    await browser?.close();
    if (server) await new Promise((r) => server.close(r));
  });

  it('draws an SVG icon of non-zero size in every control button, for each state', async () => {
    const { port } = server.address() as AddressInfo;
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1000, height: 700 });
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(`http://127.0.0.1:${port}/player/`);
    await page.waitForFunction(() => document.querySelector('video').readyState >= 1);
    await page.screenshot({ path: path.join(shots, 'ugc-player-icons.png') });

    const expected: Record<string, [string, string]> = {
      '#play': ['Play', 'icon-play'],
      '#mute': ['Mute', 'icon-volume'],
      '#fullscreen': ['Fullscreen', 'icon-enter-fullscreen'],
    };
    for (const selector of BUTTONS) {
      const d = await drawn(page, selector);
      const [label, icon] = expected[selector]!;
      expect({ selector, label: d.label, text: d.text }).toEqual({ selector, label, text: '' });
      expect(d.icons).toHaveLength(1);
      expect(d.icons[0]!.name).toContain(icon);
      expect(d.icons[0]!.width).toBeGreaterThan(0);
      expect(d.icons[0]!.height).toBeGreaterThan(0);
      expect(d.icons[0]!.paths).toBeGreaterThan(0);
      expect(await lightPixels(page, selector)).toBeGreaterThan(20);
    }

    // The other state of each button: another icon, another name.
    await page.click('#mute');
    await page.waitForFunction(() => document.querySelector('video').muted);
    const muted = await drawn(page, '#mute');
    expect(muted.label).toBe('Unmute');
    expect(muted.icons.map((i) => i.name)).toEqual(['icon icon-muted']);
    expect(muted.icons[0]!.width).toBeGreaterThan(0);

    await page.click('#play');
    await page.waitForFunction(() => !document.querySelector('video').paused);
    const playing = await drawn(page, '#play');
    expect(playing.label).toBe('Pause');
    expect(playing.icons.map((i) => i.name)).toEqual(['icon icon-pause']);
    expect(await lightPixels(page, '#play')).toBeGreaterThan(20);
    await page.click('#play');
    await page.waitForFunction(() => document.querySelector('video').paused);
    expect((await drawn(page, '#play')).label).toBe('Play');

    await page.click('#fullscreen');
    await page.waitForFunction(() => document.fullscreenElement !== null);
    const full = await drawn(page, '#fullscreen');
    expect(full.label).toBe('Exit fullscreen');
    expect(full.icons.map((i) => i.name)).toEqual(['icon icon-exit-fullscreen']);
    expect(full.icons[0]!.width).toBeGreaterThan(0);
    await page.screenshot({ path: path.join(shots, 'ugc-player-icons-fullscreen.png') });

    expect(problems).toEqual([]);
    await page.close();
  });
});
