/**
 * The soak check: after a run, ClickHouse must hold exactly the player events the collector
 * accepted, by kind and film, each once. Read through ugc-etl's read API
 * (`GET /api/v1/analytics/films/{id}/events`, FINAL, an analyst's token), so it works with
 * embedded chDB (one process per data folder: the ETL's) as with a ClickHouse server.
 */
import type { PlayerEvent } from './model';
import type { Stats } from './runner';

type Kind = PlayerEvent['type'];
const KINDS: Record<string, Kind> = {
  pauses: 'pause',
  quality_changes: 'quality_change',
  full_views: 'full_view',
};

export interface SoakRow {
  film: string;
  kind: Kind;
  accepted: number;
  stored: number;
}

export interface SoakResult {
  ok: boolean;
  /** Per film and kind: accepted vs stored (of this run's accepted events). */
  rows: SoakRow[];
  missing: number;
  /** Stored events of this run that were never acknowledged (sent, no 202 seen). */
  storedUnconfirmed: number;
  /** Ids stored more than once (the read API deduplicates: always 0 unless it broke). */
  duplicates: number;
  waitedMs: number;
}

export async function soakCheck(
  stats: Stats,
  o: { analytics: string; token: string; waitSeconds: number; log?: (line: string) => void },
): Promise<SoakResult> {
  const films = new Set<string>();
  for (const { film } of stats.accepted.values()) films.add(film);
  const t0 = Date.now();
  let result: SoakResult | undefined;
  for (;;) {
    const stored = new Map<string, Kind>();
    let duplicates = 0;
    for (const film of films) {
      const res = await fetch(`${o.analytics}/api/v1/analytics/films/${film}/events?limit=100000`, {
        headers: { authorization: `Bearer ${o.token}` },
        signal: AbortSignal.timeout(30_000),
      });
      if (!res.ok) throw new Error(`the read API answered ${res.status} for film ${film}`);
      const body = (await res.json()) as Record<string, unknown>;
      for (const [key, kind] of Object.entries(KINDS))
        for (const e of (body[key] as Array<{ event_id: string }>) ?? []) {
          if (!stats.accepted.has(e.event_id) && !stats.unconfirmed.has(e.event_id)) continue;
          if (stored.has(e.event_id)) duplicates++;
          stored.set(e.event_id, kind);
        }
    }
    const rows = new Map<string, SoakRow>();
    let missing = 0;
    for (const [id, { type, film }] of stats.accepted) {
      const key = `${film} ${type}`;
      const row = rows.get(key) ?? { film, kind: type, accepted: 0, stored: 0 };
      row.accepted++;
      if (stored.get(id) === type) row.stored++;
      else missing++;
      rows.set(key, row);
    }
    const storedUnconfirmed = [...stored.keys()].filter((id) => stats.unconfirmed.has(id)).length;
    result = {
      ok: missing === 0 && duplicates === 0,
      rows: [...rows.values()].sort(
        (a, b) => a.film.localeCompare(b.film) || a.kind.localeCompare(b.kind),
      ),
      missing,
      storedUnconfirmed,
      duplicates,
      waitedMs: Date.now() - t0,
    };
    if (result.ok || Date.now() - t0 > o.waitSeconds * 1000) return result;
    o.log?.(`soak: ${missing} accepted events not stored yet, checking again`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}
