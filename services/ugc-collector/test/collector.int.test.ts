/**
 * The collector against the stack's Kafka: events accepted only once Kafka has them, the
 * contract's record shape, key = user id, token and anonymous viewers, validation answers,
 * topics created with the configured partitions, and 503 + Retry-After when Kafka is away.
 */
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import { Kafka, logLevel } from 'kafkajs';
import request from 'supertest';
import { createTokenVerifier } from '@cinema/auth';
import { createLogger } from '@cinema/logging';
import { EventProducer } from '../src/adapters/events.producer';
import { buildApp } from '../src/app';
import { topicNames } from '../src/domain/events';
import { EventIntake } from '../src/domain/intake';
import { deleteTopicsWithPrefix, startTestIssuer, type TestIssuer } from '@cinema/testing';
import { readRecords } from './kafka-reader';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const prefix = `test-${randomUUID().slice(0, 8)}.`;
const topics = topicNames(prefix);
const logger = createLogger({ service: 'ugc-collector-test', level: 'silent' });
const config = { CORS_ORIGINS: [], BODY_LIMIT: '1mb', BATCH_MAX_EVENTS: 500 };

function appWith(producer: EventProducer, issuer?: TestIssuer): Express {
  const verify = issuer
    ? createTokenVerifier({
        jwksUrl: issuer.jwksUrl,
        issuer: issuer.issuer,
        audience: issuer.audience,
      })
    : undefined;
  return buildApp({
    config,
    logger,
    intake: new EventIntake({ sink: producer, topics, verify }),
    readiness: { kafka: () => producer.check() },
  });
}

const film = randomUUID();
const anon = `anon-${randomUUID().slice(0, 8)}`;
const pause = () => ({
  event_id: randomUUID(),
  film_id: film,
  position_sec: 12.5,
  client_time: '2025-01-02T03:04:05.678Z',
});

describe('ugc-collector with Kafka', () => {
  let producer: EventProducer;
  let issuer: TestIssuer;
  let app: Express;

  beforeAll(async () => {
    issuer = await startTestIssuer();
    producer = new EventProducer({
      brokers,
      clientId: 'collector-test',
      logger,
      topics: Object.values(topics),
      partitions: 2,
      replicationFactor: 1,
      ackTimeoutMs: 5_000,
      maxPending: 10_000,
    });
    await producer.start();
    app = appWith(producer, issuer);
  });
  afterAll(async () => {
    await producer.close();
    await issuer.close();
    await deleteTopicsWithPrefix(prefix);
  });

  it('creates the three topics with the configured partitions', async () => {
    const admin = new Kafka({ brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const meta = await admin.fetchTopicMetadata({ topics: Object.values(topics) });
      expect(meta.topics.map((t) => [t.name, t.partitions.length]).sort()).toEqual(
        Object.values(topics)
          .map((t) => [t, 2])
          .sort(),
      );
    } finally {
      await admin.disconnect();
    }
    await request(app).get('/readyz').expect(200);
  });

  it('accepts each event kind with 202 only once Kafka has it, keyed by the viewer', async () => {
    const p = pause();
    const received = Date.now();
    await request(app)
      .post('/api/pause')
      .set('X-Anonymous-Id', anon)
      .send(p)
      .expect(202, { accepted: 1 });
    const fv = { ...pause(), duration_sec: 5400 } as Record<string, unknown>;
    delete fv.position_sec;
    const token = await issuer.token('11111111-2222-4333-8444-555555555555');
    await request(app)
      .post('/api/full-view')
      .set('Authorization', `Bearer ${token}`)
      .send(fv)
      .expect(202);
    const qc = { ...pause(), from_quality: '360p', to_quality: '720p' };
    await request(app).post('/api/quality-change').set('X-Anonymous-Id', anon).send(qc).expect(202);

    const records = await readRecords(brokers, Object.values(topics), 3);
    expect(records).toHaveLength(3);
    const byTopic = Object.fromEntries(records.map((r) => [r.topic, r]));
    const pr = byTopic[topics.pause]!;
    expect(pr.key).toBe(`anon:${anon}`);
    expect(pr.value).toEqual({
      event_id: p.event_id,
      user_id: `anon:${anon}`,
      film_id: film,
      position_sec: 12.5,
      client_time: p.client_time,
      received_time: expect.any(String),
    });
    const rt = Date.parse(pr.value.received_time as string);
    expect(rt).toBeGreaterThanOrEqual(received - 1000);
    expect(rt).toBeLessThanOrEqual(Date.now());
    expect(byTopic[topics.full_view]!.key).toBe('11111111-2222-4333-8444-555555555555');
    expect(byTopic[topics.full_view]!.value).toMatchObject({ duration_sec: 5400 });
    expect(byTopic[topics.quality_change]!.value).toMatchObject({
      from_quality: '360p',
      to_quality: '720p',
      position_sec: 12.5,
    });
  });

  it('takes a mixed batch, also as a text/plain beacon with the viewer in the body', async () => {
    const events = [
      { type: 'pause', ...pause() },
      { type: 'quality_change', ...pause(), from_quality: '720p', to_quality: '360p' },
    ];
    await request(app)
      .post('/api/events')
      .set('X-Anonymous-Id', anon)
      .send({ events })
      .expect(202, { accepted: 2 });
    const beaconEvent = { type: 'pause', ...pause() };
    await request(app)
      .post('/api/events')
      .set('Content-Type', 'text/plain;charset=UTF-8')
      .send(JSON.stringify({ events: [beaconEvent], anonymous_id: 'beacon-viewer-1' }))
      .expect(202, { accepted: 1 });
    const all = await readRecords(brokers, Object.values(topics), 6);
    const ids = new Map(all.map((r) => [r.value.event_id, r]));
    expect(ids.get(events[0]!.event_id)!.topic).toBe(topics.pause);
    expect(ids.get(events[1]!.event_id)!.topic).toBe(topics.quality_change);
    expect(ids.get(events[1]!.event_id)!.value).not.toHaveProperty('type');
    expect(ids.get(beaconEvent.event_id)!.key).toBe('anon:beacon-viewer-1');
  });

  it('answers 422 problem+json naming the bad field, 401 without a viewer', async () => {
    const noFilm = pause() as Partial<ReturnType<typeof pause>>;
    delete noFilm.film_id;
    const res = await request(app).post('/api/pause').set('X-Anonymous-Id', anon).send(noFilm);
    expect(res.status).toBe(422);
    expect(res.type).toBe('application/problem+json');
    expect(Object.keys(res.body.errors)).toEqual(['body.film_id']);

    const extra = await request(app)
      .post('/api/pause')
      .set('X-Anonymous-Id', anon)
      .send({ ...pause(), admin: true });
    expect(extra.status).toBe(422);

    const badId = await request(app)
      .post('/api/pause')
      .set('X-Anonymous-Id', anon)
      .send({ ...pause(), event_id: 'not-a-uuid' });
    expect(badId.status).toBe(422);
    expect(Object.keys(badId.body.errors)[0]).toMatch(/event_id/);

    const negative = await request(app)
      .post('/api/quality-change')
      .set('X-Anonymous-Id', anon)
      .send({ ...pause(), position_sec: -1, from_quality: '360p', to_quality: 'HD' });
    expect(negative.status).toBe(422);
    expect(Object.keys(negative.body.errors).sort()).toEqual(
      ['body.position_sec', 'body.to_quality'].sort(),
    );

    const badBatch = await request(app)
      .post('/api/events')
      .set('X-Anonymous-Id', anon)
      .send({
        events: [
          { type: 'pause', ...pause() },
          { type: 'rewind', ...pause() },
        ],
      });
    expect(badBatch.status).toBe(422);
    expect(Object.keys(badBatch.body.errors).join()).toMatch(/events\.\$1/);

    const empty = await request(app)
      .post('/api/events')
      .set('X-Anonymous-Id', anon)
      .send({ events: [] });
    expect(empty.status).toBe(422);

    const notJson = await request(app)
      .post('/api/events')
      .set('Content-Type', 'text/plain')
      .send('{oops');
    expect(notJson.status).toBe(400);
    expect(notJson.type).toBe('application/problem+json');

    const nobody = await request(app).post('/api/pause').send(pause());
    expect(nobody.status).toBe(401);
    expect(nobody.type).toBe('application/problem+json');

    const badToken = await request(app)
      .post('/api/pause')
      .set('Authorization', 'Bearer aaa.bbb.ccc')
      .send(pause());
    expect(badToken.status).toBe(401);

    const badAnon = await request(app).post('/api/pause').set('X-Anonymous-Id', 'x').send(pause());
    expect(badAnon.status).toBe(422);
  });

  it('serves the player page and both renditions with range requests', async () => {
    const page = await request(app).get('/player/').expect(200);
    expect(page.text).toContain('<video id="video"');
    for (const q of ['360p', '720p']) {
      const part = await request(app)
        .get(`/player/media/clip-${q}.webm`)
        .set('Range', 'bytes=0-99')
        .expect(206);
      expect(part.headers['content-range']).toMatch(/^bytes 0-99\//);
    }
    const spec = await request(app).get('/openapi.json').expect(200);
    expect(Object.keys(spec.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/pause',
        '/api/full-view',
        '/api/quality-change',
        '/api/events',
      ]),
    );
  });
});

describe('ugc-collector without Kafka', () => {
  it('answers 503 with Retry-After instead of pretending, and is not ready', async () => {
    const producer = new EventProducer({
      brokers: ['127.0.0.1:1'],
      clientId: 'collector-test-down',
      logger,
      topics: Object.values(topics),
      partitions: 1,
      replicationFactor: 1,
      ackTimeoutMs: 1_000,
      maxPending: 10,
    });
    void producer.start();
    const app = appWith(producer);
    try {
      const res = await request(app).post('/api/pause').set('X-Anonymous-Id', anon).send(pause());
      expect(res.status).toBe(503);
      expect(res.type).toBe('application/problem+json');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      await request(app).get('/readyz').expect(503);
    } finally {
      await producer.close();
    }
  });
});
