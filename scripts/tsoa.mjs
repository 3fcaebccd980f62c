#!/usr/bin/env node
/**
 * Generates a service's OpenAPI spec and Express routes with tsoa. The service's tsoa.json holds
 * only what differs from the root tsoa.json (`"extends": "../../tsoa.json"`); the two are merged
 * (objects deeply, everything else replaced) into src/generated/tsoa.config.json and handed to
 * the tsoa CLI. Skipped when no controller or config changed since the last run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const serviceDir = resolve(process.argv[2] ?? '.');
const root = resolve(dirname(new URL(import.meta.url).pathname), '..');

const isObject = (v) => v && typeof v === 'object' && !Array.isArray(v);
const merge = (base, over) =>
  Object.fromEntries(
    [...new Set([...Object.keys(base), ...Object.keys(over)])].map((k) => [
      k,
      isObject(base[k]) && isObject(over[k]) ? merge(base[k], over[k]) : (over[k] ?? base[k]),
    ]),
  );

function load(file) {
  const json = JSON.parse(readFileSync(file, 'utf8'));
  const { extends: parent, ...rest } = json;
  return parent ? merge(load(resolve(dirname(file), parent)), rest) : rest;
}

const config = load(join(serviceDir, 'tsoa.json'));
const outDir = join(serviceDir, 'src', 'generated');
mkdirSync(outDir, { recursive: true });
const merged = join(outDir, 'tsoa.config.json');
const text = JSON.stringify(config, null, 2) + '\n';

// Newest input: any .ts under src except generated output, and the configs.
function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'generated') latest = Math.max(latest, newest(path));
    } else if (entry.name.endsWith('.ts')) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}
const spec = join(outDir, 'swagger.json');
const routes = join(outDir, 'routes.ts');
const upToDate =
  existsSync(spec) &&
  existsSync(routes) &&
  existsSync(merged) &&
  readFileSync(merged, 'utf8') === text &&
  Math.min(statSync(spec).mtimeMs, statSync(routes).mtimeMs) >
    Math.max(newest(join(serviceDir, 'src')), statSync(join(root, 'tsoa.json')).mtimeMs);
if (upToDate) process.exit(0);

writeFileSync(merged, text);
try {
  execFileSync(join(root, 'node_modules', '.bin', 'tsoa'), ['spec-and-routes', '-c', merged], {
    cwd: serviceDir,
    stdio: 'inherit',
  });
} catch (err) {
  console.error(`tsoa failed for ${serviceDir}`);
  process.exit(err.status ?? 1);
}
// Generated code is not held to the project's unused-locals rule.
const generated = readFileSync(routes, 'utf8');
if (!generated.startsWith('// @ts-nocheck')) writeFileSync(routes, `// @ts-nocheck\n${generated}`);
