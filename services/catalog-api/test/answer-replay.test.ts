/**
 * The replay of cached answers (src/api/answer-replay.ts) checks the token but not roles: it is
 * only right while every replayable endpoint is `@Security('jwt')` without roles. This fails
 * when an endpoint gains roles (or a new one has none declared), so the replay is revisited.
 */
import { ROUTE_ENDPOINTS } from '../src/api/page-views';
import spec from '../src/generated/swagger.json';

type Operation = { security?: Array<Record<string, string[]>> };

it('replays only endpoints that need a valid token and no role', () => {
  const paths = spec.paths as Record<string, { get?: Operation }>;
  const routes = Object.keys(ROUTE_ENDPOINTS);
  expect(routes.length).toBeGreaterThan(0);
  for (const route of routes) {
    const operation = paths[route.replace(/:(\w+)/g, '{$1}')]?.get;
    expect({ route, security: operation?.security }).toEqual({ route, security: [{ jwt: [] }] });
  }
});
