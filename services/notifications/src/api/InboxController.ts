import type { Request as ExpressRequest } from 'express';
import {
  Controller,
  Get,
  Header,
  OperationId,
  Path,
  Post,
  Query,
  Request,
  Response,
  Route,
  Security,
  SuccessResponse,
  Tags,
} from '@tsoa/runtime';
import { TooManyRequestsError, ValidationError, type ProblemDetails } from '@cinema/http';
import type { Dependencies } from '../wiring';
import {
  itemDto,
  userOf,
  type InboxPage,
  type ItemId,
  type MarkedRead,
  type UnreadCount,
} from './types';

/** The caller's in-app inbox; only the caller's own items exist for them. */
@Route('api/v1/notifications')
@Tags('Inbox')
@Security('jwt')
@Response<ProblemDetails>(401, 'No or invalid access token')
@Response<ProblemDetails>(422, 'Invalid request')
export class InboxController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /**
   * The caller's notifications, newest first.
   * @param limit 1..100 (default 20)
   * @param before an item id: the page of older items
   */
  @Get('inbox')
  @OperationId('ListInbox')
  async list(
    @Request() req: ExpressRequest,
    @Query() limit = 20,
    @Query() before?: ItemId,
    @Query() unread?: boolean,
  ): Promise<InboxPage> {
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw new ValidationError('limit is 1..100', {
        'query.limit': { message: '1..100', value: limit },
      });
    }
    const items = await this.deps.inbox.list(userOf(req).id, { limit, before, unreadOnly: unread });
    return {
      items: items.map(itemDto),
      next: items.length === limit ? items[items.length - 1]!.id : null,
    };
  }

  @Get('inbox/unread-count')
  async unreadCount(@Request() req: ExpressRequest): Promise<UnreadCount> {
    return { unread: await this.deps.inbox.unreadCount(userOf(req).id) };
  }

  /** Marks one of the caller's notifications read (another user's answers 404). */
  @Post('inbox/{id}/read')
  @SuccessResponse(204, 'Marked read')
  @Response<ProblemDetails>(404, 'No such notification of the caller')
  async markRead(@Request() req: ExpressRequest, @Path() id: ItemId): Promise<void> {
    await this.deps.inbox.markRead(userOf(req).id, id);
    this.setStatus(204);
  }

  @Post('inbox/read-all')
  async markAllRead(@Request() req: ExpressRequest): Promise<MarkedRead> {
    return { marked: await this.deps.inbox.markAllRead(userOf(req).id) };
  }

  /**
   * Server-Sent Events: each new notification of the caller as an `notification` event whose id
   * is the item id; a reconnecting client sends `Last-Event-ID` and first gets what it missed.
   * (Authorization header as everywhere: browsers use a fetch-based EventSource.)
   * @param lastEventId the last item id the client saw (the `Last-Event-ID` header)
   */
  @Get('stream')
  @Response(200, 'text/event-stream')
  @Response<ProblemDetails>(429, 'Too many open streams of this user')
  async stream(
    @Request() req: ExpressRequest,
    @Header('Last-Event-ID') lastEventId?: string,
  ): Promise<void> {
    if (lastEventId !== undefined && !/^\d{1,18}$/.test(lastEventId)) {
      throw new ValidationError('Last-Event-ID is an item id', {
        'header.Last-Event-ID': { message: 'digits', value: lastEventId },
      });
    }
    const userId = userOf(req).id;
    if (!this.deps.streams.admits(userId)) {
      throw new TooManyRequestsError('too many open streams for this user', 5);
    }
    const res = req.res!;
    // Live items that arrive while the missed ones are read wait, then go after them in order.
    let last = lastEventId ? BigInt(lastEventId) : 0n;
    let replaying = true;
    const waiting: Parameters<typeof itemDto>[0][] = [];
    const unsubscribe = this.deps.inbox.subscribe(userId, (item) => {
      if (replaying) waiting.push(item);
      else push(item);
    });
    const stream = this.deps.streams.start(res, unsubscribe, userId);
    const push = (item: Parameters<typeof itemDto>[0]) => {
      if (BigInt(item.id) <= last) return;
      last = BigInt(item.id);
      stream.send(item.id, 'notification', itemDto(item));
    };
    try {
      if (lastEventId)
        for (const item of await this.deps.inbox.missed(userId, lastEventId)) push(item);
    } catch (err) {
      // The answer has begun: end the stream; the client reconnects with its Last-Event-ID.
      this.deps.logger.warn({ err }, 'inbox stream: reading missed items failed');
      res.end();
      await stream.closed;
      return;
    }
    replaying = false;
    for (const item of waiting.sort((a, b) => (BigInt(a.id) < BigInt(b.id) ? -1 : 1))) push(item);
    await stream.closed;
  }
}
