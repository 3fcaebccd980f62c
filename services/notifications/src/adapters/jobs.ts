/**
 * The durable job queue of campaigns: pg-boss in its own PostgreSQL schema. One queue,
 * `campaign-step`; a job is "run a step of campaign N" (at a time: the schedule, a recipient's
 * local time, or now). The queue's `short` policy keeps at most one waiting job per campaign
 * (singleton key = the campaign id), so chains started twice (a restart's kick, a resume) merge.
 * A job whose process died is retried once it expires; on start the runner also kicks every
 * scheduled or running campaign, so a restart resumes at once.
 */
import PgBoss from 'pg-boss';
import type { Logger } from '@cinema/logging';
import type { CampaignJobs } from '../domain/campaigns.model';

export const CAMPAIGN_QUEUE = 'campaign-step';

export interface CampaignJobsOptions {
  url: string;
  /** pg-boss's schema (a SQL identifier). */
  schema: string;
  logger: Logger;
  /** A step running longer than this is taken for dead and retried. */
  expireSeconds: number;
  /** How often pg-boss looks for expired jobs (and archives old ones). */
  maintenanceSeconds: number;
  pollSeconds: number;
  /** Campaigns stepped at once (one pg-boss worker each). */
  workers: number;
}

interface StepJob {
  campaignId: string;
}

interface TxLike {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export class PgBossCampaignJobs implements CampaignJobs {
  readonly boss: PgBoss;
  private started = false;

  constructor(private readonly o: CampaignJobsOptions) {
    this.boss = new PgBoss({
      connectionString: o.url,
      schema: o.schema,
      max: Math.max(2, o.workers + 1),
      application_name: 'notifications-jobs',
      maintenanceIntervalSeconds: o.maintenanceSeconds,
      schedule: false,
    });
    this.boss.on('error', (err) => o.logger.error({ err }, 'campaign job queue error'));
  }

  async start(): Promise<void> {
    await this.boss.start();
    await this.boss.createQueue(CAMPAIGN_QUEUE, {
      name: CAMPAIGN_QUEUE,
      policy: 'short',
      retryLimit: 1000,
      retryDelay: 2,
      expireInSeconds: this.o.expireSeconds,
      retentionDays: 7,
    });
    this.started = true;
  }

  async schedule(campaignId: string, at: Date, tx?: unknown): Promise<void> {
    const db = tx
      ? { executeSql: (text: string, values: unknown[]) => (tx as TxLike).query(text, values) }
      : undefined;
    await this.boss.send(CAMPAIGN_QUEUE, { campaignId } satisfies StepJob, {
      singletonKey: campaignId,
      startAfter: at,
      expireInSeconds: this.o.expireSeconds,
      ...(db ? { db } : {}),
    });
  }

  /** Runs `step` for due jobs; a step answering a date gets the next job at that date. */
  async work(step: (campaignId: string) => Promise<Date | null>): Promise<void> {
    for (let i = 0; i < this.o.workers; i++) {
      await this.boss.work<StepJob>(
        CAMPAIGN_QUEUE,
        { batchSize: 1, pollingIntervalSeconds: this.o.pollSeconds },
        async ([job]) => {
          if (!job) return;
          // Steps that are due at once run in this job (a new job per batch would wait for the
          // next poll), for at most a third of the expiry; then the chain goes on in a new job.
          const until = Date.now() + (this.o.expireSeconds * 1000) / 3;
          let next = await step(job.data.campaignId);
          while (next && next.getTime() <= Date.now() && Date.now() < until && this.started) {
            next = await step(job.data.campaignId);
          }
          if (next) await this.schedule(job.data.campaignId, next);
        },
      );
    }
  }

  /** Lets running steps finish (up to `timeoutMs`), then closes the pool. */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (!this.started) return;
    this.started = false;
    await this.boss.stop({ graceful: true, wait: true, timeout: timeoutMs });
  }
}

/**
 * Starts stepping campaigns: pg-boss workers run `runner.step`, and every scheduled or running
 * campaign is kicked once (a restart resumes at once instead of after the dead job expires).
 */
export async function startCampaignRunner(o: {
  jobs: PgBossCampaignJobs;
  runner: { step(campaignId: string): Promise<{ next: Date | null }> };
  campaigns: { active(): Promise<Array<{ id: string; next: Date | null }>> };
  clock: () => Date;
  logger: Logger;
}): Promise<void> {
  await o.jobs.work(async (campaignId) => (await o.runner.step(campaignId)).next);
  const now = o.clock();
  for (const c of await o.campaigns.active()) {
    await o.jobs.schedule(c.id, c.next && c.next.getTime() > now.getTime() ? c.next : now);
  }
}
