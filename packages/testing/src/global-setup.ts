/**
 * Jest globalSetup of the integration project: starts the local stack once (or reuses a running
 * one, or servers given by URL) and exports its environment to the test workers.
 * Set STACK_SERVERS=postgres,redis to start only some servers while working on one part.
 */
// Jest loads globalSetup without its moduleNameMapper: the stack's source is imported by path
// so that no build is needed first.
// eslint-disable-next-line cinema/no-relative-monorepo-imports
import { recordedServers, startStack, type Stack } from '../../stack/src';

declare global {
  var __CINEMA_STACK__: Stack | undefined;
  /** The servers that ran before this test run (a developer's `stack up`): never stopped by it. */
  var __CINEMA_RECORDED_BEFORE__: Set<string> | undefined;
}

export default async function globalSetup(): Promise<void> {
  const only = process.env.STACK_SERVERS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  globalThis.__CINEMA_RECORDED_BEFORE__ = new Set(recordedServers().map((s) => s.name));
  const stack = await startStack({ only });
  Object.assign(process.env, stack.env);
  globalThis.__CINEMA_STACK__ = stack;
}
