import type { Request as ExpressRequest } from 'express';
import {
  Body,
  Controller,
  Get,
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
import { ValidationError, type ProblemDetails } from '@cinema/http';
import type { Campaign, CampaignDelivery } from '../domain/campaigns.model';
import type { Dependencies } from '../wiring';
import { userOf } from './types';

/** @pattern ^[1-9][0-9]{0,17}$ */
export type CampaignId = string;

export interface AudienceBody {
  /** everyone; a role; users opted into genres; explicit user ids; a CSV (user id or e-mail per line) */
  kind: 'everyone' | 'role' | 'genres' | 'ids' | 'csv';
  role?: string;
  genres?: string[];
  ids?: string[];
  csv?: string;
}

export interface CampaignBody {
  title: string;
  /** marketing, new_films or review_activity (a campaign never rides on security/account) */
  category: string;
  /** email, in_app, sms */
  channels: string[];
  /** A campaign template (`message`, `campaign_*`) with `vars` ... */
  template?: string;
  /** ... or an ad-hoc subject and body with `{{name}}` placeholders filled from `vars`. */
  subject?: string;
  body?: string;
  vars?: Record<string, string>;
  audience: AudienceBody;
  /** ISO date-time with offset; absent: now. With `localTime`: `YYYY-MM-DDTHH:MM` in each recipient's zone. */
  sendAt?: string;
  localTime?: boolean;
}

export interface CampaignDto {
  id: CampaignId;
  title: string;
  category: string;
  channels: string[];
  template: string;
  subject: string | null;
  body: string | null;
  vars: Record<string, string>;
  audience: Record<string, unknown>;
  /** @format date-time */
  sendAt: string;
  localTime: string | null;
  state: 'scheduled' | 'running' | 'paused' | 'finished' | 'cancelled';
  total: number;
  createdBy: string;
  /** @format date-time */
  createdAt: string;
  /** @format date-time */
  startedAt: string | null;
  /** @format date-time */
  finishedAt: string | null;
}

export interface CampaignProgressDto {
  state: CampaignDto['state'];
  recipients: number;
  planned: number;
  queued: number;
  sent: number;
  failed: number;
  skipped: number;
  skippedByPreference: number;
  held: number;
}

export interface DeliveryDto {
  id: string;
  campaignId: string | null;
  recipient: string;
  channel: string;
  category: string;
  status: 'queued' | 'sending' | 'sent' | 'failed' | 'skipped';
  reason: string | null;
  attempts: number;
  /** @format date-time */
  createdAt: string;
  /** @format date-time */
  sentAt: string | null;
}

export interface DeliveryPage {
  items: DeliveryDto[];
  /** Pass as `after` for the next page; null at the end. */
  next: string | null;
}

export const campaignDto = (c: Campaign): CampaignDto => ({
  ...c,
  sendAt: c.sendAt.toISOString(),
  createdAt: c.createdAt.toISOString(),
  startedAt: c.startedAt?.toISOString() ?? null,
  finishedAt: c.finishedAt?.toISOString() ?? null,
});

export const deliveryDto = (d: CampaignDelivery): DeliveryDto => ({
  id: d.id,
  campaignId: d.campaignId,
  recipient: d.recipient,
  channel: d.channel,
  category: d.category,
  status: d.status,
  reason: d.reason,
  attempts: d.attempts,
  createdAt: d.createdAt.toISOString(),
  sentAt: d.sentAt?.toISOString() ?? null,
});

const checkLimit = (limit: number, max: number) => {
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new ValidationError(`limit is 1..${max}`, {
      'query.limit': { message: `1..${max}`, value: limit },
    });
  }
};

/** Mass and scheduled sends (admin and super_user only). */
@Route('api/v1/notifications')
@Tags('Campaigns')
@Security('jwt', ['admin', 'super_user'])
@Response<ProblemDetails>(401, 'No or invalid access token')
@Response<ProblemDetails>(403, 'Neither admin nor super_user')
@Response<ProblemDetails>(422, 'Invalid request')
export class CampaignsController extends Controller {
  constructor(private readonly deps: Dependencies) {
    super();
  }

  /**
   * Composes a campaign: its audience is resolved now (422 when it resolves to nobody or names
   * unknown users) and its first step is queued for `sendAt`; nothing is stored on any error.
   */
  @Post('campaigns')
  @SuccessResponse(201, 'Created')
  @Response<ProblemDetails>(503, 'The auth service (the audience) cannot be reached')
  async create(@Request() req: ExpressRequest, @Body() body: CampaignBody): Promise<CampaignDto> {
    const campaign = await this.deps.campaigns.create(body, userOf(req).id);
    this.setStatus(201);
    this.setHeader('Location', `/api/v1/notifications/campaigns/${campaign.id}`);
    return campaignDto(campaign);
  }

  /** Campaigns, newest first. */
  @Get('campaigns')
  @OperationId('ListCampaigns')
  async list(
    @Query() limit = 20,
    @Query() before?: CampaignId,
    @Query() state?: 'scheduled' | 'running' | 'paused' | 'finished' | 'cancelled',
  ): Promise<{ items: CampaignDto[]; next: string | null }> {
    checkLimit(limit, 100);
    const items = await this.deps.campaigns.list({ limit, before, state });
    return {
      items: items.map(campaignDto),
      next: items.length === limit ? items[items.length - 1]!.id : null,
    };
  }

  @Get('campaigns/{id}')
  @Response<ProblemDetails>(404, 'No such campaign')
  @OperationId('GetCampaign')
  async get(@Path() id: CampaignId): Promise<CampaignDto> {
    return campaignDto(await this.deps.campaigns.get(id));
  }

  /** Recipients planned and deliveries by status (queued, sent, failed, skipped). */
  @Get('campaigns/{id}/progress')
  @Response<ProblemDetails>(404, 'No such campaign')
  async progress(@Path() id: CampaignId): Promise<CampaignProgressDto> {
    const [campaign, progress] = await Promise.all([
      this.deps.campaigns.get(id),
      this.deps.campaigns.progress(id),
    ]);
    return { state: campaign.state, ...progress };
  }

  /** Holds the campaign: no new recipients are planned and its queued deliveries wait. */
  @Post('campaigns/{id}/pause')
  @Response<ProblemDetails>(404, 'No such campaign')
  @Response<ProblemDetails>(409, 'Not scheduled or running')
  async pause(@Path() id: CampaignId): Promise<CampaignDto> {
    return campaignDto(await this.deps.campaigns.pause(id));
  }

  @Post('campaigns/{id}/resume')
  @Response<ProblemDetails>(404, 'No such campaign')
  @Response<ProblemDetails>(409, 'Not paused')
  async resume(@Path() id: CampaignId): Promise<CampaignDto> {
    return campaignDto(await this.deps.campaigns.resume(id));
  }

  /** Stops for good: queued deliveries become skipped ("campaign cancelled"). */
  @Post('campaigns/{id}/cancel')
  @Response<ProblemDetails>(404, 'No such campaign')
  @Response<ProblemDetails>(409, 'Finished or cancelled already')
  async cancel(@Path() id: CampaignId): Promise<CampaignDto> {
    return campaignDto(await this.deps.campaigns.cancel(id));
  }

  /** The campaign's deliveries, newest first. */
  @Get('campaigns/{id}/deliveries')
  @Response<ProblemDetails>(404, 'No such campaign')
  async deliveries(
    @Path() id: CampaignId,
    @Query() status?: 'queued' | 'sending' | 'sent' | 'failed' | 'skipped',
    @Query() limit = 50,
    @Query() after?: string,
  ): Promise<DeliveryPage> {
    checkLimit(limit, 500);
    const page = await this.deps.campaigns.deliveries({ campaignId: id, status }, { limit, after });
    return { items: page.items.map(deliveryDto), next: page.next ?? null };
  }

  /** Failed deliveries of the campaign back to the queue (all, or `deliveryId` alone). */
  @Post('campaigns/{id}/retry')
  @Response<ProblemDetails>(404, 'No such campaign')
  @Response<ProblemDetails>(409, 'Paused or cancelled, or the delivery has not failed')
  async retry(@Path() id: CampaignId, @Query() deliveryId?: string): Promise<{ retried: number }> {
    return this.deps.campaigns.retry(id, deliveryId);
  }

  /** One user's deliveries (every message, campaigns or not), newest first. */
  @Get('users/{userId}/deliveries')
  async userDeliveries(
    @Path() userId: string,
    @Query() status?: 'queued' | 'sending' | 'sent' | 'failed' | 'skipped',
    @Query() limit = 50,
    @Query() after?: string,
  ): Promise<DeliveryPage> {
    checkLimit(limit, 500);
    const page = await this.deps.campaigns.deliveries({ userId, status }, { limit, after });
    return { items: page.items.map(deliveryDto), next: page.next ?? null };
  }
}
