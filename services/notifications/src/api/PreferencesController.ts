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
import type { Settings } from '../domain/settings';
import type { Dependencies } from '../wiring';
import { userOf, type PreferencesDto, type PreferencesUpdate } from './types';

const dto = (s: Settings): PreferencesDto => ({
  categories: s.categories,
  locked: s.locked,
  locale: s.locale,
  timeZone: s.timeZone,
  quietHours: s.quietHours,
});

/** The caller's notification preferences per category and channel, locale, time zone, quiet hours. */
@Route('api/v1/notifications/preferences')
@Tags('Preferences')
@Security('jwt')
@Response<ProblemDetails>(401, 'No or invalid access token')
export class PreferencesController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  @Get()
  @OperationId('GetPreferences')
  async get(@Request() req: ExpressRequest): Promise<PreferencesDto> {
    return dto(await this.deps.settings.get(userOf(req).id));
  }

  /**
   * Changes the given switches and settings; security and account messages cannot be turned off
   * on e-mail or in-app (422), nor can unknown categories be set. Nothing is stored when any field
   * is bad.
   */
  @Put()
  @Response<ProblemDetails>(422, 'Invalid settings (every bad field listed)')
  @OperationId('PutPreferences')
  async put(
    @Request() req: ExpressRequest,
    @Body() body: PreferencesUpdate,
  ): Promise<PreferencesDto> {
    return dto(
      await this.deps.settings.update(
        userOf(req).id,
        body as Parameters<Dependencies['settings']['update']>[1],
      ),
    );
  }
}
