import type { Request as ExpressRequest } from 'express';
import {
  Body,
  Controller,
  Delete,
  Get,
  OperationId,
  Path,
  Post,
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
  type AddBookmarkRequest,
  type BookmarkDto,
  type BookmarkPage,
  type BookmarkStatusDto,
  type Cursor,
  type FilmId,
  type PageLimit,
} from './types';

@Route('api/v1/ugc/bookmarks')
@Tags('Bookmarks')
@Security('jwt')
@Response<ProblemDetails>(401, 'No or invalid access token')
@Response<ProblemDetails>(422, 'Invalid request')
@Response<ProblemDetails>(503, 'The database is unavailable')
export class BookmarksController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /** Bookmarks a film for the caller. */
  @Post()
  @SuccessResponse(201, 'Bookmarked')
  @Response<ProblemDetails>(409, 'The film is already bookmarked')
  public async add(
    @Request() req: ExpressRequest,
    @Body() body: AddBookmarkRequest,
  ): Promise<BookmarkDto> {
    const bookmark = await this.deps.bookmarks.add(actorOf(req), body.filmId);
    this.setStatus(201);
    return bookmark;
  }

  /** The caller's bookmarks, newest first. */
  @Get()
  @Response<ProblemDetails>(400, 'Malformed cursor')
  @OperationId('ListBookmarks')
  public async list(
    @Request() req: ExpressRequest,
    @Query() limit: PageLimit = 20,
    @Query() cursor?: Cursor,
  ): Promise<BookmarkPage> {
    return this.deps.bookmarks.list(actorOf(req), limit, cursor);
  }

  /** Whether the caller bookmarked a film. */
  @Get('{filmId}')
  public async status(
    @Request() req: ExpressRequest,
    @Path() filmId: FilmId,
  ): Promise<BookmarkStatusDto> {
    return this.deps.bookmarks.status(actorOf(req), filmId);
  }

  /** Removes a bookmark. */
  @Delete('{filmId}')
  @SuccessResponse(204, 'Removed')
  @Response<ProblemDetails>(404, 'The film is not bookmarked')
  @OperationId('RemoveBookmark')
  public async remove(@Request() req: ExpressRequest, @Path() filmId: FilmId): Promise<void> {
    await this.deps.bookmarks.remove(actorOf(req), filmId);
    this.setStatus(204);
  }
}
