/**
 * The replay of cached answers (src/api/answer-replay.ts). Its behaviour against the real
 * servers is in api.int.test.ts; here: which endpoints it may serve, and that a failure inside it
 * hands the request to Express instead of losing it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as client from 'prom-client';
import type { Principal } from '@cinema/auth';
import { createLogger } from '@cinema/logging';
import { AnswerReplay, type ReplayCache } from '../src/api/answer-replay';
import { endpointPath, ROUTE_ENDPOINTS } from '../src/api/page-views';
import spec from '../src/generated/swagger.json';

type Operation = { security?: Array<Record<string, string[]>> };

// The replay checks the token but not roles: it is only right while every replayable endpoint is
// `@Security('jwt')` without roles. This fails when one gains roles, so the replay is revisited.
it('replays only endpoints that need a valid token and no role', () => {
  const paths = spec.paths as Record<string, { get?: Operation }>;
  const routes = Object.keys(ROUTE_ENDPOINTS);
  expect(routes.length).toBeGreaterThan(0);
  for (const route of routes) {
    const operation = paths[endpointPath(route)]?.get;
    expect({ route, security: operation?.security }).toEqual({ route, security: [{ jwt: [] }] });
  }
});

it('hands the request to Express once when the generation cannot be re-read', async () => {
  const cache: ReplayCache = {
    isCurrent: () => undefined, // the generation read is due
    refreshGeneration: () => Promise.reject(new Error('redis gone')),
  };
  const emitted: unknown[] = [];
  const replay = new AnswerReplay({
    cache,
    verifier: async () => ({ id: 'u1', roles: [] }) as unknown as Principal,
    pageViews: { emit: (...args) => void emitted.push(args) },
    logger: createLogger({ service: 'test', level: 'silent' }),
    maxEntries: 10,
    registry: new client.Registry(),
  });
  replay.attach({ staticHeaders: [], requestDuration: undefined });
  const url = '/api/v1/films/0b7c6f5e-8a3e-4f57-9c43-4b4a1a3f2f10';
  replay.remember(url, {
    answer: {},
    bytes: Buffer.from('{}'),
    route: '/api/v1/films/:film_id',
    endpoint: ROUTE_ENDPOINTS['/api/v1/films/:film_id']!,
    params: {},
  });
  const req = {
    method: 'GET',
    url,
    headers: { authorization: 'Bearer aaa.bbb.ccc' },
  } as unknown as IncomingMessage;
  const res = { headersSent: false } as ServerResponse;
  let handed = 0;
  replay.handle(req, res, () => void handed++);
  await new Promise((r) => setTimeout(r, 20));
  expect(handed).toBe(1);
  expect(emitted).toHaveLength(0);
});
