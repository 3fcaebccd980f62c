import type { Request as ExpressRequest } from 'express';
import {
  Body,
  Controller,
  Header,
  Post,
  Request,
  Response,
  Route,
  SuccessResponse,
  Tags,
} from '@tsoa/runtime';
import { bearerToken } from '@cinema/auth';
import { ValidationError, type ProblemDetails } from '@cinema/http';
import type {
  Accepted,
  EventBatch,
  FullViewEvent,
  PauseEvent,
  QualityChangeEvent,
} from '../domain/events';
import type { Dependencies } from '../wiring';

/**
 * Player events. Each answer 202 means Kafka acknowledged the events (acks=all); a 503 with
 * `Retry-After` means they were not stored and should be sent again with the same `event_id`.
 * The viewer is the `sub` of a Bearer access token when one is sent, otherwise the stable
 * anonymous id of the player (`X-Anonymous-Id`).
 */
@Route('api')
@Tags('Player events')
export class EventsController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /** The viewer paused the film at `position_sec`. */
  @Post('pause')
  @SuccessResponse(202, 'Accepted: Kafka has the event')
  @Response<ProblemDetails>(401, 'Neither a valid access token nor an anonymous id')
  @Response<ProblemDetails>(422, 'Invalid event; `errors` names the bad field')
  @Response<ProblemDetails>(503, 'Kafka unreachable; retry after `Retry-After` seconds')
  public async pause(
    @Request() req: ExpressRequest,
    @Body() body: PauseEvent,
    @Header('X-Anonymous-Id') anonymousId?: string,
  ): Promise<Accepted> {
    const accepted = await this.deps.intake.acceptOne('pause', body, {
      token: bearerToken(req),
      anonymousId,
    });
    this.setStatus(202);
    return { accepted };
  }

  /** The viewer watched the film to its end. */
  @Post('full-view')
  @SuccessResponse(202, 'Accepted: Kafka has the event')
  @Response<ProblemDetails>(401, 'Neither a valid access token nor an anonymous id')
  @Response<ProblemDetails>(422, 'Invalid event; `errors` names the bad field')
  @Response<ProblemDetails>(503, 'Kafka unreachable; retry after `Retry-After` seconds')
  public async fullView(
    @Request() req: ExpressRequest,
    @Body() body: FullViewEvent,
    @Header('X-Anonymous-Id') anonymousId?: string,
  ): Promise<Accepted> {
    const accepted = await this.deps.intake.acceptOne('full_view', body, {
      token: bearerToken(req),
      anonymousId,
    });
    this.setStatus(202);
    return { accepted };
  }

  /** The viewer switched rendition (e.g. 360p to 720p) at `position_sec`. */
  @Post('quality-change')
  @SuccessResponse(202, 'Accepted: Kafka has the event')
  @Response<ProblemDetails>(401, 'Neither a valid access token nor an anonymous id')
  @Response<ProblemDetails>(422, 'Invalid event; `errors` names the bad field')
  @Response<ProblemDetails>(503, 'Kafka unreachable; retry after `Retry-After` seconds')
  public async qualityChange(
    @Request() req: ExpressRequest,
    @Body() body: QualityChangeEvent,
    @Header('X-Anonymous-Id') anonymousId?: string,
  ): Promise<Accepted> {
    const accepted = await this.deps.intake.acceptOne('quality_change', body, {
      token: bearerToken(req),
      anonymousId,
    });
    this.setStatus(202);
    return { accepted };
  }

  /**
   * Several events of any kind in one request: all are written to Kafka or none is answered
   * 202. Also accepts a `text/plain` body holding the same JSON (what `navigator.sendBeacon`
   * sends), with the viewer in `access_token` or `anonymous_id` since beacons carry no headers.
   */
  @Post('events')
  @SuccessResponse(202, 'Accepted: Kafka has every event')
  @Response<ProblemDetails>(401, 'Neither a valid access token nor an anonymous id')
  @Response<ProblemDetails>(422, 'Invalid events; `errors` names the bad fields')
  @Response<ProblemDetails>(503, 'Kafka unreachable; retry after `Retry-After` seconds')
  public async batch(
    @Request() req: ExpressRequest,
    @Body() body: EventBatch,
    @Header('X-Anonymous-Id') anonymousId?: string,
  ): Promise<Accepted> {
    const batchMaxEvents = this.deps.config.BATCH_MAX_EVENTS;
    if (body.events.length > batchMaxEvents) {
      throw new ValidationError('too many events', {
        'body.events': {
          message: `at most ${batchMaxEvents} events per request`,
          value: body.events.length,
        },
      });
    }
    const accepted = await this.deps.intake.acceptBatch(body.events, {
      token: bearerToken(req) ?? body.access_token,
      anonymousId: anonymousId ?? body.anonymous_id,
    });
    this.setStatus(202);
    return { accepted };
  }
}
