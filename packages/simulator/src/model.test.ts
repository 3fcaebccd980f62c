import {
  arrivals,
  DEFAULTS,
  filmOf,
  planSession,
  rng,
  type Action,
  type ModelOptions,
  type PlayerEvent,
} from './model';

const options: ModelOptions = { ...DEFAULTS, seed: 42 };
const films = Array.from({ length: 20 }, (_, i) =>
  filmOf(42, `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`),
);
const plans = (o: ModelOptions, n: number) =>
  Array.from({ length: n }, (_, i) => planSession(o, i, films));
const player = (a: Action[]) =>
  a
    .filter((x): x is Extract<Action, { kind: 'player' }> => x.kind === 'player')
    .map((x) => x.event);

describe('the seeded session model', () => {
  it('is repeatable: the same seed gives the same sessions, another seed others', () => {
    expect(plans(options, 50)).toEqual(plans(options, 50));
    expect(plans({ ...options, seed: 43 }, 50)).not.toEqual(plans(options, 50));
    expect([...Array(5)].map(rng(7))).toEqual([...Array(5)].map(rng(7)));
  });

  it('gives films a seeded length and scene changes in order inside the film', () => {
    for (const f of films) {
      expect(filmOf(42, f.id)).toEqual(f);
      expect(f.duration).toBeGreaterThanOrEqual(80 * 60);
      expect(f.duration).toBeLessThanOrEqual(150 * 60);
      expect(f.scenes.length).toBeGreaterThan(5);
      expect([...f.scenes].sort((a, b) => a - b)).toEqual(f.scenes);
      expect(f.scenes.every((s) => s > 0 && s < f.duration)).toBe(true);
    }
  });

  it('keeps actions in time order, positions inside the film, anonymous viewers off the catalog', () => {
    for (const p of plans(options, 500)) {
      const f = films[p.film]!;
      expect(p.actions.map((a) => a.at)).toEqual(
        [...p.actions.map((a) => a.at)].sort((a, b) => a - b),
      );
      if (!p.loggedIn) expect(p.actions.some((a) => a.kind === 'catalog')).toBe(false);
      for (const e of player(p.actions))
        if (e.type !== 'full_view') {
          expect(e.position_sec).toBeGreaterThanOrEqual(0);
          expect(e.position_sec).toBeLessThanOrEqual(f.duration);
        }
      // Exactly one full view, at the end, for those who finish; none for the others.
      const fulls = player(p.actions).filter((e) => e.type === 'full_view');
      expect(fulls).toEqual(p.finishes ? [{ type: 'full_view', duration_sec: f.duration }] : []);
    }
  });

  it('pauses far more often just after scene changes than elsewhere', () => {
    let nearScene = 0;
    let total = 0;
    for (const p of plans(options, 2000)) {
      const f = films[p.film]!;
      for (const e of player(p.actions))
        if (e.type === 'pause') {
          total++;
          if (f.scenes.some((s) => e.position_sec >= s && e.position_sec <= s + 20)) nearScene++;
        }
    }
    // The 20 s after each scene change are about 6 % of a film; most pauses fall there.
    expect(total).toBeGreaterThan(1000);
    expect(nearScene / total).toBeGreaterThan(0.6);
  });

  it('switches quality down on a bad network and back up later; never on a good one', () => {
    let downs = 0;
    let ups = 0;
    for (const p of plans({ ...options, badNetworkShare: 0.5 }, 1000)) {
      const switches = player(p.actions).filter(
        (e): e is Extract<PlayerEvent, { type: 'quality_change' }> => e.type === 'quality_change',
      );
      if (!p.badNetwork) {
        expect(switches).toEqual([]);
        continue;
      }
      const height = (q: string) => parseInt(q, 10);
      // Down, up, down, up...: each switch starts from where the previous one ended.
      switches.forEach((s, i) => {
        const down = i % 2 === 0;
        expect(height(s.to_quality) < height(s.from_quality)).toBe(down);
        if (i > 0) expect(s.from_quality).toBe(switches[i - 1]!.to_quality);
        if (down) downs++;
        else ups++;
      });
    }
    expect(downs).toBeGreaterThan(300);
    expect(ups).toBeGreaterThan(100);
    expect(ups).toBeLessThanOrEqual(downs);
  });

  it('follows the shares it is given', () => {
    const ps = plans(
      { ...options, loggedInShare: 0.25, finishShare: 0.4, badNetworkShare: 0.1 },
      4000,
    );
    const share = (f: (p: (typeof ps)[number]) => boolean) => ps.filter(f).length / ps.length;
    expect(share((p) => p.loggedIn)).toBeCloseTo(0.25, 1);
    expect(share((p) => p.finishes)).toBeCloseTo(0.4, 1);
    expect(share((p) => p.badNetwork)).toBeCloseTo(0.1, 1);
    // Popular films first: film 0 is picked more than the last one.
    const picks = (i: number) => ps.filter((p) => p.film === i).length;
    expect(picks(0)).toBeGreaterThan(3 * picks(19));
    // Session lengths average about sessionSeconds (0.5x..1.5x).
    const last = ps.map((p) => p.actions.at(-1)?.at ?? 0);
    const mean = last.reduce((s, x) => s + x, 0) / last.length / 1000;
    expect(mean).toBeGreaterThan(options.sessionSeconds * 0.7);
    expect(mean).toBeLessThan(options.sessionSeconds * 1.3);
  });

  it('makes Poisson arrivals at the given rate', () => {
    const gen = arrivals(5, 20);
    const times = Array.from({ length: 20_000 }, () => gen.next().value as number);
    expect(times.every((t, i) => i === 0 || t > times[i - 1]!)).toBe(true);
    const perSecond = times.length / (times.at(-1)! / 1000);
    expect(perSecond).toBeGreaterThan(19);
    expect(perSecond).toBeLessThan(21);
  });
});
