/**
 * Stops the servers globalSetup started, unless STACK_KEEP=1 (handy while iterating: the next
 * run finds them in .stack/state.json and reuses them).
 */
export default async function globalTeardown(): Promise<void> {
  if (process.env.STACK_KEEP === '1') return;
  await globalThis.__CINEMA_STACK__?.stop();
}
