/**
 * The event endpoints go through the app's whole pipeline (against the stack's Kafka): request
 * id, security headers, the shared HTTP metric, CORS for allowed origins, and the usual problem
 * answers for oversized batches and bad JSON. (These assertions were the parity checks of the
 * fast intake, removed in issue 12; its own `ugc_collector_*` metrics went with it.)
 */
import { randomUUID } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';
import { createLogger } from '@cinema/logging';
import { EventProducer } from '../src/adapters/events.producer';
import { buildApp } from '../src/app';
import { topicNames } from '../src/domain/events';
import { EventIntake } from '../src/domain/intake';
import { deleteTestTopics } from '@cinema/testing';

const brokers = (process.env.KAFKA_BROKERS ?? '').split(',');
const topics = topicNames(`test-http-${randomUUID().slice(0, 8)}.`);
const logger = createLogger({ service: 'ugc-collector-test', level: 'silent' });
const pause = () => ({
  event_id: randomUUID(),
  film_id: randomUUID(),
  position_sec: 3,
  client_time: new Date().toISOString(),
});

describe('ugc-collector event endpoints through Express', () => {
  let producer: EventProducer;
  let app: Express;

  beforeAll(async () => {
    producer = new EventProducer({
      brokers,
      clientId: 'collector-http-test',
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
      .set('X-Anonymous-Id', 'http-viewer-1')
      .set('X-Request-Id', 'req-http-1')
      .send(pause())
      .expect(202, { accepted: 1 });
    expect(res.headers['x-request-id']).toBe('req-http-1');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const generated = await request(app)
      .post('/api/events')
      .set('X-Anonymous-Id', 'http-viewer-1')
      .send({
        events: [
          { type: 'pause', ...pause() },
          { type: 'full_view', ...pause(), position_sec: undefined, duration_sec: 9 },
        ],
      })
      .expect(202, { accepted: 2 });
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const metrics = await request(app).get('/metrics').expect(200);
    // Every event request is in the shared HTTP metric (fast-path 202s used to miss it).
    expect(metrics.text).toMatch(
      /http_server_request_duration_seconds_count\{method="POST",route="\/api\/pause",status="202"\} 1\b/,
    );
    expect(metrics.text).toMatch(
      /http_server_request_duration_seconds_count\{method="POST",route="\/api\/events",status="202"\} 1\b/,
    );
  });

  it('answers allowed CORS origins, oversized batches and bad JSON as usual', async () => {
    const cors = await request(app)
      .post('/api/pause')
      .set('Origin', 'https://player.example')
      .set('X-Anonymous-Id', 'http-viewer-1')
      .send(pause())
      .expect(202);
    expect(cors.headers['access-control-allow-origin']).toBe('https://player.example');
    const tooMany = await request(app)
      .post('/api/events')
      .set('X-Anonymous-Id', 'http-viewer-1')
      .send({ events: Array.from({ length: 11 }, () => ({ type: 'pause', ...pause() })) });
    expect(tooMany.status).toBe(422);
    expect(tooMany.type).toBe('application/problem+json');
    expect(Object.keys(tooMany.body.errors)).toEqual(['body.events']);
    const notJson = await request(app)
      .post('/api/pause')
      .set('Content-Type', 'application/json')
      .set('X-Anonymous-Id', 'http-viewer-1')
      .send('{"event_id": ');
    expect(notJson.status).toBe(400);
    expect(notJson.type).toBe('application/problem+json');
    expect(notJson.body).toMatchObject({ status: 400, detail: 'the body is not valid JSON' });
  });
});
