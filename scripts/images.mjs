#!/usr/bin/env node
/**
 * `npm run images [service...] [--force] [--no-check]`: builds the service images with podman
 * from the repository's Dockerfile on the local stand-in node base (docs/images.md), one at a
 * time, skipping those whose inputs did not change; prints each image's size and checks that no
 * dev dependency, test or bench file is inside (exit 1 when one is).
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const stack = require('../packages/stack/dist/index.js');

const args = process.argv.slice(2);
const services = args.filter((a) => !a.startsWith('--'));
const started = Date.now();
try {
  const base = await stack.ensureNodeBase();
  console.log(`base ${base.image}: Node ${base.node}, ${(base.bytes / 1e6).toFixed(0)} MB`);
  const images = await stack.buildImages({
    services: services.length > 0 ? services : undefined,
    force: args.includes('--force'),
  });
  let bad = 0;
  console.log('\nimage                                   size     build');
  for (const image of images) {
    const problems = args.includes('--no-check')
      ? []
      : await stack.runtimeImageViolations(image.image, image.service);
    bad += problems.length;
    console.log(
      `${image.image.padEnd(40)}${`${(image.bytes / 1e6).toFixed(0)} MB`.padStart(7)}  ${
        image.built ? `${image.seconds} s` : 'unchanged'
      }${problems.length ? `  NOT CLEAN: ${problems.join(', ')}` : ''}`,
    );
  }
  console.log(`\n${images.length} images in ${Math.round((Date.now() - started) / 1000)} s`);
  process.exit(bad ? 1 : 0);
} catch (err) {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
}
