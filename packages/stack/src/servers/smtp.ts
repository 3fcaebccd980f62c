import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  dataDir,
  logDir,
  pickPort,
  repoRoot,
  spawnServer,
  StackError,
  waitFor,
  type ServerDefinition,
} from '../core';

/**
 * MailDev (npm `maildev`, a dependency of @cinema/stack): catches every mail sent to its SMTP
 * port and shows it through its web API (`GET /email` lists the mails), both on loopback.
 */

function maildevDir(): string {
  const candidates = new Set<string>([...module.paths, path.join(repoRoot(), 'node_modules')]);
  for (const dir of candidates) {
    const pkg = path.join(dir, 'maildev');
    if (fs.existsSync(path.join(pkg, 'bin', 'maildev'))) return pkg;
  }
  throw new StackError(
    'smtp: maildev not found in node_modules; run npm ci (it is a dependency of @cinema/stack)',
  );
}

async function webApiAnswers(webUrl: string): Promise<boolean> {
  const res = await fetch(`${webUrl}/email`, { signal: AbortSignal.timeout(2000) });
  await res.arrayBuffer();
  return res.ok;
}

export const smtp: ServerDefinition = {
  name: 'smtp',
  envKey: 'SMTP_URL',
  async start() {
    const logFile = path.join(logDir(), 'smtp.log');
    const dir = maildevDir();
    const version = (
      JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }
    ).version;
    const smtpPort = await pickPort(Number(process.env.STACK_SMTP_PORT ?? 21025));
    const webPort = await pickPort(Number(process.env.STACK_MAILDEV_WEB_PORT ?? 21080));
    const mails = dataDir('smtp');
    // Mails of an earlier run are not wanted: MailDev reloads the folder on start.
    for (const entry of fs.readdirSync(mails))
      fs.rmSync(path.join(mails, entry), { recursive: true, force: true });
    const proc = spawnServer({
      name: 'smtp',
      command: process.execPath,
      args: [
        path.join(dir, 'bin', 'maildev'),
        '--ip',
        '127.0.0.1',
        '--web-ip',
        '127.0.0.1',
        '--smtp',
        String(smtpPort),
        '--web',
        String(webPort),
        '--mail-directory',
        mails,
      ],
      cwd: mails,
      logFile,
    });
    const webUrl = `http://127.0.0.1:${webPort}`;
    await waitFor('smtp', () => webApiAnswers(webUrl), { process: proc, timeoutMs: 30_000 });
    return {
      name: 'smtp',
      version: `MailDev ${version}`,
      env: { SMTP_URL: `smtp://127.0.0.1:${smtpPort}`, MAILCATCHER_URL: webUrl },
      pid: proc.pid,
      logFile,
    };
  },
  async probe(server) {
    return webApiAnswers(server.env.MAILCATCHER_URL!);
  },
};
