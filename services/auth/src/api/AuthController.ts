import type { Request as ExpressRequest } from 'express';
import {
  Body,
  Controller,
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
import { clientOf, principalOf } from './request';
import { toProfile } from './views';
import type {
  EmailTokenRequest,
  LoginRequest,
  PasswordResetConfirm,
  PasswordResetRequest,
  RefreshRequest,
  RegisterRequest,
  TokenPairResponse,
  UserProfile,
} from './types';

@Route('api/v1/auth')
@Tags('Authentication')
export class AuthController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /**
   * Creates an account with the role public_user, its address not yet verified: a link to
   * verify it is mailed (and in the `user.registered` event).
   */
  @Post('register')
  @SuccessResponse(201, 'Created')
  @Response<ProblemDetails>(409, 'An account with this e-mail exists')
  @Response<ProblemDetails>(422, 'Invalid body or weak password')
  @Response<ProblemDetails>(429, 'Too many registrations from this address or for this e-mail')
  public async register(
    @Body() body: RegisterRequest,
    @Request() req: ExpressRequest,
  ): Promise<UserProfile> {
    this.setStatus(201);
    return toProfile(await this.deps.auth.register(body, clientOf(req)));
  }

  /**
   * Logs in with e-mail and password. Unknown e-mail and wrong password get the same answer in
   * the same time. Consecutive failures lock the account for a while (429 with Retry-After).
   */
  @Post('login')
  @Response<ProblemDetails>(401, 'Invalid e-mail or password')
  @Response<ProblemDetails>(422, 'Invalid body')
  @Response<ProblemDetails>(429, 'Too many attempts, or the account is locked')
  public async login(
    @Body() body: LoginRequest,
    @Request() req: ExpressRequest,
  ): Promise<TokenPairResponse> {
    return this.deps.auth.login(body.email, body.password, clientOf(req));
  }

  /**
   * Exchanges a refresh token for a new pair; the old refresh token stops working (after a
   * short grace window). Reusing an old one revokes the whole session.
   */
  @Post('refresh')
  @Response<ProblemDetails>(401, 'Unknown, expired, revoked or reused refresh token')
  @Response<ProblemDetails>(422, 'Invalid body')
  public async refresh(@Body() body: RefreshRequest): Promise<TokenPairResponse> {
    return this.deps.auth.refresh(body.refreshToken);
  }

  /** Ends the session of this access token (its refresh tokens stop working). */
  @Post('logout')
  @Security('jwt')
  @SuccessResponse(204, 'Logged out')
  @Response<ProblemDetails>(401, 'Missing or invalid access token')
  public async logout(@Request() req: ExpressRequest): Promise<void> {
    const p = principalOf(req);
    await this.deps.auth.logout(p.id, p.sessionId);
    this.setStatus(204);
  }

  /** Ends every session of the user. */
  @Post('logout-all')
  @Security('jwt')
  @SuccessResponse(204, 'Logged out everywhere')
  @Response<ProblemDetails>(401, 'Missing or invalid access token')
  public async logoutAll(@Request() req: ExpressRequest): Promise<void> {
    await this.deps.auth.logoutAll(principalOf(req).id);
    this.setStatus(204);
  }

  /**
   * Asks for a password reset. Always 202 (no account enumeration); an existing account gets a
   * single-use token through the `user.password_reset_requested` event.
   */
  @Post('password-reset/request')
  @SuccessResponse(202, 'Accepted')
  @Response<ProblemDetails>(422, 'Invalid body')
  @Response<ProblemDetails>(429, 'Too many reset requests')
  public async requestPasswordReset(
    @Body() body: PasswordResetRequest,
    @Request() req: ExpressRequest,
  ): Promise<void> {
    await this.deps.auth.requestPasswordReset(body.email, clientOf(req));
    this.setStatus(202);
  }

  /** Confirms the account's address with the token of the link mailed on register. */
  @Post('email/verify')
  @SuccessResponse(204, 'Address verified')
  @Response<ProblemDetails>(400, 'Invalid, used or expired link')
  @Response<ProblemDetails>(422, 'Invalid body')
  public async verifyEmail(@Body() body: EmailTokenRequest): Promise<void> {
    await this.deps.auth.verifyEmail(body.token);
    this.setStatus(204);
  }

  /** Completes an e-mail change with the token of the link mailed to the new address. */
  @Post('email/change/confirm')
  @SuccessResponse(204, 'Address changed')
  @Response<ProblemDetails>(400, 'Invalid, used or expired link')
  @Response<ProblemDetails>(409, 'Another account took the address meanwhile')
  @Response<ProblemDetails>(422, 'Invalid body')
  public async confirmEmailChange(@Body() body: EmailTokenRequest): Promise<void> {
    await this.deps.auth.confirmEmailChange(body.token);
    this.setStatus(204);
  }

  /** Sets a new password with the reset token; every session of the account ends. */
  @Post('password-reset/confirm')
  @SuccessResponse(204, 'Password changed')
  @Response<ProblemDetails>(400, 'Invalid, used or expired token')
  @Response<ProblemDetails>(422, 'Invalid body or weak password')
  public async confirmPasswordReset(@Body() body: PasswordResetConfirm): Promise<void> {
    await this.deps.auth.confirmPasswordReset(body.token, body.newPassword);
    this.setStatus(204);
  }
}
