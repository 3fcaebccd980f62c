import { Controller, Get, Path, Query, Response, Route, Security, Tags } from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { Genre, Page, Uuid } from '../domain/catalog';
import type { Dependencies } from '../wiring';

@Route('api/v1/genres')
@Tags('Genres')
@Security('jwt')
@Response<ProblemDetails>(401, 'No valid Bearer access token')
@Response<ProblemDetails>(422, 'A parameter is out of bounds or malformed')
@Response<ProblemDetails>(503, 'The search index is unavailable')
export class GenresController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

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
    @Query('page_number') pageNumber = 1,
    @Query('page_size') pageSize = 50,
  ): Promise<Page<Genre>> {
    return this.deps.catalog.genres({ pageNumber, pageSize });
  }

  /** One genre. */
  @Get('{genre_id}')
  @Response<ProblemDetails>(404, 'No such genre')
  public async getGenre(@Path('genre_id') genreId: Uuid): Promise<Genre> {
    return this.deps.catalog.genre(genreId);
  }
}
