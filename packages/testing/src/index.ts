/**
 * Shared test helpers: ports and waits, process runners, a JWKS issuer, Kafka clean-up, headless
 * Chromium.
 */
export * from './chromium';
export * from './contract';
export * from './jwks';
export * from './kafka';
export * from './net';
export * from './process';
