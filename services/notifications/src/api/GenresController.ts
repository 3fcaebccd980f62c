import type { Request as ExpressRequest } from 'express';
import {
  Body,
  Controller,
  Get,
  OperationId,
  Put,
  Request,
  Response,
  Route,
  Security,
  Tags,
} from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { Dependencies } from '../wiring';
import { userOf } from './types';

export interface GenreChoiceDto {
  /** The genre's name as in the catalog (1 to 60 letters, digits, spaces, _ ' & -). */
  name: string;
  /** Its catalog id (GET /api/v1/genres of catalog-api), when known. */
  id?: string | null;
}

export interface GenresDto {
  genres: GenreChoiceDto[];
}

export interface GenresUpdate {
  /** The genres to follow (replaces the list): names, or `{ name, id }`; at most 100. */
  genres: Array<string | GenreChoiceDto>;
}

/**
 * The genres the caller follows: a film published in one of them is announced to them (category
 * `new_films`, by e-mail and in-app as its preferences allow). Campaigns can target them too.
 */
@Route('api/v1/notifications/preferences/genres')
@Tags('Preferences')
@Security('jwt')
@Response<ProblemDetails>(401, 'No or invalid access token')
export class GenresController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  @Get()
  @OperationId('GetGenrePreferences')
  async get(@Request() req: ExpressRequest): Promise<GenresDto> {
    return { genres: await this.deps.genres.list(userOf(req).id) };
  }

  /** Replaces the followed genres; nothing is stored when any entry is bad (422). */
  @Put()
  @Response<ProblemDetails>(422, 'Invalid genres (every bad entry listed)')
  @OperationId('PutGenrePreferences')
  async put(@Request() req: ExpressRequest, @Body() body: GenresUpdate): Promise<GenresDto> {
    return { genres: await this.deps.genres.replace(userOf(req).id, body.genres) };
  }
}
