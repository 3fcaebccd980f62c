/** config -> wiring -> listen -> shutdown hooks */
import { runService } from '@cinema/http';
import { buildApp } from './app';
import { readConfig } from './config';
import { wire } from './wiring';

runService({ name: 'operator', readConfig, wire, buildApp });
