import type { Request as ExpressRequest } from 'express';
import { Controller, Get, Query, Request, Response, Route, Security, Tags } from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { Dependencies } from '../wiring';
import { actorOf } from './request';
import type { UserListPage } from './types';
import { toUserListItem } from './views';

@Route('api/v1/auth')
@Tags('Users')
@Security('jwt', ['admin', 'super_user'])
@Response<ProblemDetails>(401, 'Missing or invalid access token')
@Response<ProblemDetails>(403, 'Requires admin or super_user (as the database says now)')
export class UsersController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /**
   * Every account in creation order, a page at a time (notifications back-fills its recipients
   * projection from it). No secrets: no password hash, no tokens.
   * @isInt page
   * @minimum page 1
   * @maximum page 1000000
   * @isInt pageSize
   * @minimum pageSize 1
   * @maximum pageSize 500
   */
  @Get('users')
  @Response<ProblemDetails>(422, 'Invalid page or pageSize')
  public async listUsers(
    @Request() req: ExpressRequest,
    @Query() page = 1,
    @Query() pageSize = 100,
  ): Promise<UserListPage> {
    const result = await this.deps.auth.listUsers(actorOf(req), { page, pageSize });
    return { ...result, items: result.items.map(toUserListItem) };
  }
}
