import { Controller, Get, Path, Query, Response, Route, Security, Tags } from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { Film, FilmShort, FilmSort, Page, Uuid } from '../domain/catalog';
import type { Dependencies } from '../wiring';

@Route('api/v1/films')
@Tags('Films')
@Security('jwt')
@Response<ProblemDetails>(401, 'No valid Bearer access token')
@Response<ProblemDetails>(422, 'A parameter is out of bounds or malformed')
@Response<ProblemDetails>(503, 'The search index is unavailable')
export class FilmsController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /**
   * Films, sorted by rating, optionally of one genre, one page at a time.
   * @param sort `-rating` (best first) or `rating`
   * @param genre only films of this genre (its id)
   * @param pageNumber 1-based page; page_number × page_size is at most 10,000
   * @param pageSize films per page
   * @isInt pageNumber
   * @minimum pageNumber 1
   * @maximum pageNumber 10000
   * @isInt pageSize
   * @minimum pageSize 1
   * @maximum pageSize 100
   */
  @Get()
  public async listFilms(
    @Query() sort: FilmSort = '-rating',
    @Query() genre?: Uuid,
    @Query('page_number') pageNumber = 1,
    @Query('page_size') pageSize = 50,
  ): Promise<Page<FilmShort>> {
    return this.deps.catalog.films({ sort, genre, pageNumber, pageSize });
  }

  /**
   * Full-text search over titles, descriptions and person names, tolerant of typos.
   * @param query words to look for
   * @minLength query 1
   * @maxLength query 200
   * @isInt pageNumber
   * @minimum pageNumber 1
   * @maximum pageNumber 10000
   * @isInt pageSize
   * @minimum pageSize 1
   * @maximum pageSize 100
   */
  @Get('search')
  public async searchFilms(
    @Query() query: string,
    @Query('page_number') pageNumber = 1,
    @Query('page_size') pageSize = 50,
  ): Promise<Page<FilmShort>> {
    return this.deps.catalog.searchFilms({ query, pageNumber, pageSize });
  }

  /** One film with its genres and its people by role. */
  @Get('{film_id}')
  @Response<ProblemDetails>(404, 'No such film')
  public async getFilm(@Path('film_id') filmId: Uuid): Promise<Film> {
    return this.deps.catalog.film(filmId);
  }
}
