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
import type { Genre, Page, Uuid } from '../domain/catalog';
import { catalog } from './context';

@Route('api/v1/genres')
@Tags('Genres')
@Security('jwt')
@Response<ProblemDetails>(401, 'No valid Bearer access token')
@Response<ProblemDetails>(422, 'A parameter is out of bounds or malformed')
@Response<ProblemDetails>(503, 'The search index is unavailable')
export class GenresController extends Controller {
  /**
   * Genres by name.
   * @isInt pageNumber
   * @minimum pageNumber 1
   * @maximum pageNumber 10000
   * @isInt pageSize
   * @minimum pageSize 1
   * @maximum pageSize 100
   */
  @Get()
  public async listGenres(
    @Request() req: ExpressRequest,
    @Query('page_number') pageNumber = 1,
    @Query('page_size') pageSize = 50,
  ): Promise<Page<Genre>> {
    return catalog(req).genres({ pageNumber, pageSize });
  }

  /** One genre. */
  @Get('{genre_id}')
  @Response<ProblemDetails>(404, 'No such genre')
  public async getGenre(
    @Request() req: ExpressRequest,
    @Path('genre_id') genreId: Uuid,
  ): Promise<Genre> {
    return catalog(req).genre(genreId);
  }
}
