import { Controller, Get, Route, Tags } from '@tsoa/runtime';
import type { Dependencies } from '../wiring';
import type { JsonWebKeySet } from './types';

@Route('.well-known')
@Tags('Keys')
export class JwksController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /**
   * Public keys verifying access tokens: the current signing key and the previous ones still
   * inside their validity window (key rotation). Match a token's `kid`.
   */
  @Get('jwks.json')
  public async jwks(): Promise<JsonWebKeySet> {
    this.setHeader('Cache-Control', 'public, max-age=300');
    return this.deps.keys.jwks() as JsonWebKeySet;
  }
}
