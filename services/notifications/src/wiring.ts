/**
 * Builds every adapter and use case once and returns the one dependencies object the app serves
 * (controllers get it by constructor through tsoa's IoC module in @cinema/http; the shared
 * `expressAuthentication` of @cinema/auth uses its `verifier`). Each adapter registers its own
 * shutdown hook on the lifecycle (they run last-registered first).
 *
 * Sections, each additive: PostgreSQL -> RabbitMQ -> channels -> use cases -> background work
 * (consumers and the delivery worker, started by `start()` after the server listens).
 */
import { randomBytes } from 'node:crypto';
import {
  createTokenVerifier,
  startRevocationFeed,
  type AuthDependencies,
  createAuthClient,
  type AuthClient,
} from '@cinema/auth';
import { jwksUrlOf } from '@cinema/config';
import type { Lifecycle, ReadinessCheck, ServiceRuntime } from '@cinema/http';
import type { Logger } from '@cinema/logging';
import { ping, type Pool } from '@cinema/pg';
import { AmqpConnection, type QueueConsumer } from './adapters/amqp';
import { createEventsConsumer } from './adapters/events.consumer';
import { PgGenreSubscriptionsRepository } from './adapters/genre-subscriptions.repository';
import { startPeriodic } from './adapters/periodic';
import { PgReviewLikesRepository } from './adapters/review-likes.repository';

import { authBaseUrlOf, backfillAtStart } from './adapters/auth.backfill';
import type { BackfillResult } from './domain/recipients-backfill';
import { PgCampaignsRepository } from './adapters/campaigns.repository';
import { createSchemaPool, runMigrations } from './adapters/db';
import { PgDeliveriesRepository } from './adapters/deliveries.repository';
import { PgInboxFeed } from './adapters/inbox.feed';
import { PgInboxRepository } from './adapters/inbox.repository';
import { NotificationMetrics } from './adapters/metrics';
import { PgPreferencesRepository } from './adapters/preferences.repository';
import { PgRecipientsRepository } from './adapters/recipients.repository';
import { PgBossCampaignJobs, startCampaignRunner } from './adapters/jobs';
import { createHttpSmsGateway } from './adapters/sms.gateway';
import { PgRateLimiter } from './adapters/rate-buckets';
import { createSmtpMailer } from './adapters/smtp.mailer';
import { SseStreams } from './adapters/sse.streams';
import { FileTemplates } from './adapters/templates';
import { createUnsubscribeTokens } from './adapters/unsubscribe.tokens';
import type { Config } from './config';
import { AUTH_ROUTING_KEYS, AuthEventsHandler } from './domain/auth-events';
import { CATALOG_ROUTING_KEYS, CatalogEventsHandler } from './domain/catalog-events';
import { GenresService } from './domain/genres';
import { ReviewLikesDigest, UGC_ROUTING_KEYS } from './domain/review-likes';
import { CampaignRunner, CampaignService } from './domain/campaigns';
import { CampaignPlanner } from './domain/campaigns.planner';
import { InboxService } from './domain/inbox';
import { systemClock, type Category, type Clock, type TemplateRenderer } from './domain/model';
import { Notifier } from './domain/notifier';
import { parseQuietHours } from './domain/preferences';
import { SettingsService } from './domain/settings';
import { DeliveryWorker } from './domain/worker';

export interface Dependencies extends AuthDependencies {
  config: Pick<Config, 'CORS_ORIGINS' | 'BODY_LIMIT' | 'ADMIN_COOKIE_SECURE'>;
  logger: Logger;
  lifecycle?: Lifecycle;
  readiness: Record<string, ReadinessCheck>;
  pool: Pool;
  amqp: AmqpConnection;
  /** The caller's in-app inbox (API and SSE). */
  inbox: InboxService;
  /** Open SSE streams (ended on shutdown). */
  streams: SseStreams;
  /** Preferences, locale, time zone, quiet hours; one-click unsubscribe. */
  settings: SettingsService;
  /** One notification to one user on the allowed channels (events, campaigns). */
  notifier: Notifier;
  templates: TemplateRenderer;
  deliveries: PgDeliveriesRepository;
  recipients: PgRecipientsRepository;
  worker: DeliveryWorker;
  consumers: { authEvents: QueueConsumer; catalogEvents: QueueConsumer; ugcEvents: QueueConsumer };
  /** The genres a user follows (new-film announcements, campaigns' `genres` audience). */
  genres: GenresService;
  /** review.liked digests: one in-app notice per review per hour (`flush()` plans the due ones). */
  reviewLikes: ReviewLikesDigest;
  /** Mass and scheduled sends (API and admin panel); the runner steps them through pg-boss. */
  campaigns: CampaignService;
  campaignRunner: CampaignRunner;
  campaignJobs: PgBossCampaignJobs;
  /** The admin panel's sign-in (auth's login and refresh API). */
  authClient: AuthClient;
  /**
   * The recipients back-fill `start()` runs when the projection is empty (AUTH_BACKFILL_*):
   * `done()` settles when it ended (undefined: it did not run, or failed and was logged).
   */
  recipientsBackfill: { done(): Promise<BackfillResult | undefined> };
  /**
   * Starts the background work (consumers, delivery worker) after the server listens; their
   * shutdown hooks, registered then, run before the server's graceful close.
   */
  start(): Promise<void>;
  /** Prometheus metrics of the consumers, the worker and the streams (registered by createApp). */
  metrics: NotificationMetrics;
}

export interface WireOptions {
  /** The clock of the use cases (tests pass a fake one). */
  clock?: Clock;
}

export async function wire(
  runtime: ServiceRuntime<Readonly<Config>>,
  options: WireOptions = {},
): Promise<Dependencies> {
  const { config, logger, lifecycle } = runtime;
  const clock = options.clock ?? systemClock;

  // PostgreSQL (migrated at start unless NOTIFICATIONS_MIGRATE_ON_START=false).
  const pool = await connectPostgres(config, logger);
  lifecycle.onShutdown('postgres', () => pool.end());

  // RabbitMQ: one connection; consumers register their setups on it.
  const amqp = new AmqpConnection(config.AMQP_URL, logger);
  await amqp.start();
  lifecycle.onShutdown('amqp', () => amqp.close());

  // Stores.
  const recipients = new PgRecipientsRepository(pool);
  const preferences = new PgPreferencesRepository(pool);
  const deliveries = new PgDeliveriesRepository(pool);
  const inboxItems = new PgInboxRepository(pool);

  // In-app inbox, live to open streams through LISTEN/NOTIFY.
  const feed = new PgInboxFeed({
    url: config.DATABASE_URL,
    schema: config.NOTIFICATIONS_DB_SCHEMA,
    items: inboxItems,
    logger,
  });
  await feed.start();
  lifecycle.onShutdown('inbox-feed', () => feed.close());
  const streams = new SseStreams();
  const inbox = new InboxService(inboxItems, feed);

  // Channels: templates, SMTP, SMS gateway, unsubscribe links.
  const templates = new FileTemplates();
  const mailer = config.SMTP_URL
    ? createSmtpMailer({
        smtpUrl: config.SMTP_URL,
        from: config.MAIL_FROM,
        maxConnections: config.EMAIL_CONCURRENCY,
      })
    : undefined;
  if (mailer) lifecycle.onShutdown('smtp', () => mailer.close());
  else logger.warn('SMTP_URL is not set: e-mail deliveries fail');
  const sms = config.SMS_GATEWAY_URL ? createHttpSmsGateway(config.SMS_GATEWAY_URL) : undefined;
  if (!config.UNSUBSCRIBE_SECRET) {
    logger.warn('UNSUBSCRIBE_SECRET is not set: unsubscribe links stop working at restart');
  }
  const unsubscribe = createUnsubscribeTokens(
    config.UNSUBSCRIBE_SECRET ?? randomBytes(32).toString('hex'),
  );

  // Use cases.
  const worker = new DeliveryWorker({
    deliveries,
    templates,
    mailer,
    sms,
    unsubscribe,
    publicUrl: config.NOTIFICATIONS_PUBLIC_URL,
    clock,
    limiter: new PgRateLimiter(pool, {
      email: config.EMAIL_RATE_PER_SECOND,
      sms: config.SMS_RATE_PER_SECOND,
    }),
    concurrency: { email: config.EMAIL_CONCURRENCY, sms: config.SMS_CONCURRENCY },
    leaseMs: config.DELIVERY_LEASE_SECONDS * 1000,
    maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
    pollMs: config.DELIVERY_POLL_MS,
    log: logger,
  });
  const notifier = new Notifier({
    recipients,
    preferences,
    deliveries,
    templates,
    clock,
    smsCategories: config.SMS_CATEGORIES as Category[],
    smsEnabled: Boolean(sms),
    defaultQuietHours: parseQuietHours(config.DEFAULT_QUIET_HOURS),
    wake: worker.wake,
  });
  const settings = new SettingsService(recipients, preferences, unsubscribe);

  // Campaigns: stored in PostgreSQL, stepped by pg-boss (its own schema) through the notifier.
  const campaignsRepository = new PgCampaignsRepository(pool);
  const campaignJobs = new PgBossCampaignJobs({
    url: config.DATABASE_URL,
    schema: config.CAMPAIGN_JOBS_SCHEMA ?? `${config.NOTIFICATIONS_DB_SCHEMA}_jobs`,
    logger,
    expireSeconds: config.CAMPAIGN_JOB_EXPIRE_SECONDS,
    maintenanceSeconds: config.CAMPAIGN_MAINTENANCE_SECONDS,
    pollSeconds: config.CAMPAIGN_POLL_SECONDS,
    workers: config.CAMPAIGN_WORKERS,
  });
  await campaignJobs.start();
  lifecycle.onShutdown('campaign-jobs', () => campaignJobs.stop());
  const campaigns = new CampaignService({
    campaigns: campaignsRepository,
    jobs: campaignJobs,
    templates,
    clock,
    limits: { csvMaxBytes: config.CAMPAIGN_CSV_MAX_BYTES, maxListSize: config.CAMPAIGN_MAX_LIST },
    wake: worker.wake,
  });
  const campaignRunner = new CampaignRunner({
    campaigns: campaignsRepository,
    planner: new CampaignPlanner({
      templates,
      smsCategories: config.SMS_CATEGORIES as Category[],
      smsEnabled: Boolean(sms),
      defaultQuietHours: parseQuietHours(config.DEFAULT_QUIET_HOURS),
    }),
    clock,
    batchSize: config.CAMPAIGN_BATCH_SIZE,
    checkMs: 2000,
    wake: worker.wake,
  });
  const authClient = createAuthClient(authBaseUrlOf(config));
  let startupBackfill: ReturnType<typeof backfillAtStart> | undefined;

  // Consumers: auth.events (the recipients' projection and account mail), catalog.events
  // (film.published -> followers of its genres) and ugc.events (review.liked -> the author's
  // hourly digest).
  const eventQueues = {
    connection: amqp,
    queuePrefix: config.NOTIFICATIONS_QUEUE_PREFIX,
    retryDelaysMs: config.RETRY_DELAYS_MS,
    prefetch: config.CONSUMER_PREFETCH,
    logger,
  };
  const authEventsHandler = new AuthEventsHandler(recipients, notifier);
  const authEvents = createEventsConsumer(eventQueues, {
    name: 'auth-events',
    exchange: config.AUTH_EVENTS_EXCHANGE,
    routingKeys: AUTH_ROUTING_KEYS,
    handle: (event) => authEventsHandler.handle(event),
  });
  const genreSubscriptions = new PgGenreSubscriptionsRepository(pool);
  const genres = new GenresService(genreSubscriptions);
  const site = config.CINEMA_SITE_URL.replace(/\/+$/, '');
  const catalogEventsHandler = new CatalogEventsHandler({
    followers: genreSubscriptions,
    notifier,
    filmUrl: (id) => `${site}/player/?film=${encodeURIComponent(id)}`,
  });
  const catalogEvents = createEventsConsumer(eventQueues, {
    name: 'catalog-events',
    exchange: config.CATALOG_EVENTS_EXCHANGE,
    routingKeys: CATALOG_ROUTING_KEYS,
    handle: (event) => catalogEventsHandler.handle(event),
  });
  const reviewLikes = new ReviewLikesDigest({
    store: new PgReviewLikesRepository(pool),
    notifier,
    clock,
    windowMs: config.REVIEW_LIKES_DIGEST_MS,
    reviewUrl: (r) => `${site}/api/v1/ugc/reviews/${encodeURIComponent(r.reviewId)}`,
  });
  const ugcEvents = createEventsConsumer(eventQueues, {
    name: 'ugc-events',
    exchange: config.UGC_EVENTS_EXCHANGE,
    routingKeys: UGC_ROUTING_KEYS,
    handle: (event) => reviewLikes.handle(event),
  });

  // Ended sessions (logout, ...) are refused within about a second.
  const revocations = startRevocationFeed(config, { logger, lifecycle });
  const verifier = createTokenVerifier({
    jwksUrl: jwksUrlOf(config),
    issuer: config.JWT_ISSUER,
    audience: config.JWT_AUDIENCE,
    revocations,
  });

  return {
    config,
    logger,
    lifecycle,
    verifier,
    pool,
    amqp,
    inbox,
    streams,
    settings,
    notifier,
    templates,
    deliveries,
    recipients,
    worker,
    consumers: { authEvents, catalogEvents, ugcEvents },
    genres,
    reviewLikes,
    campaigns,
    campaignRunner,
    campaignJobs,
    authClient,
    recipientsBackfill: { done: async () => startupBackfill?.done },
    metrics: new NotificationMetrics({
      pool,
      worker,
      consumers: { authEvents, catalogEvents, ugcEvents },
      streams,
    }),
    start: async () => {
      // Stopped in reverse: consumers, worker, then the open streams end.
      lifecycle.onShutdown('sse-streams', () => streams.close());
      worker.start();
      lifecycle.onShutdown('delivery-worker', () => worker.stop());
      await authEvents.start();
      lifecycle.onShutdown('auth-events-consumer', () => authEvents.stop());
      // After the consumer: events arriving meanwhile and the back-fill order by event time.
      startupBackfill = backfillAtStart({ config, client: authClient, recipients, pool, logger });
      lifecycle.onShutdown('recipients-backfill', () => startupBackfill!.stop());
      await catalogEvents.start();
      lifecycle.onShutdown('catalog-events-consumer', () => catalogEvents.stop());
      await ugcEvents.start();
      lifecycle.onShutdown('ugc-events-consumer', () => ugcEvents.stop());
      const likesFlusher = startPeriodic(
        'review-likes digest',
        config.REVIEW_LIKES_FLUSH_MS,
        () => reviewLikes.flush(),
        logger,
      );
      lifecycle.onShutdown('review-likes-flusher', () => likesFlusher.stop());
      await startCampaignRunner({
        jobs: campaignJobs,
        runner: campaignRunner,
        campaigns: campaignsRepository,
        clock,
        logger,
      });
    },
    readiness: {
      postgres: () => ping(pool),
      rabbitmq: amqp.check,
      revocations: revocations.check,
      'inbox-feed': async () => {
        if (!feed.listening) throw new Error('not listening');
      },
    },
  };
}

export async function connectPostgres(
  config: Pick<
    Config,
    'DATABASE_URL' | 'NOTIFICATIONS_DB_SCHEMA' | 'NOTIFICATIONS_MIGRATE_ON_START'
  >,
  logger: Logger,
): Promise<Pool> {
  const pool = createSchemaPool(config.DATABASE_URL, config.NOTIFICATIONS_DB_SCHEMA);
  try {
    if (config.NOTIFICATIONS_MIGRATE_ON_START) {
      const result = await runMigrations(pool, config.NOTIFICATIONS_DB_SCHEMA, (m) =>
        logger.info(m),
      );
      if (result.applied.length) logger.info({ applied: result.applied }, 'migrations applied');
    }
    return pool;
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}
