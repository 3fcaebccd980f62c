/**
 * Debian's chromium for browser tests, installed with apt when missing (never a downloaded
 * Playwright build), driven with playwright-core in a fresh profile.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { aptInstall, logDir } from '@cinema/stack';

export const CHROMIUM = '/usr/bin/chromium';

export async function launchChromium(): Promise<{
  context: BrowserContext;
  close(): Promise<void>;
}> {
  if (!fs.existsSync(CHROMIUM)) {
    await aptInstall('chromium', ['chromium'], path.join(logDir(), 'chromium-install.log'));
  }
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'cinema-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}
