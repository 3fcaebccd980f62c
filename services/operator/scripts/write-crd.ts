/**
 * Writes charts/operator/crds/cinemaplatforms.cinema.dev.yaml from src/domain/crd.ts (the one
 * source): `npx tsx services/operator/scripts/write-crd.ts` (`--check`: exit 1 when stale).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crdFile, crdYaml } from '../src/domain/crd-file';

const target = path.resolve(__dirname, '..', '..', '..', crdFile);
const text = crdYaml();
if (process.argv.includes('--check')) {
  const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
  if (current !== text) {
    console.error(`${crdFile} is stale: run npx tsx services/operator/scripts/write-crd.ts`);
    process.exit(1);
  }
} else {
  fs.writeFileSync(target, text);
  console.log(`wrote ${crdFile}`);
}
