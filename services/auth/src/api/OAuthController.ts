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
import type { OAuthLogin } from '../adapters/google.oauth';
import type { Dependencies } from '../wiring';
import { clientOf } from './request';
import type { TokenPairResponse } from './types';

@Route('auth/oauth/google')
@Tags('OAuth')
export class OAuthController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  private google(): OAuthLogin {
    const g = this.deps.google;
    if (!g) throw new NotFoundError('Google login is not configured (OAUTH_GOOGLE_CLIENT_ID)');
    return g;
  }

  /** Redirects the browser to Google (or the configured OpenID provider) to log in. */
  @Get('start')
  @SuccessResponse(302, 'Redirect to the provider')
  @Response<ProblemDetails>(404, 'Google login is not configured')
  public async start(@Request() req: ExpressRequest): Promise<void> {
    await this.google().start(req, req.res!);
  }

  /**
   * Where the provider sends the browser back. Links the account by verified e-mail (or
   * creates it) and answers the same tokens as a password login. When
   * `OAUTH_SUCCESS_REDIRECT_URL` is set and the client prefers HTML (a browser), it answers 302
   * to that page with `access_token`, `refresh_token`, `token_type` and `expires_in` in the
   * URL fragment instead.
   */
  @Get('callback')
  @Response<void>(302, 'Browser sent to OAUTH_SUCCESS_REDIRECT_URL with the tokens in the fragment')
  @Response<ProblemDetails>(400, 'code or state missing')
  @Response<ProblemDetails>(401, 'Invalid state, code or ID token')
  @Response<ProblemDetails>(403, 'Refused by the provider, or no verified e-mail')
  @Response<ProblemDetails>(404, 'Google login is not configured')
  @Response<ProblemDetails>(503, 'The identity provider is unreachable')
  public async callback(
    @Request() req: ExpressRequest,
    @Query() code?: string,
    @Query() state?: string,
    @Query() error?: string,
  ): Promise<TokenPairResponse> {
    void [code, state, error]; // read by passport from req.query; declared for the spec
    const identity = await this.google().callback(req, req.res!);
    const pair = await this.deps.auth.oauthLogin(identity, clientOf(req));
    const target = this.deps.config.OAUTH_SUCCESS_REDIRECT_URL;
    if (target && req.accepts(['json', 'html']) === 'html') {
      const fragment = new URLSearchParams({
        access_token: pair.accessToken,
        refresh_token: pair.refreshToken,
        token_type: pair.tokenType,
        expires_in: String(pair.expiresIn),
      });
      this.setStatus(302);
      this.setHeader('Location', `${target.split('#')[0]}#${fragment}`);
      this.setHeader('Cache-Control', 'no-store');
      return undefined as unknown as TokenPairResponse;
    }
    return pair;
  }
}
