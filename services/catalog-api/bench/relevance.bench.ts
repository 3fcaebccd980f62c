/**
 * Search relevance of catalog-api, measured against a judgement set (bench/relevance/
 * judgements.json, built by bench/relevance/build-judgements.py from movies.sqlite): every query
 * goes through the real search endpoint of the built service (dist/main.js, a child process) over
 * the legacy catalog, loaded into indices of this run (prefix `benchrel_<suffix>_`) by
 * catalog-admin's migration CLI and one pass of catalog-etl (`--once`), each run as a process by
 * its own entry point. So the mappings are the ETL's current ones.
 *
 *   npm run bench:relevance -w services/catalog-api
 *
 * RELEVANCE_INDEX_PREFIX=<prefix> skips the load and searches indices already there (for example
 * `''`, the stack's demo catalog, when it was loaded from movies.sqlite by the current ETL).
 *
 * Per query and overall: precision@5 and @10 (a hit is relevant with any grade), MRR (the first
 * relevant hit in the top 10), nDCG@10 (gain 2^grade - 1, the ideal ranking of every judged film),
 * and whether the first hit is wrong although a film has exactly the query as its title. Queries
 * with no relevant film ("no answer") are only reported with the number of films they return.
 * Then the persons search (MRR) and, when the service has it, the warm latency of
 * `/api/v1/films/suggest` (p50/p99 of sequential requests after a warm-up).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { Redis } from 'ioredis';
import { startStack } from '@cinema/stack';
import { deleteTopicsWithPrefix, freePort, startTestIssuer, suffix } from '@cinema/testing';
import { loadLegacyCatalog } from './legacy-catalog';

interface Judged {
  id: string;
  grade: number;
  title?: string;
  full_name?: string;
}
interface Judgement {
  query: string;
  kind: string;
  relevant: Judged[];
}
interface Judgements {
  films: Judgement[];
  persons: Judgement[];
}

const JUDGEMENTS = path.join(__dirname, 'relevance/judgements.json');
const SUGGEST_PREFIXES = [
  's',
  'st',
  'sta',
  'star',
  'star w',
  'star wa',
  'star tr',
  'lego',
  'fist o',
  'phan',
  'rogue',
  'yod',
  'jed',
  'kling',
  'lucky',
  'dark s',
  'north',
  'a star',
  'empire',
  'clone',
];

const norm = (s: string) =>
  s
    .toLowerCase()
    .replace(/[^0-9a-z]+/g, ' ')
    .trim();

export interface QueryScore {
  query: string;
  kind: string;
  p5: number;
  p10: number;
  rr: number;
  ndcg10: number;
  /** An exact title match exists and the first hit is not one. */
  wrongFirst: boolean;
  total: number;
  first: string;
}

/** The scores of one ranked answer (ids and titles, best first) against the judged films. */
export function score(
  j: Judgement,
  hits: Array<{ id: string; title: string }>,
  total: number,
): QueryScore {
  const grades = new Map(j.relevant.map((r) => [r.id, r.grade]));
  const top = hits.slice(0, 10).map((h) => grades.get(h.id) ?? 0);
  const precision = (k: number) => top.slice(0, k).filter((g) => g > 0).length / k;
  const firstRelevant = top.findIndex((g) => g > 0);
  const dcg = (gs: number[]) =>
    gs.slice(0, 10).reduce((sum, g, i) => sum + (2 ** g - 1) / Math.log2(i + 2), 0);
  const ideal = dcg(j.relevant.map((r) => r.grade).sort((a, b) => b - a));
  const exactExists = j.relevant.some(
    (r) => r.title !== undefined && norm(r.title) === norm(j.query),
  );
  return {
    query: j.query,
    kind: j.kind,
    p5: precision(5),
    p10: precision(10),
    rr: firstRelevant < 0 ? 0 : 1 / (firstRelevant + 1),
    ndcg10: ideal ? dcg(top) / ideal : 0,
    wrongFirst: exactExists && (!hits[0] || norm(hits[0].title) !== norm(j.query)),
    total,
    first: hits[0]?.title ?? '-',
  };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const f2 = (n: number) => n.toFixed(2);

/** The service's own request-duration histogram for /films/suggest: `le` -> cumulative count. */
async function serverBuckets(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('http_server_request_duration_seconds_bucket{')) continue;
    if (!line.includes('route="/api/v1/films/suggest"') || !line.includes('status="200"')) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le) out.set(le, (out.get(le) ?? 0) + Number(line.split(' ').at(-1)));
  }
  return out;
}

async function waitReady(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error(`catalog-api exited with ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/readyz`)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('catalog-api did not become ready');
}

async function main(): Promise<void> {
  const judgements = JSON.parse(fs.readFileSync(JUDGEMENTS, 'utf8')) as Judgements;
  const stack = await startStack({ only: ['postgres', 'elasticsearch', 'redis', 'kafka'] });
  Object.assign(process.env, stack.env);
  const sfx = suffix();
  const reuse = process.env.RELEVANCE_INDEX_PREFIX;
  const prefix = reuse ?? `benchrel_${sfx}_`;
  const generationKey = `catalog-api-relbench:${sfx}:generation`;
  const es = new Client({ node: process.env.ELASTICSEARCH_URL! });
  const redis = new Redis(process.env.REDIS_URL!);
  const issuer = await startTestIssuer();
  let child: ChildProcess | undefined;
  let dropDatabase = async () => undefined as void;
  try {
    if (reuse === undefined) {
      const loaded = await loadLegacyCatalog({
        ES_INDEX_PREFIX: prefix,
        CACHE_GENERATION_KEY: generationKey,
        ETL_BATCH_SIZE: '1000',
      });
      dropDatabase = loaded.drop;
    }
    const port = await freePort();
    child = spawn(process.execPath, [path.resolve(__dirname, '../dist/main.js')], {
      env: {
        ...process.env,
        PORT: String(port),
        LOG_LEVEL: 'warn',
        ES_INDEX_PREFIX: prefix,
        CACHE_KEY_PREFIX: `catalog-api-relbench:${sfx}:`,
        CACHE_GENERATION_KEY: generationKey,
        KAFKA_TOPIC_PREFIX: `relbench.${sfx}.`,
        AUTH_JWKS_URL: issuer.jwksUrl,
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const url = `http://127.0.0.1:${port}`;
    await waitReady(url, child);
    const token = await issuer.token('bench-user', ['public_user'], '1h');
    const get = async <T>(p: string): Promise<{ status: number; body: T }> => {
      const r = await fetch(`${url}${p}`, { headers: { authorization: `Bearer ${token}` } });
      return { status: r.status, body: (await r.json()) as T };
    };

    // Films.
    const scores: QueryScore[] = [];
    for (const j of judgements.films) {
      const r = await get<{ items: Array<{ id: string; title: string }>; total: number }>(
        `/api/v1/films/search?query=${encodeURIComponent(j.query)}&page_size=10`,
      );
      if (r.status !== 200) throw new Error(`search ${j.query}: ${r.status}`);
      scores.push(score(j, r.body.items, r.body.total));
    }
    const answerable = scores.filter((_, i) => judgements.films[i]!.relevant.length > 0);
    const empty = scores.filter((_, i) => judgements.films[i]!.relevant.length === 0);
    console.log(
      `\nfilm search (${answerable.length} judged queries, ${empty.length} without an answer)`,
    );
    console.log(
      `${'query'.padEnd(28)} ${'kind'.padEnd(24)} ${'P@5'.padStart(5)} ${'P@10'.padStart(5)} ${'RR'.padStart(5)} ${'nDCG10'.padStart(6)} ${'hits'.padStart(5)}  first hit`,
    );
    for (const s of scores) {
      console.log(
        `${s.query.padEnd(28)} ${s.kind.padEnd(24)} ${f2(s.p5).padStart(5)} ${f2(s.p10).padStart(5)} ${f2(s.rr).padStart(5)} ${f2(s.ndcg10).padStart(6)} ${String(s.total).padStart(5)}  ${s.wrongFirst ? 'WRONG ' : ''}${s.first.slice(0, 60)}`,
      );
    }
    const kinds = [...new Set(answerable.map((s) => s.kind.split(',')[0]!))];
    console.log('\nby kind (mean nDCG@10)');
    for (const k of kinds) {
      const of = answerable.filter((s) => s.kind.split(',')[0] === k);
      console.log(`  ${k.padEnd(14)} ${f2(mean(of.map((s) => s.ndcg10)))}  (${of.length})`);
    }
    const wrong = answerable.filter((s) => s.wrongFirst);
    console.log(
      `\noverall: P@5 ${f2(mean(answerable.map((s) => s.p5)))}, P@10 ${f2(mean(answerable.map((s) => s.p10)))}, ` +
        `MRR ${f2(mean(answerable.map((s) => s.rr)))}, nDCG@10 ${f2(mean(answerable.map((s) => s.ndcg10)))}; ` +
        `wrong first hit with an exact title: ${wrong.length}${wrong.length ? ` (${wrong.map((s) => s.query).join(', ')})` : ''}; ` +
        `films returned for queries without an answer: ${empty.map((s) => `${s.query} ${s.total}`).join(', ')}`,
    );

    // Persons.
    const personRr: number[] = [];
    console.log('\nperson search');
    for (const j of judgements.persons) {
      const r = await get<{ items: Array<{ id: string; full_name: string }>; total: number }>(
        `/api/v1/persons/search?query=${encodeURIComponent(j.query)}&page_size=10`,
      );
      const ids = new Set(j.relevant.map((p) => p.id));
      const at = r.status === 200 ? r.body.items.findIndex((p) => ids.has(p.id)) : -1;
      personRr.push(at < 0 ? 0 : 1 / (at + 1));
      console.log(
        `  ${j.query.padEnd(20)} RR ${f2(personRr.at(-1)!)}  hits ${String(r.body.total).padStart(4)}  first: ${r.body.items[0]?.full_name ?? '-'}`,
      );
    }
    console.log(`  MRR ${f2(mean(personRr))}`);

    // Suggestions, when the service has them.
    const probe = await get<unknown>('/api/v1/films/suggest?prefix=sta');
    if (probe.status !== 200) {
      console.log(`\nsuggest: not served (${probe.status})`);
    } else {
      for (const p of ['sta', 'star w', 'fist o', 'lego s', 'kling']) {
        const r = await get<{ items: Array<{ title: string }> }>(
          `/api/v1/films/suggest?prefix=${encodeURIComponent(p)}`,
        );
        console.log(`  ${p.padEnd(8)} -> ${r.body.items.map((i) => i.title).join(' | ')}`);
      }
      const paths = SUGGEST_PREFIXES.map(
        (p) => `/api/v1/films/suggest?prefix=${encodeURIComponent(p)}`,
      );
      for (const p of paths) await get(p); // warm: cached answers, JIT, connections
      const rounds = Number(process.env.BENCH_SUGGEST_ROUNDS ?? 100);
      const timed = async (list: string[]) => {
        const ms: number[] = [];
        for (let i = 0; i < rounds; i++) {
          for (const p of list) {
            const t0 = performance.now();
            const r = await fetch(`${url}${p}`, { headers: { authorization: `Bearer ${token}` } });
            await r.arrayBuffer();
            ms.push(performance.now() - t0);
          }
        }
        return ms.sort((a, b) => a - b);
      };
      const pct = (ms: number[], q: number) =>
        ms[Math.min(ms.length - 1, Math.floor(q * ms.length))]!.toFixed(2);
      // The floor of this machine and client: the same loop on the service's /healthz.
      const floor = await timed(paths.map(() => '/healthz'));
      const before = await serverBuckets(url);
      const ms = await timed(paths);
      const after = await serverBuckets(url);
      const within = (le: string) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
      const served = within('+Inf');
      // Uncached: each prefix once after the cache generation moved (Elasticsearch's own time).
      await redis.incr(generationKey);
      await new Promise((r) => setTimeout(r, 200));
      const cold: number[] = [];
      for (const p of paths) {
        const t0 = performance.now();
        await (
          await fetch(`${url}${p}`, { headers: { authorization: `Bearer ${token}` } })
        ).arrayBuffer();
        cold.push(performance.now() - t0);
      }
      cold.sort((a, b) => a - b);
      console.log(
        `\nsuggest latency, warm (${ms.length} sequential requests over ${paths.length} prefixes): ` +
          `p50 ${pct(ms, 0.5)} ms, p99 ${pct(ms, 0.99)} ms, max ${ms.at(-1)!.toFixed(2)} ms ` +
          `(/healthz the same way: p50 ${pct(floor, 0.5)} ms, p99 ${pct(floor, 0.99)} ms); ` +
          `in the service (its request-duration histogram): ${((within('0.005') / served) * 100).toFixed(1)}% within 5 ms, ` +
          `${((within('0.01') / served) * 100).toFixed(1)}% within 10 ms; ` +
          `uncached (${cold.length}): median ${cold[Math.floor(cold.length / 2)]!.toFixed(2)} ms, max ${cold.at(-1)!.toFixed(2)} ms`,
      );
    }
  } finally {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child!.once('exit', r));
    }
    await issuer.close();
    if (reuse === undefined) {
      await es.indices
        .delete({
          index: ['films', 'genres', 'persons'].map((i) => `${prefix}${i}`),
          ignore_unavailable: true,
        })
        .catch(() => undefined);
    }
    await deleteTopicsWithPrefix(`relbench.${sfx}.`).catch(() => undefined);
    const keys = await redis.keys(`catalog-api-relbench:${sfx}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    await es.close();
    await dropDatabase();
  }
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
