/**
 * The admin panel for a browser test: a database of the test's own (migrated), a fake auth
 * login API with the given accounts, the app on a free loopback port, and headless Chromium.
 * `close()` undoes all of it, also what a failed start had made.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { launchChromium, type ChromiumOptions, type HeadlessChromium } from '@cinema/testing';
import {
  createTestDatabase,
  startApp,
  startFakeAuth,
  type Account,
  type FakeAuth,
  type TestDatabase,
} from './helpers';

export interface BrowserPanel {
  db: TestDatabase;
  auth: FakeAuth;
  /** The app's repository, to seed data and check behind the app's back. */
  catalog: Awaited<ReturnType<typeof startApp>>['catalog'];
  /** `http://127.0.0.1:<port>` */
  base: string;
  browser: HeadlessChromium;
  close(): Promise<void>;
}

export async function startBrowserPanel(options: {
  /** Start of the test database's name. */
  database: string;
  accounts: Record<string, Account>;
  /** The ops pages' trace and log adapters. */
  ops?: Parameters<typeof startApp>[2];
  chromium?: ChromiumOptions;
}): Promise<BrowserPanel> {
  let db: TestDatabase | undefined;
  let auth: FakeAuth | undefined;
  let server: Server | undefined;
  let browser: HeadlessChromium | undefined;
  const close = async () => {
    await browser?.close();
    if (server) await new Promise((resolve) => server!.close(resolve));
    await auth?.close();
    await db?.drop();
  };
  try {
    db = await createTestDatabase(options.database);
    auth = await startFakeAuth(options.accounts);
    const { app, catalog } = await startApp(db, auth, options.ops);
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium(options.chromium);
    return { db, auth, catalog, base, browser, close };
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}
