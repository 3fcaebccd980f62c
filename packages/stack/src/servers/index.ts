import type { ServerDefinition } from '../core';
import { redis } from './redis';

/**
 * Every server of the local stack, in start order. Each file exports one ServerDefinition.
 * Servers are added as they are implemented.
 */
export const servers: ServerDefinition[] = [redis];
