import { Controller, Get, Query, Route, Tags } from '@tsoa/runtime';
import type { Dependencies } from '../wiring';

export interface RevokedSessionView {
  /** Session id (the `sid` claim of its access tokens). */
  sid: string;
  /** Seconds since the epoch: refuse the session's tokens until then. */
  exp: number;
}

export interface RevocationListView {
  /** Auth's clock when it answered: a later catch-up may start from here. */
  now: string;
  revocations: RevokedSessionView[];
}

@Route('api/v1/auth/revocations')
@Tags('Sessions')
export class RevocationsController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /**
   * Sessions ended since `since` whose access tokens may still be alive (all of them within one
   * access-token lifetime when `since` is omitted): the catch-up of a token verifier that
   * (re)connects to the `session.revoked` feed (docs/contracts.md). Session ids only; public,
   * as the JWKS is (an ended session's id grants nothing).
   * @param since ISO 8601 date-time
   */
  @Get()
  public async list(@Query() since?: string): Promise<RevocationListView> {
    this.setHeader('Cache-Control', 'no-store');
    const { now, revocations } = await this.deps.revocations.since(since);
    return { now: now.toISOString(), revocations };
  }
}
