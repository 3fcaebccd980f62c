/**
 * Typed clients of the platform's services: the types are generated from each service's OpenAPI
 * spec (src/openapi/<service>.ts, by scripts/generate.mjs with openapi-typescript; `npm run
 * clients`), the runtime is openapi-fetch with one middleware (./resilience) for request ids,
 * trace context, timeouts and retries.
 *
 *   const auth = createServiceClient('auth', { baseUrl: config.AUTH_URL });
 *   const { data, error, response } = await auth.GET('/api/v1/auth/users', {
 *     params: { query: { page: 1, pageSize: 100 } },
 *     headers: { authorization: `Bearer ${token}` },
 *   });
 *   // error: ProblemDetails (every error answer of every spec is application/problem+json)
 *   const page = await unwrap(auth.GET(...)); // or: the data, else a thrown ProblemError
 */
import createClient, { type Client, type ClientOptions as FetchClientOptions } from 'openapi-fetch';
import type { ServiceComponents, ServicePaths } from './openapi';
import { DEFAULT_POLICY, inCallContext, resilience, type CallPolicy } from './resilience';

export type { ServiceComponents, ServicePaths } from './openapi';
export { SERVICES } from './openapi';
export type {
  Auth,
  CatalogAdmin,
  CatalogApi,
  CatalogEtl,
  Notifications,
  UgcApi,
  UgcCollector,
  UgcEtl,
} from './openapi';
export {
  DEFAULT_POLICY,
  IDEMPOTENT,
  RETRYABLE_STATUS,
  UnreachableError,
  backoffMs,
  inCallContext,
  resilience,
  retryAfterMs,
  type CallPolicy,
} from './resilience';

export type ServiceName = keyof ServicePaths;
/** The schemas of a service's spec: `Schemas<'auth'>['TokenPair']`. */
export type Schemas<S extends ServiceName> = ServiceComponents[S]['schemas'];
/** The body of every error answer (RFC 9457), the same schema in every spec. */
export type ProblemDetails = ServiceComponents['auth']['schemas']['ProblemDetails'];

export type ServiceClient<S extends ServiceName> = Client<ServicePaths[S], `${string}/${string}`>;

export interface ServiceClientOptions extends Partial<CallPolicy> {
  /** The service's origin (and path prefix, if any), e.g. http://auth:8000. */
  baseUrl: string;
  /** Headers of every call (a user agent, ...). */
  headers?: Record<string, string>;
  /** Another fetch (tests). */
  fetch?: (request: Request) => Promise<Response>;
}

/** A client of `service` with the platform's call policy (see ./resilience). */
export function createServiceClient<S extends ServiceName>(
  _service: S,
  options: ServiceClientOptions,
): ServiceClient<S> {
  const { baseUrl, headers, fetch, ...policy } = options;
  const init: FetchClientOptions = {
    baseUrl: baseUrl.replace(/\/+$/, ''),
    headers,
    fetch: inCallContext(fetch ?? ((request) => globalThis.fetch(request))),
  };
  const client = createClient<ServicePaths[S], `${string}/${string}`>(init);
  client.use(resilience({ ...DEFAULT_POLICY, ...policy }));
  return client;
}

/** An error answer as a thrown error: its status and problem document. */
export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  constructor(
    readonly status: number,
    readonly problem: ProblemDetails,
    /** The answer's X-Request-Id, to find the call in the service's log. */
    readonly requestId: string | undefined,
  ) {
    super(`${problem.status} ${problem.title}${problem.detail ? `: ${problem.detail}` : ''}`);
  }
}

/**
 * The error of a call as ProblemDetails: the service's own document when it sent one (every
 * error of every spec is problem+json), else one made from the status (a proxy's HTML page, an
 * empty body).
 */
export function problemOf(error: unknown, response: Response): ProblemDetails {
  if (
    error &&
    typeof error === 'object' &&
    typeof (error as ProblemDetails).title === 'string' &&
    typeof (error as ProblemDetails).status === 'number'
  ) {
    return error as ProblemDetails;
  }
  return {
    type: 'about:blank',
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
  };
}

interface Result {
  data?: unknown;
  error?: unknown;
  response: Response;
}
type DataOf<R> = R extends { data: infer D } ? D : never;

/** The data of a successful call; an error answer is thrown as a `ProblemError`. */
export async function unwrap<R extends Result>(call: R | Promise<R>): Promise<DataOf<R>> {
  const { data, error, response } = await call;
  if (!response.ok) {
    throw new ProblemError(
      response.status,
      problemOf(error, response),
      response.headers.get('x-request-id') ?? undefined,
    );
  }
  return data as DataOf<R>;
}
