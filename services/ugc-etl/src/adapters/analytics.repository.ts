/** The analysts' queries over the deduplicated tables (FINAL), with bound parameters. */
import type { ClickHouseClient } from '@cinema/clickhouse';
import {
  summariseSwitches,
  type AnalyticsReader,
  type FilmEvents,
  type FullViewRate,
  type PauseHeatmap,
  type QualityPair,
  type QualitySwitches,
  type StoredFullView,
  type StoredPause,
  type StoredQualityChange,
} from '../domain/analytics';

export class AnalyticsRepository implements AnalyticsReader {
  constructor(
    private readonly ch: ClickHouseClient,
    private readonly db: string,
  ) {}

  private async rows<T>(query: string, params: Record<string, unknown>): Promise<T[]> {
    const result = await this.ch.query({ query, query_params: params, format: 'JSONEachRow' });
    return result.json<T>();
  }

  async pauseHeatmap(filmId: string): Promise<PauseHeatmap> {
    const minutes = await this.rows<{ minute: number; pauses: string }>(
      `SELECT toUInt32(intDiv(toUInt64(position_sec), 60)) AS minute, count() AS pauses
       FROM ${this.db}.clicks_on_video_pauses FINAL
       WHERE film_id = {film:UUID}
       GROUP BY minute ORDER BY minute`,
      { film: filmId },
    );
    const list = minutes.map((m) => ({ minute: Number(m.minute), pauses: Number(m.pauses) }));
    return {
      film_id: filmId,
      minutes: list,
      total: list.reduce((n, m) => n + m.pauses, 0),
    };
  }

  async qualitySwitches(filmId: string): Promise<QualitySwitches> {
    const pairs = await this.rows<{ from_quality: string; to_quality: string; count: string }>(
      `SELECT from_quality, to_quality, count() AS count
       FROM ${this.db}.video_quality_change_clicks FINAL
       WHERE film_id = {film:UUID}
       GROUP BY from_quality, to_quality ORDER BY from_quality, to_quality`,
      { film: filmId },
    );
    return summariseSwitches(
      filmId,
      pairs.map((p): QualityPair => ({ ...p, count: Number(p.count) })),
    );
  }

  async fullViewRate(filmId: string): Promise<FullViewRate> {
    const [row] = await this.rows<{ viewers: string; full_viewers: string; full_views: string }>(
      `SELECT
         (SELECT uniqExact(user_id) FROM (
            SELECT user_id FROM ${this.db}.clicks_on_video_pauses FINAL WHERE film_id = {film:UUID}
            UNION ALL
            SELECT user_id FROM ${this.db}.video_quality_change_clicks FINAL WHERE film_id = {film:UUID}
            UNION ALL
            SELECT user_id FROM ${this.db}.clicks_on_video_full_views FINAL WHERE film_id = {film:UUID}
         )) AS viewers,
         (SELECT uniqExact(user_id) FROM ${this.db}.clicks_on_video_full_views FINAL
            WHERE film_id = {film:UUID}) AS full_viewers,
         (SELECT count() FROM ${this.db}.clicks_on_video_full_views FINAL
            WHERE film_id = {film:UUID}) AS full_views`,
      { film: filmId },
    );
    const viewers = Number(row?.viewers ?? 0);
    const fullViewers = Number(row?.full_viewers ?? 0);
    return {
      film_id: filmId,
      viewers,
      full_viewers: fullViewers,
      full_views: Number(row?.full_views ?? 0),
      rate: viewers ? fullViewers / viewers : 0,
    };
  }

  async filmEvents(filmId: string, userId: string | undefined, limit: number): Promise<FilmEvents> {
    const where = `film_id = {film:UUID}${userId !== undefined ? ' AND user_id = {user:String}' : ''}`;
    const params = { film: filmId, user: userId ?? '', limit };
    const times = `toString(event_id) AS event_id, user_id,
       toString(event_time) AS event_time, toString(received_time) AS received_time`;
    const [pauses, qualityChanges, fullViews] = await Promise.all([
      this.rows<StoredPause>(
        `SELECT ${times}, position_sec FROM ${this.db}.clicks_on_video_pauses FINAL
         WHERE ${where} ORDER BY event_time, event_id LIMIT {limit:UInt32}`,
        params,
      ),
      this.rows<StoredQualityChange>(
        `SELECT ${times}, from_quality, to_quality, position_sec
         FROM ${this.db}.video_quality_change_clicks FINAL
         WHERE ${where} ORDER BY event_time, event_id LIMIT {limit:UInt32}`,
        params,
      ),
      this.rows<StoredFullView>(
        `SELECT ${times}, duration_sec FROM ${this.db}.clicks_on_video_full_views FINAL
         WHERE ${where} ORDER BY event_time, event_id LIMIT {limit:UInt32}`,
        params,
      ),
    ]);
    return {
      film_id: filmId,
      pauses: pauses.map(isoTimes),
      quality_changes: qualityChanges.map(isoTimes),
      full_views: fullViews.map(isoTimes),
    };
  }
}

/** `2025-01-02 03:04:05.678` (DateTime64(3, 'UTC') as text) -> `2025-01-02T03:04:05.678Z`. */
function iso(text: string): string {
  return `${text.replace(' ', 'T')}Z`;
}

function isoTimes<T extends { event_time: string; received_time: string }>(row: T): T {
  return { ...row, event_time: iso(row.event_time), received_time: iso(row.received_time) };
}
