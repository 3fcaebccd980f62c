/**
 * The viewer model: what one simulated session does and when, as a pure function of the run's
 * seed and the session's number (no clock, no I/O), so a run can be repeated exactly.
 *
 * A session is a viewer (logged in or anonymous) who, if logged in, browses and searches the
 * catalog (page views), then plays one film in the player: playback runs `speed` times faster
 * than real time; pauses come at random and, far more often, just after the film's scene
 * changes (seeded per film); on a bad network the player switches quality down when it buffers
 * and up again once the network recovers; some viewers watch to the end (a full view), the
 * others stop somewhere.
 */

/** mulberry32: a small seeded PRNG (32-bit state, uniform in [0, 1)). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit hash of strings and numbers (FNV-1a), to derive independent seeds. */
export function hash(...parts: Array<string | number>): number {
  let h = 0x811c9dc5;
  for (const c of parts.join('\u0000')) {
    h ^= c.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export const QUALITIES = ['360p', '720p', '1080p'] as const;
export type Quality = (typeof QUALITIES)[number];

export interface ModelOptions {
  seed: number;
  /** Share of viewers who are logged in (they browse the catalog; 0..1). */
  loggedInShare: number;
  /** Mean seconds of real time a session lasts (browsing plus watching). */
  sessionSeconds: number;
  /** Share of sessions with a bad network (buffering, quality down then up). */
  badNetworkShare: number;
  /** Share of viewers who watch to the end. */
  finishShare: number;
  /** Search queries; some find nothing on purpose. */
  queries: readonly string[];
}

export const DEFAULT_QUERIES = [
  'star',
  'war',
  'love',
  'night',
  'river',
  'king',
  'space',
  'the',
  'dark',
  'city',
  'zzqx',
  'qwxyzzy film',
];

export const DEFAULTS: Omit<ModelOptions, 'seed'> = {
  loggedInShare: 0.6,
  sessionSeconds: 60,
  badNetworkShare: 0.3,
  finishShare: 0.35,
  queries: DEFAULT_QUERIES,
};

export interface Film {
  id: string;
  /** Seconds. */
  duration: number;
  /** Positions (seconds) where a scene changes, ascending. */
  scenes: number[];
}

/** A film's length and scene changes, seeded by the run's seed and the film's id. */
export function filmOf(seed: number, id: string): Film {
  const r = rng(hash(seed, 'film', id));
  const duration = Math.round((80 + r() * 70) * 60); // 80..150 minutes
  const scenes: number[] = [];
  for (let t = 120 + r() * 240; t < duration - 60; t += 180 + r() * 420) scenes.push(Math.round(t));
  return { id, duration, scenes };
}

export type CatalogStep =
  | { kind: 'list'; page: number }
  | { kind: 'search'; query: string }
  | { kind: 'film' }
  | { kind: 'genres' };

export type PlayerEvent =
  | { type: 'pause'; position_sec: number }
  | { type: 'quality_change'; from_quality: Quality; to_quality: Quality; position_sec: number }
  | { type: 'full_view'; duration_sec: number };

export type Action =
  | { at: number; kind: 'catalog'; step: CatalogStep }
  | { at: number; kind: 'player'; event: PlayerEvent };

export interface SessionPlan {
  index: number;
  loggedIn: boolean;
  /** Index into the run's film list. */
  film: number;
  badNetwork: boolean;
  finishes: boolean;
  /** Playback seconds per real second. */
  speed: number;
  /** Milliseconds after the session's start, ascending. */
  actions: Action[];
}

/**
 * The plan of session `index`: its actions with their times (ms after the session starts).
 * `films` is how many films the run has (the plan picks one by index; popular films more).
 */
export function planSession(o: ModelOptions, index: number, films: readonly Film[]): SessionPlan {
  if (!films.length) throw new Error('no films to watch');
  const r = rng(hash(o.seed, 'session', index));
  const loggedIn = r() < o.loggedInShare;
  const badNetwork = r() < o.badNetworkShare;
  const finishes = r() < o.finishShare;
  // Popularity: a Zipf-like pick (film 0 most often).
  const film = Math.min(films.length - 1, Math.floor(films.length ** r() - 1));
  const f = films[film]!;
  const length = o.sessionSeconds * (0.5 + r()) * 1000; // ms of real time
  const actions: Action[] = [];
  let t = 0;

  // Browsing (logged in only: catalog-api wants a token): a fifth of the session at most.
  if (loggedIn) {
    const steps = 1 + Math.floor(r() * 4);
    const gap = (length * 0.2) / steps;
    for (let i = 0; i < steps; i++) {
      const x = r();
      const step: CatalogStep =
        x < 0.35
          ? { kind: 'list', page: 1 + Math.floor(r() * 3) }
          : x < 0.7
            ? { kind: 'search', query: o.queries[Math.floor(r() * o.queries.length)]! }
            : x < 0.9
              ? { kind: 'film' }
              : { kind: 'genres' };
      actions.push({ at: Math.round(t), kind: 'catalog', step });
      t += gap * (0.5 + r());
    }
  }

  // Watching: from `start` to the end or to where the viewer stops, `speed` x real time.
  const watchMs = Math.max(1000, length - t);
  const stopAt = finishes ? f.duration : Math.round(f.duration * (0.05 + r() * 0.85));
  const speed = stopAt / (watchMs / 1000);
  const atPos = (pos: number) => Math.round(t + (pos / speed) * 1000);
  const quality: Quality = r() < 0.5 ? '720p' : '1080p';
  const events: Array<{ pos: number; event: PlayerEvent }> = [];
  // Pauses: at a scene change a viewer pauses with probability 0.35, within 20 s after it;
  // elsewhere about once an hour of film.
  for (const s of f.scenes) {
    if (s >= stopAt) break;
    if (r() < 0.35) events.push({ pos: Math.min(stopAt - 1, s + r() * 20), event: pause(0) });
  }
  for (let pos = r() * 3600; pos < stopAt; pos += 600 + r() * 5400)
    events.push({ pos, event: pause(0) });
  // Bad network: one to three buffering spells, one after the other: the player switches down
  // when one starts and back up when it ends (unless the viewer stopped before).
  if (badNetwork) {
    const spells = 1 + Math.floor(r() * 3);
    let pos = r() * stopAt * 0.3;
    for (let i = 0; i < spells && pos < stopAt; i++) {
      const lower: Quality = quality === '1080p' && r() < 0.5 ? '720p' : '360p';
      events.push({ pos, event: qualityChange(quality, lower, 0) });
      const end = pos + 60 + r() * 600;
      if (end >= stopAt) break;
      events.push({ pos: end, event: qualityChange(lower, quality, 0) });
      pos = end + 120 + r() * stopAt * 0.3;
    }
  }
  events.sort((a, b) => a.pos - b.pos);
  for (const e of events) {
    const pos = Math.round(e.pos * 10) / 10;
    if (e.event.type === 'full_view') continue;
    actions.push({ at: atPos(pos), kind: 'player', event: { ...e.event, position_sec: pos } });
  }
  if (finishes)
    actions.push({
      at: atPos(f.duration),
      kind: 'player',
      event: { type: 'full_view', duration_sec: f.duration },
    });
  actions.sort((a, b) => a.at - b.at);
  return { index, loggedIn, film, badNetwork, finishes, speed, actions };
}

const pause = (position_sec: number): PlayerEvent => ({ type: 'pause', position_sec });
const qualityChange = (from: Quality, to: Quality, position_sec: number): PlayerEvent => ({
  type: 'quality_change',
  from_quality: from,
  to_quality: to,
  position_sec,
});

/** Session start times (ms after the run starts): a Poisson process of `perSecond` arrivals. */
export function* arrivals(seed: number, perSecond: number): Generator<number> {
  const r = rng(hash(seed, 'arrivals'));
  let t = 0;
  for (;;) {
    t += (-Math.log(1 - r()) / perSecond) * 1000;
    yield t;
  }
}
