/**
 * The committed clients (src/openapi/*.ts) match the services' specs as built
 * (services/<name>/src/generated/swagger.json): the generator runs again into a temporary
 * directory and the result is compared. `npm test` builds the specs (typecheck stage) before the
 * unit project runs. When this fails: `npm run clients`, then commit packages/clients/src/openapi.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../../..');
const GENERATE = path.join(ROOT, 'packages/clients/scripts/generate.mjs');
const OPENAPI = path.join(ROOT, 'packages/clients/src/openapi');

function check(...args: string[]): { code: number; out: string } {
  try {
    const out = execFileSync(process.execPath, [GENERATE, '--check', ...args], {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return { code: 0, out };
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string };
    return { code: e.status, out: `${e.stdout}${e.stderr}` };
  }
}

jest.setTimeout(120_000);

it('the committed clients are generated from the current specs (else: npm run clients)', () => {
  const { code, out } = check();
  if (code !== 0) throw new Error(out);
  expect(out).toMatch(/files match the specs/);
});

it('the check fails on a client that no longer matches its spec, and names it', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'clients-check-'));
  try {
    cpSync(OPENAPI, dir, { recursive: true });
    const file = path.join(dir, 'auth.ts');
    // As if auth's spec had gained an operation since the client was generated.
    writeFileSync(file, readFileSync(file, 'utf8').replace("'/api/v1/auth/login'", "'/login'"));
    rmSync(path.join(dir, 'ugc-etl.ts'));
    writeFileSync(path.join(dir, 'gone.ts'), 'export {};\n');
    const { code, out } = check('--against', dir);
    expect(code).toBe(1);
    expect(out).toMatch(/auth\.ts: stale \(first difference at line \d+/);
    expect(out).toMatch(/ugc-etl\.ts: missing/);
    expect(out).toMatch(/gone\.ts: no service has this spec/);
    expect(out).toMatch(/npm run clients/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
