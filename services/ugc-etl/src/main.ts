/** config -> wiring -> listen -> shutdown hooks; the Kafka consumer starts once the server listens. */
import { runService } from '@cinema/http';
import { buildApp } from './app';
import { readConfig } from './config';
import { wire } from './wiring';

runService({
  name: 'ugc-etl',
  readConfig,
  wire,
  buildApp,
  started: (deps) => deps.loader.start(),
});
