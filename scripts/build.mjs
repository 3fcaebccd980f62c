#!/usr/bin/env node
/**
 * Builds every workspace: the shared packages, then tsoa spec and routes for each service that
 * has a tsoa.json, then one incremental `tsc -b` over all workspaces.
 * `--typecheck` also type-checks tests (which the build leaves out) without emitting.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const bin = (name) => join(root, 'node_modules', '.bin', name);
const run = (cmd, args, cwd = root) => {
  try {
    execFileSync(cmd, args, { cwd, stdio: 'inherit' });
  } catch (err) {
    console.error(
      `build: ${relative(root, cmd)} ${args.map((a) => relative(root, a) || a).join(' ')} failed`,
    );
    process.exit(err.status ?? 1);
  }
};

const workspaces = ['packages', 'services']
  .flatMap((dir) =>
    existsSync(join(root, dir)) ? readdirSync(join(root, dir)).map((d) => join(root, dir, d)) : [],
  )
  .filter(
    (dir) =>
      (existsSync(join(dir, 'tsconfig.json')) && existsSync(join(dir, 'src', 'index.ts'))) ||
      existsSync(join(dir, 'src', 'main.ts')),
  );

// Shared packages first: tsoa reads the services' imported types (ProblemDetails, ...) from the
// packages' compiled declarations, which a fresh clone does not have yet.
const build = (name, dirs) => {
  const config = join(root, name);
  writeFileSync(
    config,
    JSON.stringify(
      { files: [], references: dirs.map((dir) => ({ path: relative(root, dir) })) },
      null,
      2,
    ) + '\n',
  );
  run(bin('tsc'), ['-b', config]);
};
const packages = workspaces.filter((dir) => relative(root, dir).startsWith('packages'));
build('tsconfig.build.json', packages);

for (const dir of workspaces) {
  if (existsSync(join(dir, 'tsoa.json'))) run('node', [join(root, 'scripts', 'tsoa.mjs'), dir]);
}

build('tsconfig.build.json', workspaces);

if (process.argv.includes('--typecheck'))
  run(bin('tsc'), ['-p', join(root, 'tsconfig.typecheck.json')]);
