import {
  Body,
  Controller,
  Get,
  OperationId,
  Path,
  Post,
  Response,
  Route,
  Security,
  Tags,
} from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { Dependencies } from '../wiring';
import type { PreviewDto, PreviewRequest, TemplateList } from './types';

/** Message templates and their preview (admins). */
@Route('api/v1/notifications/templates')
@Tags('Templates')
@Security('jwt', ['admin', 'super_user'])
@Response<ProblemDetails>(401, 'No or invalid access token')
@Response<ProblemDetails>(403, 'Not an admin')
export class TemplatesController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  @Get()
  @OperationId('ListTemplates')
  async list(): Promise<TemplateList> {
    return { templates: this.deps.templates.names() };
  }

  /**
   * The e-mail as a recipient would get it (subject, HTML, text) for the given variables.
   * @param name a template name
   */
  @Post('{name}/preview')
  @Response<ProblemDetails>(404, 'No such template')
  @Response<ProblemDetails>(422, 'A variable is missing')
  async preview(@Path() name: string, @Body() body: PreviewRequest): Promise<PreviewDto> {
    return this.deps.templates.email(name, body.locale ?? 'en', {
      unsubscribe_url: null,
      ...body.vars,
    });
  }
}
