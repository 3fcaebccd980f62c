/**
 * Runs the model against real services, open loop: sessions start at the seeded arrival times
 * and every action fires when its time comes (a min-heap of due actions, polled every 10 ms),
 * whatever the answers before it took, as the ETL bench drives its load. Player events go to
 * the collector one per request (`/api/pause`, `/api/full-view`, `/api/quality-change`) and are
 * retried with the same event id on a network error or 5xx, as the player does; catalog steps
 * go to catalog-api with the viewer's token.
 */
import { randomUUID } from 'node:crypto';
import {
  arrivals,
  filmOf,
  hash,
  planSession,
  rng,
  type Action,
  type Film,
  type ModelOptions,
  type PlayerEvent,
} from './model';

export interface Targets {
  /** The collector's base URL (player events). */
  collector: string;
  /** catalog-api's base URL. */
  catalog: string;
}

export interface RunOptions extends ModelOptions {
  targets: Targets;
  /** New sessions per second (Poisson). */
  arrivalRate: number;
  /** Seconds during which sessions start; the run then waits for the started ones to end. */
  seconds: number;
  /** Access tokens of the logged-in viewers (empty: every viewer is anonymous). */
  tokens: string[];
  /** Film ids to watch (from the catalog, or made up when it has none). */
  filmIds: string[];
  /** Retries of a player event after a network error or 5xx. */
  retries?: number;
  /** Called about every second with the running figures. */
  onProgress?: (s: Stats, elapsedMs: number) => void;
  /** Stops starting sessions when aborted. */
  signal?: AbortSignal;
}

export interface Latency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface Stats {
  sessions: number;
  sessionsDone: number;
  /** Player events by kind: sent (first attempts) and accepted (202). */
  events: Record<PlayerEvent['type'], { sent: number; accepted: number }>;
  /** Catalog calls by step kind. */
  pageViews: Record<string, number>;
  /** Answers by class and target, every request (retries too); `network` for no answer. */
  status: Record<Target, StatusCounts>;
  /** Why requests got no answer (error message -> count). */
  networkErrors: Record<string, number>;
  latency: { collector: Latency; catalog: Latency };
  /** Accepted event ids by kind and film (the soak check's expectation). */
  accepted: Map<string, { type: PlayerEvent['type']; film: string }>;
  /** Ids sent but never accepted (their fate is unknown). */
  unconfirmed: Set<string>;
}

export type Target = 'collector' | 'catalog';
export interface StatusCounts {
  '2xx': number;
  '3xx': number;
  '4xx': number;
  '5xx': number;
  network: number;
}
const noStatus = (): StatusCounts => ({ '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, network: 0 });

const PATHS: Record<PlayerEvent['type'], string> = {
  pause: '/api/pause',
  full_view: '/api/full-view',
  quality_change: '/api/quality-change',
};

class Heap<T extends { due: number }> {
  private items: T[] = [];
  get size() {
    return this.items.length;
  }
  peek(): T | undefined {
    return this.items[0];
  }
  push(item: T) {
    const a = this.items;
    a.push(item);
    for (let i = a.length - 1; i > 0;) {
      const p = (i - 1) >> 1;
      if (a[p]!.due <= a[i]!.due) break;
      [a[p], a[i]] = [a[i]!, a[p]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length && last) {
      a[0] = last;
      for (let i = 0; ;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && a[l]!.due < a[m]!.due) m = l;
        if (r < a.length && a[r]!.due < a[m]!.due) m = r;
        if (m === i) break;
        [a[m], a[i]] = [a[i]!, a[m]!];
        i = m;
      }
    }
    return top;
  }
}

function summary(samples: number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  const q = (p: number) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))]! : 0);
  return { count: s.length, p50: q(0.5), p95: q(0.95), p99: q(0.99), max: s.at(-1) ?? 0 };
}

export function emptyStats(): Stats {
  return {
    sessions: 0,
    sessionsDone: 0,
    events: {
      pause: { sent: 0, accepted: 0 },
      quality_change: { sent: 0, accepted: 0 },
      full_view: { sent: 0, accepted: 0 },
    },
    pageViews: {},
    status: { collector: noStatus(), catalog: noStatus() },
    networkErrors: {},
    latency: { collector: summary([]), catalog: summary([]) },
    accepted: new Map(),
    unconfirmed: new Set(),
  };
}

interface Due {
  due: number;
  session: number;
  action: Action;
  viewer: { token?: string; anonymousId: string };
  film: Film;
  last: boolean;
}

export async function run(o: RunOptions): Promise<Stats> {
  const stats = emptyStats();
  const lat = { collector: [] as number[], catalog: [] as number[] };
  const films = o.filmIds.map((id) => filmOf(o.seed, id));
  const heap = new Heap<Due>();
  const inflight = new Set<Promise<void>>();
  const retries = o.retries ?? 3;
  const runId = hash(o.seed, 'run').toString(36);
  const t0 = Date.now();
  const starts = arrivals(o.seed, o.arrivalRate);
  let nextStart = starts.next().value as number;
  let session = 0;

  const classify = (target: Target, status: number | undefined) => {
    const counts = stats.status[target];
    if (status === undefined) counts.network++;
    else counts[`${Math.floor(status / 100)}xx` as '2xx' | '3xx' | '4xx' | '5xx']++;
  };
  const request = async (
    target: Target,
    url: string,
    init: RequestInit,
  ): Promise<{ status?: number; body?: unknown }> => {
    const began = performance.now();
    try {
      const res = await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) });
      const body = res.headers.get('content-type')?.includes('json')
        ? await res.json().catch(() => undefined)
        : await res.arrayBuffer().then(() => undefined);
      lat[target].push(performance.now() - began);
      classify(target, res.status);
      return { status: res.status, body };
    } catch (err) {
      classify(target, undefined);
      const e = err as Error & { cause?: Error };
      const why = `${target}: ${e.cause?.message ?? e.message}`;
      stats.networkErrors[why] = (stats.networkErrors[why] ?? 0) + 1;
      return {};
    }
  };

  const sendEvent = async (d: Due, event: PlayerEvent) => {
    const id = randomUUID();
    stats.events[event.type].sent++;
    stats.unconfirmed.add(id);
    const body = JSON.stringify({
      event_id: id,
      film_id: d.film.id,
      client_time: new Date().toISOString(),
      ...Object.fromEntries(Object.entries(event).filter(([k]) => k !== 'type')),
    });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (d.viewer.token) headers.authorization = `Bearer ${d.viewer.token}`;
    else headers['x-anonymous-id'] = d.viewer.anonymousId;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const { status } = await request('collector', `${o.targets.collector}${PATHS[event.type]}`, {
        method: 'POST',
        headers,
        body,
      });
      if (status === 202) {
        stats.events[event.type].accepted++;
        stats.unconfirmed.delete(id);
        stats.accepted.set(id, { type: event.type, film: d.film.id });
        return;
      }
      if (status !== undefined && status < 500) return; // refused: retrying would not help
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
  };

  const catalogStep = async (d: Due, step: Extract<Action, { kind: 'catalog' }>['step']) => {
    stats.pageViews[step.kind] = (stats.pageViews[step.kind] ?? 0) + 1;
    const path =
      step.kind === 'list'
        ? `/api/v1/films?sort=-rating&page_number=${step.page}&page_size=20`
        : step.kind === 'search'
          ? `/api/v1/films/search?query=${encodeURIComponent(step.query)}&page_size=20`
          : step.kind === 'film'
            ? `/api/v1/films/${d.film.id}`
            : '/api/v1/genres';
    await request('catalog', `${o.targets.catalog}${path}`, {
      headers: { authorization: `Bearer ${d.viewer.token}` },
    });
  };

  const fire = (d: Due) => {
    const p = (
      d.action.kind === 'catalog' ? catalogStep(d, d.action.step) : sendEvent(d, d.action.event)
    ).then(() => {
      if (d.last) stats.sessionsDone++;
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  const startSession = (at: number) => {
    const plan = planSession(o, session, films);
    const r = rng(hash(o.seed, 'viewer', session));
    const token =
      plan.loggedIn && o.tokens.length ? o.tokens[Math.floor(r() * o.tokens.length)] : undefined;
    const viewer = { token, anonymousId: `sim-${runId}-${session}` };
    const film = films[plan.film]!;
    const actions = plan.actions.filter((a) => a.kind === 'player' || token);
    actions.forEach((action, i) =>
      heap.push({
        due: at + action.at,
        session,
        action,
        viewer,
        film,
        last: i === actions.length - 1,
      }),
    );
    if (!actions.length) stats.sessionsDone++;
    stats.sessions++;
    session++;
  };

  let lastProgress = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = Date.now() - t0;
      const starting = now < o.seconds * 1000 && !o.signal?.aborted;
      while (starting && nextStart <= now) {
        startSession(nextStart);
        nextStart = starts.next().value as number;
      }
      while (heap.size && heap.peek()!.due <= now) fire(heap.pop()!);
      if (o.onProgress && now - lastProgress >= 1000) {
        lastProgress = now;
        stats.latency = { collector: summary(lat.collector), catalog: summary(lat.catalog) };
        o.onProgress(stats, now);
      }
      if (!starting && !heap.size) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  while (inflight.size) await Promise.all([...inflight]);
  stats.latency = { collector: summary(lat.collector), catalog: summary(lat.catalog) };
  return stats;
}
