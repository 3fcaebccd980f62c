/** The review-like digests in PostgreSQL (tables of migration 030). */
import type { Pool } from '@cinema/pg';
import type { ClosedWindow, ReviewLiked, ReviewLikesStore } from '../domain/review-likes';

const CLOSE = `UPDATE review_like_windows w
    SET closed_at = $1,
        likers = (SELECT count(*)::int FROM review_likes l WHERE l.window_id = w.id)`;

export class PgReviewLikesRepository implements ReviewLikesStore {
  constructor(private readonly pool: Pool) {}

  async record(
    messageId: string,
    like: ReviewLiked,
    now: Date,
    windowMs: number,
  ): Promise<boolean> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const seen = await client.query(
        `INSERT INTO review_like_messages (message_id, received_at) VALUES ($1, $2)
         ON CONFLICT DO NOTHING`,
        [messageId, now],
      );
      if (!seen.rowCount) {
        await client.query('ROLLBACK');
        return false;
      }
      // The review's open window, locked (the flusher skips it meanwhile); closed when due.
      let window: { id: string; due: boolean } | undefined = (
        await client.query<{ id: string; due: boolean }>(
          `SELECT id, closes_at <= $2 AS due FROM review_like_windows
            WHERE review_id = $1 AND closed_at IS NULL FOR UPDATE`,
          [like.reviewId, now],
        )
      ).rows[0];
      if (window?.due) {
        await client.query(`${CLOSE} WHERE w.id = $2`, [now, window.id]);
        window = undefined;
      }
      if (!window) {
        await client.query(
          `INSERT INTO review_like_windows (review_id, author_id, film_id, opened_at, closes_at)
           VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (review_id) WHERE closed_at IS NULL DO NOTHING`,
          [like.reviewId, like.authorId, like.filmId, now, new Date(now.getTime() + windowMs)],
        );
        // Ours, or the one a concurrent like opened first.
        window = (
          await client.query<{ id: string; due: boolean }>(
            `SELECT id, false AS due FROM review_like_windows
              WHERE review_id = $1 AND closed_at IS NULL FOR UPDATE`,
            [like.reviewId],
          )
        ).rows[0]!;
      }
      await client.query(
        `INSERT INTO review_likes (window_id, liker_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        [window.id, like.likerId],
      );
      await client.query('COMMIT');
      return true;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }

  async closeDue(now: Date, limit: number): Promise<number> {
    const res = await this.pool.query(
      `${CLOSE} WHERE w.id IN (
         SELECT id FROM review_like_windows WHERE closed_at IS NULL AND closes_at <= $1
          ORDER BY closes_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [now, limit],
    );
    return res.rowCount ?? 0;
  }

  async unsent(limit: number): Promise<ClosedWindow[]> {
    const res = await this.pool.query<ClosedWindow>(
      `SELECT id::text, review_id AS "reviewId", film_id AS "filmId", author_id AS "authorId",
              likers
         FROM review_like_windows
        WHERE closed_at IS NOT NULL AND notified_at IS NULL ORDER BY id LIMIT $1`,
      [limit],
    );
    return res.rows;
  }

  async markSent(windowId: string, now: Date): Promise<void> {
    await this.pool.query(`UPDATE review_like_windows SET notified_at = $2 WHERE id = $1`, [
      windowId,
      now,
    ]);
  }

  async cleanup(before: Date): Promise<void> {
    await this.pool.query(`DELETE FROM review_like_messages WHERE received_at < $1`, [before]);
    await this.pool.query(`DELETE FROM review_like_windows WHERE notified_at < $1`, [before]);
  }
}
