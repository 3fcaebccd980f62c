#!/usr/bin/env node
/**
 * Makes `npm start` and `npm test` work on a fresh clone: installs the locked dependencies with
 * `npm ci` when node_modules is missing or older than package-lock.json. Uses nothing but Node.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const lock = join(root, 'package-lock.json');
const stamp = join(root, 'node_modules', '.cinema-lock-hash');
const hash = createHash('sha256').update(readFileSync(lock)).digest('hex');

if (!existsSync(stamp) || readFileSync(stamp, 'utf8') !== hash) {
  console.error('[bootstrap] installing dependencies (npm ci)');
  const started = Date.now();
  execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: root,
    stdio: 'inherit',
  });
  writeFileSync(stamp, hash);
  console.error(
    `[bootstrap] dependencies installed in ${Math.round((Date.now() - started) / 1000)} s`,
  );
}
