/**
 * Answers already serialised: the cache hands out the same object for every hit and remembers
 * its JSON bytes here, so the response writes them as they are instead of running
 * JSON.stringify and UTF-8 encoding again on every request. Weakly held: an answer evicted from
 * the cache takes its bytes with it.
 */
const serialised = new WeakMap<object, Buffer>();

export function rememberJson(value: unknown, json: Buffer): void {
  if (value !== null && typeof value === 'object') serialised.set(value, json);
}

export function serialisedJson(value: unknown): Buffer | undefined {
  return value !== null && typeof value === 'object' ? serialised.get(value) : undefined;
}
