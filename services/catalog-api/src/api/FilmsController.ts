import { Controller, Get, Path, Query, Response, Route, Security, Tags } from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { Film, FilmShort, FilmSort, FilmSuggestions, Page, Uuid } from '../domain/catalog';
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
   * Full-text search over titles, person names and descriptions. Every word of the query must
   * match; the exact title first, then the words as a phrase, then all words anywhere (title over
   * people over description), then matches with typos; the rating only breaks ties.
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

  /**
   * Suggestions for a search box: films whose title starts with the prefix (case-insensitive),
   * at most `size`.
   * @param prefix what was typed so far
   * @param size suggestions at most
   * @minLength prefix 1
   * @maxLength prefix 100
   * @isInt size
   * @minimum size 1
   * @maximum size 20
   */
  @Get('suggest')
  public async suggestFilms(@Query() prefix: string, @Query() size = 10): Promise<FilmSuggestions> {
    return this.deps.catalog.suggestFilms({ prefix, size });
  }

  /** One film with its genres and its people by role. */
  @Get('{film_id}')
  @Response<ProblemDetails>(404, 'No such film')
  public async getFilm(@Path('film_id') filmId: Uuid): Promise<Film> {
    return this.deps.catalog.film(filmId);
  }
}
