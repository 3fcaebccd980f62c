/**
 * Headless Chromium for browser tests: Debian's /usr/bin/chromium, installed through the stack's
 * apt helper when missing (never a downloaded Playwright build), driven by playwright-core in a
 * fresh profile that is removed on close. playwright-core and @cinema/stack are loaded on first
 * use, so the tests that never open a browser do not load them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BrowserContext } from 'playwright-core';

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
