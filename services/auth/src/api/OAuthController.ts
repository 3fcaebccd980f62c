import type { Request as ExpressRequest } from 'express';
import {
  Controller,
  Get,
  Query,
  Request,
  Response,
  Route,
  SuccessResponse,
  Tags,
} from '@tsoa/runtime';
import { NotFoundError, type ProblemDetails } from '@cinema/http';
import { api, clientOf } from './context';
import type { TokenPairResponse } from './types';

function google() {
  const g = api().google;
  if (!g) throw new NotFoundError('Google login is not configured (OAUTH_GOOGLE_CLIENT_ID)');
  return g;
}

@Route('auth/oauth/google')
@Tags('OAuth')
export class OAuthController extends Controller {
  /** Redirects the browser to Google (or the configured OpenID provider) to log in. */
  @Get('start')
  @SuccessResponse(302, 'Redirect to the provider')
  @Response<ProblemDetails>(404, 'Google login is not configured')
  public async start(@Request() req: ExpressRequest): Promise<void> {
    await google().start(req, req.res!);
  }

  /**
   * Where the provider sends the browser back. Links the account by verified e-mail (or
   * creates it) and answers the same tokens as a password login.
   */
  @Get('callback')
  @Response<ProblemDetails>(400, 'code or state missing')
  @Response<ProblemDetails>(401, 'Invalid state, code or ID token')
  @Response<ProblemDetails>(403, 'Refused by the provider, or no verified e-mail')
  @Response<ProblemDetails>(404, 'Google login is not configured')
  public async callback(
    @Request() req: ExpressRequest,
    @Query() code?: string,
    @Query() state?: string,
    @Query() error?: string,
  ): Promise<TokenPairResponse> {
    void [code, state, error]; // read by passport from req.query; declared for the spec
    const identity = await google().callback(req, req.res!);
    return api().auth.oauthLogin(identity, clientOf(req));
  }
}
