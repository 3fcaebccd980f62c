import type { ServerDefinition } from '../core';
import { elasticsearch } from './elasticsearch';
import { etcd } from './etcd';
import { jaeger } from './jaeger';
import { kafka } from './kafka';
import { kubeApiserver } from './kube-apiserver';
import { mongodb } from './mongodb';
import { nginx } from './nginx';
import { postgres } from './postgres';
import { rabbitmq } from './rabbitmq';
import { redis } from './redis';
import { smtp } from './smtp';

/**
 * Every server of the local stack, in start order. Each file exports one ServerDefinition.
 * Servers are added as they are implemented.
 */
export const servers: ServerDefinition[] = [
  postgres,
  redis,
  rabbitmq,
  kafka,
  elasticsearch,
  mongodb,
  smtp,
  nginx,
  // Optional (Go builds): started only when named, e.g. startStack({ only: ['kube-apiserver'] });
  // `npm start` names jaeger.
  jaeger,
  etcd,
  kubeApiserver,
];
