import { Controller, Get, Path, Query, Response, Route, Security, Tags } from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type {
  FilmEvents,
  FullViewRate,
  PauseHeatmap,
  QualitySwitches,
  Uuid,
} from '../domain/analytics';
import type { Dependencies } from '../wiring';

/**
 * Per-film figures over the tracked player events in ClickHouse (`tracking_user_events`),
 * each event counted once. For analysts: needs an `admin` or `super_user` access token.
 */
@Route('api/v1/analytics/films/{filmId}')
@Tags('Analytics')
@Security('jwt', ['admin', 'super_user'])
@Response<ProblemDetails>(401, 'No or invalid access token')
@Response<ProblemDetails>(403, 'Not an admin or super_user')
@Response<ProblemDetails>(422, 'filmId is not a UUID')
export class AnalyticsController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /** Pauses per minute of the film. */
  @Get('pause-heatmap')
  public async pauseHeatmap(@Path() filmId: Uuid): Promise<PauseHeatmap> {
    return this.deps.analytics.pauseHeatmap(filmId.toLowerCase());
  }

  /** Quality switches up (to a higher resolution) and down, and per pair of renditions. */
  @Get('quality-switches')
  public async qualitySwitches(@Path() filmId: Uuid): Promise<QualitySwitches> {
    return this.deps.analytics.qualitySwitches(filmId.toLowerCase());
  }

  /** Share of the film's viewers who watched it to the end. */
  @Get('full-view-rate')
  public async fullViewRate(@Path() filmId: Uuid): Promise<FullViewRate> {
    return this.deps.analytics.fullViewRate(filmId.toLowerCase());
  }

  /**
   * The stored player events of the film (optionally of one viewer), oldest first: what the
   * player sent, as ClickHouse holds it.
   * @param userId the viewer: a user id, or `anon:<id>` for an anonymous player
   * @param limit at most this many events of each kind
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 100000
   */
  @Get('events')
  public async events(
    @Path() filmId: Uuid,
    @Query('user_id') userId?: string,
    @Query() limit = 1000,
  ): Promise<FilmEvents> {
    return this.deps.analytics.filmEvents(filmId.toLowerCase(), userId, limit);
  }
}
