/** config -> wiring -> listen -> background work (consumers, delivery worker) -> shutdown hooks */
import { runService } from '@cinema/http';
import { buildApp } from './app';
import { readConfig } from './config';
import { wire } from './wiring';

runService({ name: 'notifications', readConfig, wire, buildApp, started: (deps) => deps.start() });
