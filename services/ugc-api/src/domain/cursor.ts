/**
 * Opaque page cursors: base64url of a small JSON array `[kind, ...position]`. Decoding checks the
 * kind and every value's type, so a forged, truncated or foreign cursor is a 400, never a query
 * built from client-supplied objects.
 */
import { BadRequestError } from '@cinema/errors';

/** Position after the last item of a page: a time (ms) or a count, then an id. */
export interface Position {
  /** Epoch milliseconds for time-ordered lists, the like count for the most-liked order. */
  key: number;
  /** Hex id of the last item (24 hex digits). */
  id: string;
}

const CURSOR = /^[A-Za-z0-9_-]{1,200}$/;
const OBJECT_ID = /^[0-9a-f]{24}$/;

export function encodeCursor(kind: string, position: Position): string {
  return Buffer.from(JSON.stringify([kind, position.key, position.id]), 'utf8').toString(
    'base64url',
  );
}

export function decodeCursor(kind: string, cursor: string | undefined): Position | undefined {
  if (cursor === undefined) return undefined;
  const invalid = (why: string) => new BadRequestError(`invalid cursor: ${why}`);
  if (!CURSOR.test(cursor)) throw invalid('not a cursor returned by this API');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid('not a cursor returned by this API');
  }
  if (!Array.isArray(value) || value.length !== 3)
    throw invalid('not a cursor returned by this API');
  const [k, key, id] = value as unknown[];
  if (k !== kind) throw invalid('it belongs to another list or sort order');
  if (typeof key !== 'number' || !Number.isSafeInteger(key) || key < 0)
    throw invalid('bad position');
  if (typeof id !== 'string' || !OBJECT_ID.test(id)) throw invalid('bad position');
  return { key, id };
}
