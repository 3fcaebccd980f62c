#!/usr/bin/env node
/**
 * Makes the player's test clip in two renditions (360p and 720p) of the same 10-second picture
 * and tone with Debian's ffmpeg: VP9 + Opus in WebM, which every Chromium decodes. The results
 * are committed under public/media (each well under 300 KB); run this only to remake them.
 *   node scripts/make-clips.mjs [outDir]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const out = resolve(process.argv[2] ?? new URL('../public/media', import.meta.url).pathname);
mkdirSync(out, { recursive: true });
const renditions = [
  { name: 'clip-360p.webm', height: 360, bitrate: '90k' },
  { name: 'clip-720p.webm', height: 720, bitrate: '180k' },
];
for (const r of renditions) {
  const file = join(out, r.name);
  execFileSync(
    'ffmpeg',
    [
      '-y',
      '-loglevel',
      'error',
      '-f',
      'lavfi',
      '-i',
      `testsrc2=size=${(r.height * 16) / 9}x${r.height}:rate=24:duration=10`,
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:duration=10',
      '-c:v',
      'libvpx-vp9',
      '-b:v',
      r.bitrate,
      '-deadline',
      'good',
      '-cpu-used',
      '4',
      '-c:a',
      'libopus',
      '-b:a',
      '24k',
      '-g',
      '48',
      '-shortest',
      file,
    ],
    { stdio: 'inherit' },
  );
  console.log(`${file}: ${Math.round(statSync(file).size / 1024)} KB`);
}
