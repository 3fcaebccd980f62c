import { Controller, Get, Query, Response, Route, Security, Tags } from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { Uuid } from '../domain/analytics';
import {
  chartRange,
  type ActiveViewersChart,
  type FilmsChart,
  type FullViewChart,
  type PageViewChart,
  type PauseHeatmapChart,
  type QualityChart,
  type SearchChart,
} from '../domain/charts';
import type { Dependencies } from '../wiring';

/**
 * The charts of the analytics page (`/analytics`), one endpoint each, over a time range.
 * `from` and `to` are ISO 8601 times with a zone (or dates); the range is widened to whole hours
 * (UTC), is at most 92 days, and defaults to the last 24 hours. The answer echoes the range used.
 * Needs an `admin` or `super_user` access token.
 */
@Route('api/v1/analytics/charts')
@Tags('Analytics charts')
@Security('jwt', ['admin', 'super_user'])
@Response<ProblemDetails>(401, 'No or invalid access token')
@Response<ProblemDetails>(403, 'Not an admin or super_user')
@Response<ProblemDetails>(422, 'A bad time range, film id or number')
export class ChartsController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /**
   * Pauses per minute of the film, for one film or the films with the most pauses in the range.
   * @param from start of the range (inclusive)
   * @param to end of the range (exclusive)
   * @param filmId only this film
   * @param films how many films when no film is given
   * @isInt films
   * @minimum films 1
   * @maximum films 50
   */
  @Get('pause-heatmap')
  public async pauseHeatmapChart(
    @Query() from?: string,
    @Query() to?: string,
    @Query('film_id') filmId?: Uuid,
    @Query() films = 12,
  ): Promise<PauseHeatmapChart> {
    return this.deps.charts.pauseHeatmap(chartRange(from, to), filmId?.toLowerCase(), films);
  }

  /**
   * Quality switches up (to a higher resolution) and down over time, and per pair of renditions.
   * @param from start of the range (inclusive)
   * @param to end of the range (exclusive)
   * @param filmId only this film
   */
  @Get('quality-switches')
  public async qualitySwitchesChart(
    @Query() from?: string,
    @Query() to?: string,
    @Query('film_id') filmId?: Uuid,
  ): Promise<QualityChart> {
    return this.deps.charts.qualitySwitches(chartRange(from, to), filmId?.toLowerCase());
  }

  /**
   * The films whose viewers most and least often watched to the end.
   * @param from start of the range (inclusive)
   * @param to end of the range (exclusive)
   * @param limit films in each list
   * @param minViewers films with fewer distinct viewers are not ranked
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 100
   * @isInt minViewers
   * @minimum minViewers 1
   * @maximum minViewers 1000000
   */
  @Get('full-view-rate')
  public async fullViewRateChart(
    @Query() from?: string,
    @Query() to?: string,
    @Query() limit = 10,
    @Query('min_viewers') minViewers = 1,
  ): Promise<FullViewChart> {
    return this.deps.charts.fullViewRate(chartRange(from, to), limit, minViewers);
  }

  /**
   * Catalog page views per endpoint over time, with client and server errors per endpoint.
   * @param from start of the range (inclusive)
   * @param to end of the range (exclusive)
   */
  @Get('page-views')
  public async pageViewsChart(
    @Query() from?: string,
    @Query() to?: string,
  ): Promise<PageViewChart> {
    return this.deps.charts.pageViews(chartRange(from, to));
  }

  /**
   * The most searched queries (film and person search) and the queries that found nothing.
   * @param from start of the range (inclusive)
   * @param to end of the range (exclusive)
   * @param limit queries in each list
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 100
   */
  @Get('searches')
  public async searchesChart(
    @Query() from?: string,
    @Query() to?: string,
    @Query() limit = 10,
  ): Promise<SearchChart> {
    return this.deps.charts.searches(chartRange(from, to), limit);
  }

  /**
   * Distinct viewers with any player event per minute (per larger bucket over ranges longer
   * than a day: `bucket_seconds`).
   * @param from start of the range (inclusive)
   * @param to end of the range (exclusive)
   * @param filmId only this film
   */
  @Get('active-viewers')
  public async activeViewersChart(
    @Query() from?: string,
    @Query() to?: string,
    @Query('film_id') filmId?: Uuid,
  ): Promise<ActiveViewersChart> {
    return this.deps.charts.activeViewers(chartRange(from, to), filmId?.toLowerCase());
  }

  /**
   * Films with player events in the range, most events first (the page's film picker).
   * @param from start of the range (inclusive)
   * @param to end of the range (exclusive)
   * @param limit films at most
   * @isInt limit
   * @minimum limit 1
   * @maximum limit 500
   */
  @Get('films')
  public async filmsChart(
    @Query() from?: string,
    @Query() to?: string,
    @Query() limit = 100,
  ): Promise<FilmsChart> {
    return this.deps.charts.films(chartRange(from, to), limit);
  }
}
