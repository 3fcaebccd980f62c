import type { Request as ExpressRequest } from 'express';
import {
  Body,
  Controller,
  Delete,
  Get,
  OperationId,
  Path,
  Put,
  Query,
  Request,
  Response,
  Route,
  Security,
  Tags,
} from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { Dependencies } from '../wiring';
import {
  actorOf,
  type Cursor,
  type FilmId,
  type PageLimit,
  type RatingChangeDto,
  type RatingDto,
  type RatingPage,
  type RatingSummaryDto,
  type SetRatingRequest,
} from './types';

@Route('api/v1/ugc')
@Tags('Ratings')
@Security('jwt')
@Response<ProblemDetails>(401, 'No or invalid access token')
@Response<ProblemDetails>(422, 'Invalid request')
@Response<ProblemDetails>(503, 'The database is unavailable or the film is busy')
export class RatingsController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /** Sets or changes the caller's rating (0 to 10) of a film; answers the new film summary. */
  @Put('ratings/{filmId}')
  public async set(
    @Request() req: ExpressRequest,
    @Path() filmId: FilmId,
    @Body() body: SetRatingRequest,
  ): Promise<RatingChangeDto> {
    return this.deps.ratings.set(actorOf(req), filmId, body.score);
  }

  /** Removes the caller's rating of a film; answers the new film summary. */
  @Delete('ratings/{filmId}')
  @Response<ProblemDetails>(404, 'The caller has not rated the film')
  @OperationId('RemoveRating')
  public async remove(
    @Request() req: ExpressRequest,
    @Path() filmId: FilmId,
  ): Promise<RatingSummaryDto> {
    return this.deps.ratings.remove(actorOf(req), filmId);
  }

  /** The caller's ratings, most recently changed first. */
  @Get('ratings')
  @Response<ProblemDetails>(400, 'Malformed cursor')
  @OperationId('ListRatings')
  public async list(
    @Request() req: ExpressRequest,
    @Query() limit: PageLimit = 20,
    @Query() cursor?: Cursor,
  ): Promise<RatingPage> {
    return this.deps.ratings.list(actorOf(req), limit, cursor);
  }

  /** The caller's rating of a film. */
  @Get('ratings/{filmId}')
  @Response<ProblemDetails>(404, 'The caller has not rated the film')
  public async mine(@Request() req: ExpressRequest, @Path() filmId: FilmId): Promise<RatingDto> {
    return this.deps.ratings.mine(actorOf(req), filmId);
  }

  /** A film's rating count and average, read from stored counters. */
  @Get('films/{filmId}/rating')
  public async summary(@Path() filmId: FilmId): Promise<RatingSummaryDto> {
    return this.deps.ratings.summary(filmId);
  }
}
