/** The figures analysts ask first, per film; shapes of the read API. */

/** Kinds of player events the read API reports. */
export const PLAYER_EVENT_KINDS = ['pauses', 'quality_changes', 'full_views'] as const;

/**
 * A UUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6.
 * @pattern ^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$
 */
export type Uuid = string;

export interface PauseMinute {
  /** Minute of the film (0 = the first minute). */
  minute: number;
  pauses: number;
}

export interface PauseHeatmap {
  film_id: string;
  /** Minutes with at least one pause, in order. */
  minutes: PauseMinute[];
  total: number;
}

export interface QualityPair {
  from_quality: string;
  to_quality: string;
  count: number;
}

export interface QualitySwitches {
  film_id: string;
  /** Switches to a higher resolution (e.g. 360p to 720p). */
  up: number;
  /** Switches to a lower resolution. */
  down: number;
  pairs: QualityPair[];
}

export interface FullViewRate {
  film_id: string;
  /** Distinct viewers with any player event on the film (pause, quality change, full view). */
  viewers: number;
  /** Distinct viewers who watched to the end. */
  full_viewers: number;
  full_views: number;
  /** full_viewers / viewers; 0 without viewers. */
  rate: number;
}

export interface StoredPause {
  event_id: string;
  user_id: string;
  position_sec: number;
  event_time: string;
  received_time: string;
}
export interface StoredFullView {
  event_id: string;
  user_id: string;
  duration_sec: number;
  event_time: string;
  received_time: string;
}
export interface StoredQualityChange {
  event_id: string;
  user_id: string;
  from_quality: string;
  to_quality: string;
  position_sec: number;
  event_time: string;
  received_time: string;
}

/** The stored (deduplicated) player events of a film, oldest first. */
export interface FilmEvents {
  film_id: string;
  pauses: StoredPause[];
  quality_changes: StoredQualityChange[];
  full_views: StoredFullView[];
}

/** `720p` -> 720; NaN when the name carries no height. */
export function resolution(quality: string): number {
  const m = /^(\d+)/.exec(quality);
  return m ? Number(m[1]) : Number.NaN;
}

export function summariseSwitches(filmId: string, pairs: QualityPair[]): QualitySwitches {
  let up = 0;
  let down = 0;
  for (const p of pairs) {
    const from = resolution(p.from_quality);
    const to = resolution(p.to_quality);
    if (to > from) up += p.count;
    else if (to < from) down += p.count;
  }
  return { film_id: filmId, up, down, pairs };
}

export interface AnalyticsReader {
  pauseHeatmap(filmId: string): Promise<PauseHeatmap>;
  qualitySwitches(filmId: string): Promise<QualitySwitches>;
  fullViewRate(filmId: string): Promise<FullViewRate>;
  filmEvents(filmId: string, userId: string | undefined, limit: number): Promise<FilmEvents>;
}
