import type { Request as ExpressRequest } from 'express';
import {
  Body,
  Controller,
  Delete,
  Get,
  Patch,
  Path,
  Post,
  Put,
  Query,
  Request,
  Response,
  Route,
  Security,
  SuccessResponse,
  Tags,
} from '@tsoa/runtime';
import type { ProblemDetails } from '@cinema/http';
import type { Dependencies } from '../wiring';
import type { DeviceType } from '../domain/device';
import { clientOf, principalOf } from './request';
import type {
  ChangePasswordRequest,
  DeleteAccountRequest,
  EmailChangeRequest,
  LoginHistoryPage,
  SessionView,
  UpdateProfileRequest,
  UserProfile,
} from './types';
import { toProfile, toSessionView } from './views';

@Route('api/v1/auth')
@Tags('Account')
@Security('jwt')
@Response<ProblemDetails>(401, 'Missing, invalid or expired access token, or ended session')
export class AccountController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /** The caller's profile. */
  @Get('me')
  public async me(@Request() req: ExpressRequest): Promise<UserProfile> {
    return toProfile(await this.deps.auth.profile(principalOf(req).id));
  }

  /** Updates the caller's names (the e-mail address changes through `POST /me/email`). */
  @Patch('me')
  @Response<ProblemDetails>(422, 'Invalid body')
  public async updateMe(
    @Request() req: ExpressRequest,
    @Body() body: UpdateProfileRequest,
  ): Promise<UserProfile> {
    return toProfile(await this.deps.auth.updateProfile(principalOf(req).id, body));
  }

  /**
   * Deletes the caller's account: needs the current password (an account without one: a login a
   * few minutes ago). Personal data is emptied, the address freed, every session ends; other
   * services are told by `user.deleted`.
   */
  @Delete('me')
  @SuccessResponse(204, 'Account deleted')
  @Response<ProblemDetails>(403, 'Current password missing or wrong, or the login is too old')
  @Response<ProblemDetails>(422, 'Invalid body')
  @Response<ProblemDetails>(429, 'Too many wrong passwords')
  public async deleteMe(
    @Request() req: ExpressRequest,
    @Body() body: DeleteAccountRequest,
  ): Promise<void> {
    const p = principalOf(req);
    await this.deps.auth.deleteAccount(p.id, p.sessionId, body.currentPassword);
    this.setStatus(204);
  }

  /**
   * Asks to change the e-mail address: needs the current password (an account without one:
   * a login a few minutes ago). A single-use link goes to the new address and a notice to the
   * current one; the address changes only when the link is opened (`POST /email/change/confirm`).
   * The answer is 202 whether or not the new address belongs to another account.
   */
  @Post('me/email')
  @SuccessResponse(202, 'Link sent to the new address (if it can be used)')
  @Response<ProblemDetails>(403, 'Current password missing or wrong, or the login is too old')
  @Response<ProblemDetails>(422, 'Invalid body, or the new address is the current one')
  @Response<ProblemDetails>(429, 'Too many requests, or too many wrong passwords')
  public async requestEmailChange(
    @Request() req: ExpressRequest,
    @Body() body: EmailChangeRequest,
  ): Promise<void> {
    const p = principalOf(req);
    await this.deps.auth.requestEmailChange(p.id, p.sessionId, body, clientOf(req));
    this.setStatus(202);
  }

  /** Mails a new verification link to the caller's address (older links stop working). */
  @Post('me/email/verification')
  @SuccessResponse(202, 'Link sent')
  @Response<ProblemDetails>(409, 'The address is already verified')
  @Response<ProblemDetails>(429, 'Too many requests')
  public async resendVerification(@Request() req: ExpressRequest): Promise<void> {
    await this.deps.auth.resendVerification(principalOf(req).id, clientOf(req));
    this.setStatus(202);
  }

  /**
   * Changes the password; every other session ends. Wrong current passwords count against a
   * lockout (LOGIN_MAX_FAILURES, then 429 for LOGIN_LOCKOUT_SECONDS).
   */
  @Put('password')
  @SuccessResponse(204, 'Password changed')
  @Response<ProblemDetails>(403, 'The current password is wrong')
  @Response<ProblemDetails>(422, 'Invalid body or weak password')
  @Response<ProblemDetails>(429, 'Too many wrong current passwords')
  public async changePassword(
    @Request() req: ExpressRequest,
    @Body() body: ChangePasswordRequest,
  ): Promise<void> {
    const p = principalOf(req);
    await this.deps.auth.changePassword(p.id, p.sessionId, body.currentPassword, body.newPassword);
    this.setStatus(204);
  }

  /** The caller's active sessions, most recently used first. */
  @Get('sessions')
  public async sessions(@Request() req: ExpressRequest): Promise<SessionView[]> {
    const p = principalOf(req);
    return (await this.deps.auth.sessions(p.id)).map((s) => toSessionView(s, p.sessionId));
  }

  /** Ends one of the caller's sessions. */
  @Delete('sessions/{sessionId}')
  @SuccessResponse(204, 'Session ended')
  @Response<ProblemDetails>(404, 'No such active session of the caller')
  @Response<ProblemDetails>(422, 'sessionId is not a UUID')
  public async revokeSession(
    @Request() req: ExpressRequest,
    @Path() sessionId: string,
  ): Promise<void> {
    await this.deps.auth.revokeSession(principalOf(req).id, sessionId);
    this.setStatus(204);
  }

  /**
   * The caller's logins (successful and failed), newest first, optionally of one device type.
   * @isInt page
   * @minimum page 1
   * @maximum page 100000
   * @isInt pageSize
   * @minimum pageSize 1
   * @maximum pageSize 100
   */
  @Get('login-history')
  @Response<ProblemDetails>(422, 'Invalid page, pageSize or deviceType')
  public async loginHistory(
    @Request() req: ExpressRequest,
    @Query() page = 1,
    @Query() pageSize = 20,
    @Query() deviceType?: DeviceType,
  ): Promise<LoginHistoryPage> {
    return this.deps.auth.loginHistory(principalOf(req).id, { page, pageSize, deviceType });
  }
}
