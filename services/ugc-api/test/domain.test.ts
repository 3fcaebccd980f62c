import { BadRequestError } from '@cinema/http';
import { decodeCursor, encodeCursor } from '../src/domain/cursor';
import { applyChange } from '../src/domain/ratings';
import { applyVote } from '../src/domain/reviews';

describe('ugc-api domain rules', () => {
  it('round-trips cursors and refuses foreign or forged ones', () => {
    const position = { key: 1_700_000_000_000, id: 'a'.repeat(24) };
    const cursor = encodeCursor('bookmarks', position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor('bookmarks', cursor)).toEqual(position);
    expect(decodeCursor('bookmarks', undefined)).toBeUndefined();
    expect(() => decodeCursor('ratings', cursor)).toThrow(BadRequestError);
    expect(() => decodeCursor('bookmarks', `${cursor}$`)).toThrow(BadRequestError);
    expect(() => decodeCursor('bookmarks', 'x'.repeat(201))).toThrow(BadRequestError);
  });

  it('moves rating counters by the difference between the old and the new score', () => {
    expect(applyChange({ count: 0, sum: 0 }, null, 7)).toEqual({ count: 1, sum: 7 });
    expect(applyChange({ count: 3, sum: 20 }, 7, 2)).toEqual({ count: 3, sum: 15 });
    expect(applyChange({ count: 3, sum: 20 }, 7, null)).toEqual({ count: 2, sum: 13 });
    expect(applyChange({ count: 3, sum: 20 }, 0, 0)).toEqual({ count: 3, sum: 20 });
  });

  it('moves like and dislike counters by one vote', () => {
    expect(applyVote({ likes: 0, dislikes: 0 }, null, 'like')).toEqual({ likes: 1, dislikes: 0 });
    expect(applyVote({ likes: 1, dislikes: 0 }, 'like', 'dislike')).toEqual({
      likes: 0,
      dislikes: 1,
    });
    expect(applyVote({ likes: 0, dislikes: 1 }, 'dislike', null)).toEqual({
      likes: 0,
      dislikes: 0,
    });
  });
});
