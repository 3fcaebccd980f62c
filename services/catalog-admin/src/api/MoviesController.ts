import { Controller, Get, Path, Query, Response, Route, Tags } from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { Dependencies } from '../wiring';

/**
 * @pattern ^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$
 * @example "3d825f60-9fff-4dfe-b294-1a45fa1e115d"
 */
export type Uuid = string;

export interface GenreRef {
  id: Uuid;
  name: string;
}

export interface PersonRef {
  id: Uuid;
  full_name: string;
}

export interface Movie {
  id: Uuid;
  title: string;
  description: string | null;
  /** ISO date `YYYY-MM-DD`. */
  creation_date: string | null;
  /** 0 to 10. */
  rating: number | null;
  type: 'movie' | 'tv_show';
  genres: GenreRef[];
  actors: PersonRef[];
  directors: PersonRef[];
  writers: PersonRef[];
}

export interface MoviesPage {
  /** Number of films in the catalog. */
  count: number;
  total_pages: number;
  page: number;
  page_size: number;
  /** Previous page number, null on the first page. */
  prev: number | null;
  /** Next page number, null on the last page. */
  next: number | null;
  results: Movie[];
}

@Route('api/v1/movies')
@Tags('Movies')
export class MoviesController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /**
   * Films by title, a page at a time, each with its genres and its persons by role.
   * @param page Page number, 1 to 10,000.
   * @param page_size Films per page, 1 to 100.
   * @isInt page
   * @minimum page 1
   * @maximum page 10000
   * @isInt page_size
   * @minimum page_size 1
   * @maximum page_size 100
   */
  @Get()
  @Response<ProblemDetails>(422, 'page or page_size out of bounds or not an integer')
  @Response<ProblemDetails>(503, 'the catalog database is unavailable')
  public async list(
    @Query() page: number = 1,
    @Query() page_size: number = 50,
  ): Promise<MoviesPage> {
    return this.deps.catalog.moviesPage(page, page_size);
  }

  /** One film with its genres and persons by role. */
  @Get('{id}')
  @Response<ProblemDetails>(404, 'no film with this id')
  @Response<ProblemDetails>(422, 'the id is not a UUID')
  @Response<ProblemDetails>(503, 'the catalog database is unavailable')
  public async get(@Path() id: Uuid): Promise<Movie> {
    return this.deps.catalog.movie(id);
  }
}
