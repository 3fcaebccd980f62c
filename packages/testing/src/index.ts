/**
 * Shared test helpers: ports and waits, process runners, a JWKS issuer, Kafka clean-up, headless
 * Chromium, a real auth's environment and admin account, services' log lines in Elasticsearch.
 */
export * from './auth';
export * from './chromium';
export * from './contract';
export * from './jwks';
export * from './kafka';
export * from './logs';
export * from './net';
export * from './process';
