import type { Request as ExpressRequest } from 'express';
import {
  Body,
  Controller,
  Delete,
  Get,
  Patch,
  OperationId,
  Path,
  Post,
  Put,
  Query,
  Request,
  Response,
  Route,
  Security,
  SuccessResponse,
  Tags,
} from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { Dependencies } from '../wiring';
import {
  actorOf,
  type Cursor,
  type FilmId,
  type PageLimit,
  type ReviewDto,
  type ReviewId,
  type ReviewPage,
  type ReviewRequest,
  type VoteDto,
  type VoteRequest,
} from './types';

@Route('api/v1/ugc')
@Tags('Reviews')
@Security('jwt')
@Response<ProblemDetails>(401, 'No or invalid access token')
@Response<ProblemDetails>(422, 'Invalid request')
@Response<ProblemDetails>(503, 'The database is unavailable or the review is busy')
export class ReviewsController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /** Writes the caller's review of a film (one per user and film). */
  @Post('films/{filmId}/reviews')
  @SuccessResponse(201, 'Created')
  @Response<ProblemDetails>(409, 'The caller already reviewed the film')
  public async create(
    @Request() req: ExpressRequest,
    @Path() filmId: FilmId,
    @Body() body: ReviewRequest,
  ): Promise<ReviewDto> {
    const review = await this.deps.reviews.create(actorOf(req), filmId, body.text);
    this.setStatus(201);
    return review;
  }

  /** A film's reviews, newest first or most liked first. */
  @Get('films/{filmId}/reviews')
  @Response<ProblemDetails>(400, 'Malformed cursor, or a cursor of another sort order')
  @OperationId('ListReviews')
  public async list(
    @Path() filmId: FilmId,
    @Query() sort: 'newest' | 'likes' = 'newest',
    @Query() limit: PageLimit = 20,
    @Query() cursor?: Cursor,
  ): Promise<ReviewPage> {
    return this.deps.reviews.list(filmId, sort, limit, cursor);
  }

  /** One review. */
  @Get('reviews/{reviewId}')
  @Response<ProblemDetails>(404, 'No such review')
  public async get(@Path() reviewId: ReviewId): Promise<ReviewDto> {
    return this.deps.reviews.get(reviewId);
  }

  /** Changes the text of the caller's review. */
  @Patch('reviews/{reviewId}')
  @Response<ProblemDetails>(403, 'Not the author')
  @Response<ProblemDetails>(404, 'No such review')
  public async edit(
    @Request() req: ExpressRequest,
    @Path() reviewId: ReviewId,
    @Body() body: ReviewRequest,
  ): Promise<ReviewDto> {
    return this.deps.reviews.edit(actorOf(req), reviewId, body.text);
  }

  /** Deletes a review: its author, or an admin or super_user. */
  @Delete('reviews/{reviewId}')
  @SuccessResponse(204, 'Deleted')
  @Response<ProblemDetails>(403, 'Neither the author nor an admin')
  @Response<ProblemDetails>(404, 'No such review')
  @OperationId('RemoveReview')
  public async remove(@Request() req: ExpressRequest, @Path() reviewId: ReviewId): Promise<void> {
    await this.deps.reviews.remove(actorOf(req), reviewId);
    this.setStatus(204);
  }

  /** Likes or dislikes a review (one vote per user; voting again changes the vote). */
  @Put('reviews/{reviewId}/vote')
  @Response<ProblemDetails>(403, 'Authors do not vote on their own review')
  @Response<ProblemDetails>(404, 'No such review')
  public async vote(
    @Request() req: ExpressRequest,
    @Path() reviewId: ReviewId,
    @Body() body: VoteRequest,
  ): Promise<ReviewDto> {
    return this.deps.reviews.vote(actorOf(req), reviewId, body.value);
  }

  /** Withdraws the caller's vote on a review. */
  @Delete('reviews/{reviewId}/vote')
  @Response<ProblemDetails>(403, 'Authors do not vote on their own review')
  @Response<ProblemDetails>(404, 'No such review, or no vote')
  public async unvote(
    @Request() req: ExpressRequest,
    @Path() reviewId: ReviewId,
  ): Promise<ReviewDto> {
    return this.deps.reviews.vote(actorOf(req), reviewId, null);
  }

  /** The caller's vote on a review. */
  @Get('reviews/{reviewId}/vote')
  @Response<ProblemDetails>(404, 'No such review')
  public async myVote(
    @Request() req: ExpressRequest,
    @Path() reviewId: ReviewId,
  ): Promise<VoteDto> {
    return { value: await this.deps.reviews.myVote(actorOf(req), reviewId) };
  }
}
