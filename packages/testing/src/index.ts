/**
 * Shared test helpers: ports and waits, process runners, a JWKS issuer, Kafka clean-up, headless
 * Chromium, the auth service's test environment and admin account.
 */
export * from './auth';
export * from './chromium';
export * from './contract';
export * from './jwks';
export * from './kafka';
export * from './net';
export * from './process';
