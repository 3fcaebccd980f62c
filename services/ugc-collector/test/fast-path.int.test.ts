/**
 * The event endpoints' fast path against the stack's Kafka: the same answer and headers as the
 * Express path (request id, security headers), its metrics, and requests it must leave to
 * Express (allowed CORS origins, invalid bodies) answered by Express as before.
 */
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { createLogger } from '@cinema/logging';
import { EventProducer } from '../src/adapters/events.producer';
import { buildApp } from '../src/app';
import { topicNames } from '../src/domain/events';
import { EventIntake } from '../src/domain/intake';
import { deleteTestTopics } from '../../../packages/testing/src/kafka';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const topics = topicNames(`test-fast-${randomUUID().slice(0, 8)}.`);
const logger = createLogger({ service: 'ugc-collector-test', level: 'silent' });
const pause = () => ({
  event_id: randomUUID(),
  film_id: randomUUID(),
  position_sec: 3,
  client_time: new Date().toISOString(),
});

describe('ugc-collector fast path', () => {
  let producer: EventProducer;
  let app: Express;

  beforeAll(async () => {
    producer = new EventProducer({
      brokers,
      clientId: 'collector-fast-test',
      logger,
      topics: Object.values(topics),
      partitions: 1,
      replicationFactor: 1,
      ackTimeoutMs: 5_000,
      maxPending: 1_000,
    });
    await producer.start();
    app = buildApp({
      config: {
        CORS_ORIGINS: ['https://player.example'],
        BODY_LIMIT: '100kb',
        BATCH_MAX_EVENTS: 10,
      },
      logger,
      intake: new EventIntake({ sink: producer, topics }),
      readiness: {},
    });
  });
  afterAll(async () => {
    await producer.close();
    await deleteTestTopics(Object.values(topics));
  });

  it('answers 202 with the request id and the security headers, and counts it', async () => {
    const res = await request(app)
      .post('/api/pause')
      .set('X-Anonymous-Id', 'fast-viewer-1')
      .set('X-Request-Id', 'req-fast-1')
      .send(pause())
      .expect(202, { accepted: 1 });
    expect(res.headers['x-request-id']).toBe('req-fast-1');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const generated = await request(app)
      .post('/api/events')
      .set('X-Anonymous-Id', 'fast-viewer-1')
      .send({
        events: [
          { type: 'pause', ...pause() },
          { type: 'full_view', ...pause(), position_sec: undefined, duration_sec: 9 },
        ],
      })
      .expect(202, { accepted: 2 });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const metrics = await request(app).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/ugc_collector_events_accepted_total 3\b/);
    expect(metrics.text).toMatch(
      /ugc_collector_intake_requests_total\{route="\/api\/pause",status="202"\} 1\b/,
    );
  });

  it('leaves allowed CORS origins, oversized batches and bad JSON to the usual answers', async () => {
    const cors = await request(app)
      .post('/api/pause')
      .set('Origin', 'https://player.example')
      .set('X-Anonymous-Id', 'fast-viewer-1')
      .send(pause())
      .expect(202);
    expect(cors.headers['access-control-allow-origin']).toBe('https://player.example');
    const tooMany = await request(app)
      .post('/api/events')
      .set('X-Anonymous-Id', 'fast-viewer-1')
      .send({ events: Array.from({ length: 11 }, () => ({ type: 'pause', ...pause() })) });
    expect(tooMany.status).toBe(422);
    expect(tooMany.type).toBe('application/problem+json');
    expect(Object.keys(tooMany.body.errors)).toEqual(['body.events']);
    const notJson = await request(app)
      .post('/api/pause')
      .set('Content-Type', 'application/json')
      .set('X-Anonymous-Id', 'fast-viewer-1')
      .send('{"event_id": ');
    expect(notJson.status).toBe(400);
    expect(notJson.type).toBe('application/problem+json');
    expect(notJson.body).toMatchObject({ status: 400, detail: 'the body is not valid JSON' });
  });
});
