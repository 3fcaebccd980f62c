// Loaded like globalSetup, without the moduleNameMapper: the stack's source by path.
// eslint-disable-next-line cinema/no-relative-monorepo-imports
import { stopAll } from '../../stack/src';

/**
 * Stops the servers this test run started, unless STACK_KEEP=1 (handy while iterating: the next
 * run finds them in .stack/state.json and reuses them): globalSetup's, and the optional ones a
 * test started on demand for the files after it (Jaeger, etcd, kube-apiserver), which no test
 * file stops. Servers that ran before the run are left alone.
 */
export default async function globalTeardown(): Promise<void> {
  if (process.env.STACK_KEEP === '1') return;
  const before = globalThis.__CINEMA_RECORDED_BEFORE__;
  const global = new Set(globalThis.__CINEMA_STACK__?.owned() ?? []);
  // First: they may need a server of the global stack (Jaeger stores in its Elasticsearch).
  if (before) await stopAll((name) => !before.has(name) && !global.has(name));
  await globalThis.__CINEMA_STACK__?.stop();
}
