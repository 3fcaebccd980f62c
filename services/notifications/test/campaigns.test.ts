/**
 * Campaign rules without I/O: CSV parsing (header, ids and addresses, malformed lines and formula
 * cells refused, size limit), ad-hoc placeholders, the draft checks against a fake template
 * renderer and fake ports (every bad field in one 422, nothing stored), state moves (409), and
 * the runner's step decisions with a fake repository and clock.
 */
import { ConflictError, ValidationError } from '@cinema/errors';
import {
  CampaignRunner,
  CampaignService,
  fillPlaceholders,
  parseRecipientsCsv,
} from '../src/domain/campaigns';
import type { Campaign, CampaignsRepository, CampaignState } from '../src/domain/campaigns.model';
import { CampaignPlanner } from '../src/domain/campaigns.planner';
import type { TemplateRenderer } from '../src/domain/model';

const limits = { csvMaxBytes: 200, maxListSize: 3 };
const ID = '6f1c2a52-4b1e-4d7e-9a55-0c1d2e3f4a5b';

describe('parseRecipientsCsv', () => {
  test('ids and addresses, a header naming the column, duplicates once', () => {
    expect(parseRecipientsCsv(`name;email\nAnn;ANN@x.test\nBob;ann@x.test\n`, limits)).toEqual({
      ids: [],
      emails: ['ann@x.test'],
    });
    expect(parseRecipientsCsv(`${ID}\r\n"${ID.toUpperCase()}"\n\n`, limits)).toEqual({
      ids: [ID],
      emails: [],
    });
  });

  test('malformed lines (formula cells among them) are refused with their numbers', () => {
    expect(() => parseRecipientsCsv(`${ID}\n=HYPERLINK("x")\n+1\n`, limits)).toThrow(
      /2 malformed line\(s\): line 2, line 3/,
    );
  });

  test('size and count limits', () => {
    expect(() => parseRecipientsCsv('a@x.test\n'.repeat(30), limits)).toThrow(/larger than 200/);
    expect(() => parseRecipientsCsv('a@x.test\nb@x.test\nc@x.test\nd@x.test', limits)).toThrow(
      /more than 3/,
    );
  });
});

describe('fillPlaceholders', () => {
  test('fills known names; unknown names and stray braces are refused', () => {
    expect(fillPlaceholders('Hi {{ name }}!', { name: '<b>' }, 'f')).toBe('Hi <b>!');
    expect(() => fillPlaceholders('Hi {{who}}', {}, 'f')).toThrow(ValidationError);
    expect(() => fillPlaceholders('Hi {{#each x}}', { x: '1' }, 'f')).toThrow(/unknown/);
    expect(() => fillPlaceholders('Hi {{name}', { name: 'x' }, 'f')).toThrow(/malformed/);
  });
});

/** A renderer whose `message` template reads `title` and `body` (strict, as the real one). */
const templates: Pick<TemplateRenderer, 'names' | 'has' | 'email' | 'sms' | 'inApp'> = {
  names: () => ['message', 'password_reset', 'campaign_promo'],
  has: () => true,
  email: async (_t, _l, vars) => {
    for (const k of ['title', 'body']) {
      if (!(k in vars)) throw new ValidationError(`template variable: "${k}" not defined`);
    }
    return { subject: String(vars.title), html: '', text: '' };
  },
  sms: () => '',
  inApp: (_t, _l, vars) => ({ title: String(vars.title), body: String(vars.body), link: null }),
};

function fakeRepo(state: CampaignState = 'running'): CampaignsRepository & { created: number } {
  const campaign = {
    id: '1',
    title: 't',
    category: 'new_films',
    channels: ['email'],
    template: 'message',
    vars: { title: 't', body: 'b' },
    state,
    startedAt: null,
  } as unknown as Campaign;
  let due: Date | null = null;
  const repo = {
    created: 0,
    create: async (c: unknown, _now: Date, inside: (tx: unknown, c: Campaign) => Promise<void>) => {
      repo.created++;
      (campaign as { sendAt: Date }).sendAt = (c as { sendAt: Date }).sendAt;
      await inside(undefined, campaign);
      return campaign;
    },
    get: async () => campaign,
    transition: async (_id: string, from: readonly CampaignState[], to: CampaignState) => {
      if (!from.includes(campaign.state)) return undefined;
      campaign.state = to;
      return campaign;
    },
    step: async (_id: string, _now: Date, batch: number) => ({
      campaign,
      planned: campaign.state === 'running' ? batch : 0,
      queued: ['email' as const],
    }),
    nextDue: async () => due,
    inFlight: async () => false,
    setDue: (d: Date | null) => (due = d),
  };
  return repo as unknown as CampaignsRepository & { created: number };
}

const now = new Date('2030-01-01T12:00:00Z');
const base = {
  title: 'T',
  category: 'new_films',
  channels: ['email'],
  template: 'message',
  vars: { title: 't', body: 'b' },
  audience: { kind: 'everyone' },
};

describe('CampaignService.check / create', () => {
  const service = (repo = fakeRepo(), scheduled: Date[] = []) =>
    new CampaignService({
      campaigns: repo,
      jobs: { schedule: async (_id, at) => void scheduled.push(at) },
      templates,
      clock: () => now,
      limits,
    });

  test('a good draft is stored with its first job at the send time', async () => {
    const scheduled: Date[] = [];
    const repo = fakeRepo();
    await service(repo, scheduled).create({ ...base, sendAt: '2030-01-02T09:00:00+03:00' }, ID);
    expect(repo.created).toBe(1);
    expect(scheduled).toEqual([new Date('2030-01-02T06:00:00Z')]);
  });

  test('every bad field in one 422; nothing stored', async () => {
    const repo = fakeRepo();
    const err = await service(repo)
      .create(
        {
          title: '',
          category: 'security',
          channels: ['fax'],
          template: 'password_reset',
          vars: { 'Bad-Name': 'x' },
          audience: { kind: 'ids', ids: ['nope'] },
          sendAt: '2029-12-31T00:00:00Z',
        },
        ID,
      )
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(Object.keys((err as ValidationError).fields).sort()).toEqual(
      [
        'body.audience.ids',
        'body.category',
        'body.channels',
        'body.sendAt',
        'body.template',
        'body.title',
        'body.vars.Bad-Name',
      ].sort(),
    );
    expect(repo.created).toBe(0);
  });

  test('unknown and missing template variables', async () => {
    const s = service();
    await expect(s.check({ ...base, vars: { title: 't', body: 'b', x: '1' } }, ID)).rejects.toThrow(
      ValidationError,
    );
    const missing = await s.check({ ...base, vars: { title: 't' } }, ID).catch((e) => e);
    expect((missing as ValidationError).fields['body.vars']!.message).toMatch(/body/);
  });

  test('ad-hoc: placeholders filled, unused variables refused', async () => {
    const s = service();
    const ok = await s.check(
      { ...base, template: undefined, subject: 'Hi {{n}}', body: 'B', vars: { n: '<i>' } },
      ID,
    );
    expect(ok).toMatchObject({ template: 'message', vars: { title: 'Hi <i>', body: 'B' } });
    await expect(
      s.check({ ...base, template: undefined, subject: 'Hi', body: 'B', vars: { n: 'x' } }, ID),
    ).rejects.toThrow(ValidationError);
  });

  test('local time: a wall-clock time; in the past everywhere is refused', async () => {
    const s = service();
    const ok = await s.check({ ...base, sendAt: '2030-01-02T09:00', localTime: true }, ID);
    expect(ok.localTime).toBe('2030-01-02T09:00');
    await expect(
      s.check({ ...base, sendAt: '2029-12-30T09:00', localTime: true }, ID),
    ).rejects.toThrow(ValidationError);
    await expect(
      s.check({ ...base, sendAt: '2030-01-02T09:00Z', localTime: true }, ID),
    ).rejects.toThrow(ValidationError);
  });

  test('moves that do not fit the state are 409', async () => {
    const s = service(fakeRepo('finished'));
    await expect(s.pause('1')).rejects.toThrow(ConflictError);
    await expect(s.resume('1')).rejects.toThrow(ConflictError);
    await expect(s.cancel('1')).rejects.toThrow(ConflictError);
  });
});

describe('CampaignRunner.step', () => {
  const planner = new CampaignPlanner({
    templates,
    smsCategories: [],
    smsEnabled: false,
    defaultQuietHours: null,
  });
  const runner = (repo: CampaignsRepository, woken: string[] = []) =>
    new CampaignRunner({
      campaigns: repo,
      planner,
      clock: () => now,
      batchSize: 10,
      checkMs: 2000,
      wake: (c) => woken.push(c),
    });

  test('a full batch: again now, the worker woken', async () => {
    const woken: string[] = [];
    expect(await runner(fakeRepo(), woken).step('1')).toEqual({
      planned: 10,
      next: now,
      state: 'running',
    });
    expect(woken).toEqual(['email']);
  });

  test('nothing due yet: at the next due instant; nothing left: finished', async () => {
    const repo = fakeRepo('scheduled') as unknown as CampaignsRepository & {
      setDue(d: Date | null): void;
    };
    const later = new Date('2030-01-01T15:00:00Z');
    repo.setDue(later);
    expect(await runner(repo).step('1')).toMatchObject({ planned: 0, next: later });
    repo.setDue(null);
    expect(await runner(repo).step('1')).toMatchObject({ next: null, state: 'finished' });
  });

  test('paused or cancelled: no next step', async () => {
    expect(await runner(fakeRepo('paused')).step('1')).toMatchObject({
      next: null,
      state: 'paused',
    });
  });
});
