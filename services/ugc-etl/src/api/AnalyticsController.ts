import type { Request as ExpressRequest } from 'express';
import {
  Controller,
  Get,
  Path,
  Query,
  Request,
  Response,
  Route,
  Security,
  Tags,
} from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type {
  AnalyticsReader,
  FilmEvents,
  FullViewRate,
  PauseHeatmap,
  QualitySwitches,
  Uuid,
} from '../domain/analytics';

function reader(req: ExpressRequest): AnalyticsReader {
  return req.app.locals.analytics as AnalyticsReader;
}

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
  /** Pauses per minute of the film. */
  @Get('pause-heatmap')
  public async pauseHeatmap(
    @Request() req: ExpressRequest,
    @Path() filmId: Uuid,
  ): Promise<PauseHeatmap> {
    return reader(req).pauseHeatmap(filmId.toLowerCase());
  }

  /** Quality switches up (to a higher resolution) and down, and per pair of renditions. */
  @Get('quality-switches')
  public async qualitySwitches(
    @Request() req: ExpressRequest,
    @Path() filmId: Uuid,
  ): Promise<QualitySwitches> {
    return reader(req).qualitySwitches(filmId.toLowerCase());
  }

  /** Share of the film's viewers who watched it to the end. */
  @Get('full-view-rate')
  public async fullViewRate(
    @Request() req: ExpressRequest,
    @Path() filmId: Uuid,
  ): Promise<FullViewRate> {
    return reader(req).fullViewRate(filmId.toLowerCase());
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
    @Request() req: ExpressRequest,
    @Path() filmId: Uuid,
    @Query('user_id') userId?: string,
    @Query() limit = 1000,
  ): Promise<FilmEvents> {
    return reader(req).filmEvents(filmId.toLowerCase(), userId, limit);
  }
}
