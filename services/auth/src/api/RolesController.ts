import type { Request as ExpressRequest } from 'express';
import {
  Body,
  Controller,
  Delete,
  Get,
  Patch,
  Path,
  Post,
  Request,
  Response,
  Route,
  Security,
  SuccessResponse,
  Tags,
} from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { Dependencies } from '../wiring';
import { actorOf } from './request';
import type {
  AssignRoleRequest,
  CreateRoleRequest,
  RoleView,
  UpdateRoleRequest,
  UserRoles,
} from './types';
import { toRoleView } from './views';

@Route('api/v1/auth')
@Tags('Roles')
@Security('jwt', ['admin', 'super_user'])
@Response<ProblemDetails>(401, 'Missing or invalid access token')
@Response<ProblemDetails>(403, 'Requires admin or super_user (as the database says now)')
export class RolesController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /** Every role. */
  @Get('roles')
  public async listRoles(@Request() req: ExpressRequest): Promise<RoleView[]> {
    return (await this.deps.auth.listRoles(actorOf(req))).map(toRoleView);
  }

  /** Creates a role. */
  @Post('roles')
  @SuccessResponse(201, 'Created')
  @Response<ProblemDetails>(409, 'A role with this name exists')
  @Response<ProblemDetails>(422, 'Invalid body')
  public async createRole(
    @Request() req: ExpressRequest,
    @Body() body: CreateRoleRequest,
  ): Promise<RoleView> {
    const role = await this.deps.auth.createRole(actorOf(req), body.name, body.description ?? '');
    this.setStatus(201);
    return toRoleView(role);
  }

  /** Renames a role or changes its description (system roles cannot be renamed). */
  @Patch('roles/{roleId}')
  @Response<ProblemDetails>(404, 'No such role')
  @Response<ProblemDetails>(409, 'System role, or the name is taken')
  @Response<ProblemDetails>(422, 'Invalid body or roleId')
  public async updateRole(
    @Request() req: ExpressRequest,
    @Path() roleId: string,
    @Body() body: UpdateRoleRequest,
  ): Promise<RoleView> {
    return toRoleView(await this.deps.auth.updateRole(actorOf(req), roleId, body));
  }

  /** Deletes a role (not a system role); users lose it and their sessions end. */
  @Delete('roles/{roleId}')
  @SuccessResponse(204, 'Deleted')
  @Response<ProblemDetails>(404, 'No such role')
  @Response<ProblemDetails>(409, 'System roles cannot be deleted')
  @Response<ProblemDetails>(422, 'roleId is not a UUID')
  public async deleteRole(@Request() req: ExpressRequest, @Path() roleId: string): Promise<void> {
    await this.deps.auth.deleteRole(actorOf(req), roleId);
    this.setStatus(204);
  }

  /** A user's roles. */
  @Get('users/{userId}/roles')
  @Response<ProblemDetails>(404, 'No such user')
  @Response<ProblemDetails>(422, 'userId is not a UUID')
  public async userRoles(
    @Request() req: ExpressRequest,
    @Path() userId: string,
  ): Promise<UserRoles> {
    return { userId, roles: await this.deps.auth.userRoles(actorOf(req), userId) };
  }

  /**
   * Grants a role. Only a super_user grants super_user or changes a super_user's roles; admin
   * and super_user only to a verified address. The user's sessions end (the next login carries
   * the role).
   */
  @Post('users/{userId}/roles')
  @Response<ProblemDetails>(403, 'Only a super_user may do this')
  @Response<ProblemDetails>(404, 'No such user or role')
  @Response<ProblemDetails>(409, 'admin or super_user for an unverified address')
  @Response<ProblemDetails>(422, 'Invalid body or userId')
  public async assignRole(
    @Request() req: ExpressRequest,
    @Path() userId: string,
    @Body() body: AssignRoleRequest,
  ): Promise<UserRoles> {
    return { userId, roles: await this.deps.auth.assignRole(actorOf(req), userId, body.role) };
  }

  /**
   * Revokes a role; the user's sessions end. An admin cannot demote a super_user; public_user
   * cannot be revoked.
   */
  @Delete('users/{userId}/roles/{role}')
  @Response<ProblemDetails>(403, 'Only a super_user may do this')
  @Response<ProblemDetails>(404, 'No such user or role, or the user lacks it')
  @Response<ProblemDetails>(409, 'public_user cannot be revoked')
  @Response<ProblemDetails>(422, 'userId is not a UUID')
  public async revokeRole(
    @Request() req: ExpressRequest,
    @Path() userId: string,
    @Path() role: string,
  ): Promise<UserRoles> {
    return { userId, roles: await this.deps.auth.revokeRole(actorOf(req), userId, role) };
  }
}
