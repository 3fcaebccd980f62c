#!/usr/bin/env node
/**
 * `npm run simulate -- [options]`: viewer sessions against the gateway (or the given services),
 * a progress bar, a summary; with --soak, the check that ClickHouse holds exactly what was
 * accepted. Exit 0, or 1 when the soak check fails, 2 on bad options.
 */
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import { SingleBar, Presets } from 'cli-progress';
import { accountsOf, logIn } from './accounts';
import { DEFAULTS, hash, rng } from './model';
import { run, type Stats } from './runner';
import { soakCheck } from './soak';

const HELP = `cinema viewer simulator

  npm run simulate -- --viewers 500 --minutes 10 [options]

Load (open loop, seeded):
  --viewers N            sessions to start over the run (default 100); or
  --rate R               sessions started per second (Poisson), instead of --viewers
  --minutes M            how long sessions keep starting (default 1; --seconds S for seconds)
  --seed N               seed of every random choice (default 1): same seed, same sessions
  --session-seconds S    mean real-time length of a session (default ${DEFAULTS.sessionSeconds})
  --logged-in SHARE      share of logged-in viewers, 0..1 (default ${DEFAULTS.loggedInShare}); the others are anonymous
  --bad-network SHARE    share of sessions on a bad network (default ${DEFAULTS.badNetworkShare})
  --finish SHARE         share of viewers who watch to the end (default ${DEFAULTS.finishShare})
  --films N              films to pick from (default 50, read from the catalog)
  --accounts N           logged-in viewers' accounts at auth (default 5; made when missing)

Where (default: the gateway, GATEWAY_URL or http://127.0.0.1:8080):
  --gateway URL          base URL of everything below
  --collector URL  --catalog URL  --auth URL  --analytics URL

Soak:
  --soak                 after the run, check that ClickHouse (through ugc-etl's read API)
                         holds exactly the accepted events, by kind and film
  --soak-wait S          how long to wait for the ETL to catch up (default 120)
  --analyst-email E --analyst-password P   an admin/super_user account for the read API
                         (or SIMULATOR_ANALYST_TOKEN)
Output:
  --json FILE            the summary as JSON
  --quiet                no progress bar
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n\n${HELP}`);
  process.exit(2);
}

const { values: a } = (() => {
  try {
    return parseArgs({
      options: {
        viewers: { type: 'string' },
        rate: { type: 'string' },
        minutes: { type: 'string' },
        seconds: { type: 'string' },
        seed: { type: 'string', default: '1' },
        'session-seconds': { type: 'string' },
        'logged-in': { type: 'string' },
        'bad-network': { type: 'string' },
        finish: { type: 'string' },
        films: { type: 'string', default: '50' },
        accounts: { type: 'string', default: '5' },
        gateway: { type: 'string' },
        collector: { type: 'string' },
        catalog: { type: 'string' },
        auth: { type: 'string' },
        analytics: { type: 'string' },
        soak: { type: 'boolean', default: false },
        'soak-wait': { type: 'string', default: '120' },
        'analyst-email': { type: 'string' },
        'analyst-password': { type: 'string' },
        json: { type: 'string' },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    });
  } catch (err) {
    return fail((err as Error).message);
  }
})();
if (a.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const number = (name: string, text: string | undefined, min: number, max: number) => {
  if (text === undefined) return undefined;
  const v = Number(text);
  if (!Number.isFinite(v) || v < min || v > max)
    fail(`--${name} must be a number in ${min}..${max}`);
  return v;
};
const seconds =
  number('seconds', a.seconds, 1, 86_400) ?? (number('minutes', a.minutes, 0.05, 1440) ?? 1) * 60;
const viewers = number('viewers', a.viewers, 1, 10_000_000);
const rate = number('rate', a.rate, 0.001, 10_000) ?? (viewers ?? 100) / seconds;
const seed = number('seed', a.seed, 0, 2 ** 32 - 1)!;
const gateway = (a.gateway ?? process.env.GATEWAY_URL ?? 'http://127.0.0.1:8080').replace(
  /\/$/,
  '',
);
const url = (u: string | undefined) => (u ?? gateway).replace(/\/$/, '');
const targets = { collector: url(a.collector), catalog: url(a.catalog) };
const auth = url(a.auth);
const analytics = url(a.analytics);
const filmCount = number('films', a.films, 1, 1000)!;
const accountCount = number('accounts', a.accounts, 0, 50)!;
const model = {
  seed,
  loggedInShare: number('logged-in', a['logged-in'], 0, 1) ?? DEFAULTS.loggedInShare,
  sessionSeconds:
    number('session-seconds', a['session-seconds'], 1, 3600) ?? DEFAULTS.sessionSeconds,
  badNetworkShare: number('bad-network', a['bad-network'], 0, 1) ?? DEFAULTS.badNetworkShare,
  finishShare: number('finish', a.finish, 0, 1) ?? DEFAULTS.finishShare,
  queries: DEFAULTS.queries,
};
const log = (line: string) => process.stderr.write(`${line}\n`);
if (
  a.soak &&
  !process.env.SIMULATOR_ANALYST_TOKEN &&
  !(a['analyst-email'] && a['analyst-password'])
)
  fail('--soak needs --analyst-email and --analyst-password, or SIMULATOR_ANALYST_TOKEN');

async function films(token: string | undefined): Promise<string[]> {
  if (token) {
    const res = await fetch(
      `${targets.catalog}/api/v1/films?sort=-rating&page_size=${Math.min(100, filmCount)}`,
      {
        headers: { authorization: `Bearer ${token}` },
        signal: AbortSignal.timeout(10_000),
      },
    ).catch(() => undefined);
    if (res?.ok) {
      const body = (await res.json()) as { items: Array<{ id?: string; uuid?: string }> };
      const ids = body.items.map((f) => f.id ?? f.uuid).filter((id): id is string => !!id);
      if (ids.length) return ids.slice(0, filmCount);
    }
    log(`catalog: no film list (${res?.status ?? 'unreachable'}); watching made-up films`);
  }
  const r = rng(hash(seed, 'films'));
  return Array.from({ length: filmCount }, () => {
    const hex = Array.from({ length: 32 }, () => Math.floor(r() * 16).toString(16)).join('');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20)}`;
  });
}

function report(stats: Stats, wallSeconds: number) {
  const e = stats.events;
  const lines = [
    '',
    `sessions       ${stats.sessions} started, ${stats.sessionsDone} done in ${wallSeconds.toFixed(1)} s`,
    `player events  ${Object.entries(e)
      .map(([k, v]) => `${k} ${v.accepted}/${v.sent}`)
      .join(', ')} (accepted/sent)`,
    `page views     ${
      Object.entries(stats.pageViews)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none'
    }`,
    ...(['collector', 'catalog'] as const).map(
      (t) =>
        `answers ${t.padEnd(9)} 2xx ${stats.status[t]['2xx']}, 3xx ${stats.status[t]['3xx']}, 4xx ${stats.status[t]['4xx']}, 5xx ${stats.status[t]['5xx']}, no answer ${stats.status[t].network}`,
    ),
    ...Object.entries(stats.networkErrors).map(([why, n]) => `  no answer: ${why} (${n})`),
    ...(['collector', 'catalog'] as const).map(
      (t) =>
        `latency ${t.padEnd(9)} n=${stats.latency[t].count} p50 ${stats.latency[t].p50.toFixed(1)} ms, p95 ${stats.latency[t].p95.toFixed(1)} ms, p99 ${stats.latency[t].p99.toFixed(1)} ms, max ${stats.latency[t].max.toFixed(1)} ms`,
    ),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

async function main() {
  const tokens: string[] = [];
  if (model.loggedInShare > 0 && accountCount > 0) {
    for (const account of accountsOf(seed, accountCount)) {
      try {
        tokens.push(await logIn(auth, account));
      } catch (err) {
        log(`accounts: ${(err as Error).message}`);
        break;
      }
    }
    log(`accounts: ${tokens.length} of ${accountCount} logged in`);
  }
  const filmIds = await films(tokens[0]);
  log(
    `run ${randomUUID().slice(0, 8)}: seed ${seed}, ${rate.toFixed(2)} sessions/s for ${seconds} s, ${filmIds.length} films, collector ${targets.collector}, catalog ${targets.catalog}`,
  );
  const bar = a.quiet
    ? undefined
    : new SingleBar(
        {
          format:
            '{bar} {percentage}% | {elapsed}s | sessions {sessions} | events {events} | 2xx {ok} 4xx {c4} 5xx {c5} | p50 {p50} ms',
          hideCursor: true,
        },
        Presets.shades_classic,
      );
  bar?.start(seconds, 0, { sessions: 0, events: 0, ok: 0, c4: 0, c5: 0, p50: 0 });
  const abort = new AbortController();
  process.once('SIGINT', () => abort.abort());
  const t0 = Date.now();
  const stats = await run({
    ...model,
    targets,
    arrivalRate: rate,
    seconds,
    tokens,
    filmIds,
    signal: abort.signal,
    onProgress: (s, ms) =>
      bar?.update(Math.min(seconds, ms / 1000), {
        sessions: s.sessions,
        events: Object.values(s.events).reduce((n, v) => n + v.sent, 0),
        ok: s.status.collector['2xx'] + s.status.catalog['2xx'],
        c4: s.status.collector['4xx'] + s.status.catalog['4xx'],
        c5: s.status.collector['5xx'] + s.status.catalog['5xx'],
        p50: s.latency.collector.p50.toFixed(1),
      }),
  });
  bar?.update(seconds);
  bar?.stop();
  report(stats, (Date.now() - t0) / 1000);
  let soak;
  if (a.soak) {
    const token =
      process.env.SIMULATOR_ANALYST_TOKEN ??
      (await logIn(auth, { email: a['analyst-email']!, password: a['analyst-password']! }));
    soak = await soakCheck(stats, {
      analytics,
      token,
      waitSeconds: number('soak-wait', a['soak-wait'], 1, 3600)!,
      log,
    });
    const kinds = new Map<string, { accepted: number; stored: number }>();
    for (const r of soak.rows) {
      const k = kinds.get(r.kind) ?? { accepted: 0, stored: 0 };
      k.accepted += r.accepted;
      k.stored += r.stored;
      kinds.set(r.kind, k);
    }
    process.stdout.write(
      `soak           ${soak.ok ? 'OK' : 'FAILED'} after ${(soak.waitedMs / 1000).toFixed(1)} s: ${[
        ...kinds,
      ]
        .map(([k, v]) => `${k} ${v.stored}/${v.accepted}`)
        .join(
          ', ',
        )} stored/accepted over ${new Set(soak.rows.map((r) => r.film)).size} films; missing ${soak.missing}, duplicates ${soak.duplicates}, stored but never acknowledged ${soak.storedUnconfirmed}\n`,
    );
    for (const r of soak.rows.filter((x) => x.stored !== x.accepted))
      process.stdout.write(`  film ${r.film} ${r.kind}: stored ${r.stored} of ${r.accepted}\n`);
  }
  if (a.json)
    fs.writeFileSync(
      a.json,
      JSON.stringify(
        {
          seed,
          rate,
          seconds,
          sessions: stats.sessions,
          events: stats.events,
          pageViews: stats.pageViews,
          status: stats.status,
          networkErrors: stats.networkErrors,
          latency: stats.latency,
          soak,
        },
        null,
        2,
      ),
    );
  process.exitCode = soak && !soak.ok ? 1 : 0;
}

main().catch((err: unknown) => {
  log(`simulator: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
