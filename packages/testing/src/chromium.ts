/**
 * Headless Chromium for browser tests: Debian's /usr/bin/chromium, installed through the stack's
 * apt helper when missing (never a downloaded Playwright build), driven by playwright-core in a
 * fresh profile that is removed on close. playwright-core and @cinema/stack are loaded on first
 * use, so the tests that never open a browser do not load them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** The switches every browser test runs Chromium with (no sandbox as root, nothing phoning home). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The player tests play video without a click first.
  '--autoplay-policy=no-user-gesture-required',
];

export interface HeadlessChromium {
  /** The browser's one context (a persistent profile): `context.newPage()`, `context.cookies()`. */
  context: BrowserContext;
  /** Closes the browser and removes its profile folder. */
  close(): Promise<void>;
}

export interface ChromiumOptions {
  /** The pages' viewport (Playwright's default, 1280x720, when left out). */
  viewport?: { width: number; height: number };
  /** Start of the profile folder's name under the OS temp folder. */
  profilePrefix?: string;
}

/** Installs Chromium when it is missing and launches it headless in a fresh profile. */
export async function launchChromium(options: ChromiumOptions = {}): Promise<HeadlessChromium> {
  if (!fs.existsSync(CHROMIUM)) {
    const { aptInstall, logDir } = await import('@cinema/stack');
    await aptInstall('chromium', ['chromium'], path.join(logDir(), 'chromium-install.log'));
  }
  const { chromium } = await import('playwright-core');
  const profile = fs.mkdtempSync(
    path.join(os.tmpdir(), `${options.profilePrefix ?? 'cinema-chromium'}-`),
  );
  let context: BrowserContext;
  try {
    // launchPersistentContext passes the profile as --user-data-dir.
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      ...(options.viewport ? { viewport: options.viewport } : {}),
      args: CHROMIUM_ARGS,
    });
  } catch (err) {
    fs.rmSync(profile, { recursive: true, force: true });
    throw err;
  }
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** What `countPixels` counts: pixels whose red, green and blue each lie within [min, max]. */
export interface PixelRange {
  min: [number, number, number];
  max: [number, number, number];
}

// What the page-side function uses of the DOM (this package compiles without the DOM library).
interface PageImage {
  src: string;
  width: number;
  height: number;
  decode(): Promise<void>;
}
interface PageCanvas {
  width: number;
  height: number;
  getContext(kind: '2d'): {
    drawImage(img: PageImage, x: number, y: number): void;
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}
declare const Image: new () => PageImage;
declare const document: { createElement(tag: 'canvas'): PageCanvas };

/**
 * How many pixels of a screenshot of `selector` have a colour in `range` (the page decodes the
 * PNG itself, on a canvas): proof that something is painted, not only laid out.
 */
export async function countPixels(page: Page, selector: string, range: PixelRange) {
  const png = await page.locator(selector).screenshot();
  return (await page.evaluate(
    async ({ b64, min, max }) => {
      const img = new Image();
      img.src = `data:image/png;base64,${b64}`;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = img.width;
      canvas.height = img.height;
      const ctx = canvas.getContext('2d');
      ctx.drawImage(img, 0, 0);
      const { data } = ctx.getImageData(0, 0, img.width, img.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        let inside = true;
        for (let c = 0; c < 3; c++) {
          const v = data[i + c]!;
          if (v < min[c]! || v > max[c]!) inside = false;
        }
        if (inside) n++;
      }
      return n;
    },
    { b64: png.toString('base64'), min: range.min, max: range.max },
  )) as number;
}
