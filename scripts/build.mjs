#!/usr/bin/env node
/**
 * Builds every workspace: tsoa spec and routes for each service that has a tsoa.json, then one
 * incremental `tsc -b` over all workspaces (packages first, by their references).
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

for (const dir of workspaces) {
  if (existsSync(join(dir, 'tsoa.json'))) run('node', [join(root, 'scripts', 'tsoa.mjs'), dir]);
}

const buildConfig = join(root, 'tsconfig.build.json');
writeFileSync(
  buildConfig,
  JSON.stringify(
    { files: [], references: workspaces.map((dir) => ({ path: relative(root, dir) })) },
    null,
    2,
  ) + '\n',
);
run(bin('tsc'), ['-b', buildConfig]);

if (process.argv.includes('--typecheck'))
  run(bin('tsc'), ['-p', join(root, 'tsconfig.typecheck.json')]);
