import { Controller, Get, Path, Query, Response, Route, Security, Tags } from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { FilmShort, Page, Person, Uuid } from '../domain/catalog';
import type { Dependencies } from '../wiring';

@Route('api/v1/persons')
@Tags('Persons')
@Security('jwt')
@Response<ProblemDetails>(401, 'No valid Bearer access token')
@Response<ProblemDetails>(422, 'A parameter is out of bounds or malformed')
@Response<ProblemDetails>(503, 'The search index is unavailable')
export class PersonsController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /**
   * Persons by name, tolerant of typos, each with their films and roles.
   * @param query a name or part of it
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
  public async searchPersons(
    @Query() query: string,
    @Query('page_number') pageNumber = 1,
    @Query('page_size') pageSize = 50,
  ): Promise<Page<Person>> {
    return this.deps.catalog.searchPersons({ query, pageNumber, pageSize });
  }

  /** One person with their films and their roles in each. */
  @Get('{person_id}')
  @Response<ProblemDetails>(404, 'No such person')
  public async getPerson(@Path('person_id') personId: Uuid): Promise<Person> {
    return this.deps.catalog.person(personId);
  }

  /** The films of a person, best rated first. */
  @Get('{person_id}/film')
  @Response<ProblemDetails>(404, 'No such person')
  public async getPersonFilms(@Path('person_id') personId: Uuid): Promise<FilmShort[]> {
    return this.deps.catalog.personFilms(personId);
  }
}
