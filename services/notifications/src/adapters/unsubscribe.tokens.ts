/**
 * One-click unsubscribe tokens: `base64url(JSON {u, c}) . base64url(HMAC-SHA256)` under
 * UNSUBSCRIBE_SECRET (domain-separated), compared in constant time. They do not expire: an
 * unsubscribe link in an old mail must still work (RFC 8058); they only turn a category off.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { CATEGORIES, type Category, type UnsubscribeTokens } from '../domain/model';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createUnsubscribeTokens(secret: string): UnsubscribeTokens {
  const mac = (payload: string) =>
    createHmac('sha256', secret).update(`cinema.unsubscribe.v1.${payload}`).digest();
  return {
    sign({ userId, category }) {
      const payload = Buffer.from(JSON.stringify({ u: userId, c: category })).toString('base64url');
      return `${payload}.${mac(payload).toString('base64url')}`;
    },
    verify(token) {
      if (typeof token !== 'string' || token.length > 512) return undefined;
      const [payload, signature, ...rest] = token.split('.');
      if (!payload || !signature || rest.length) return undefined;
      const given = Buffer.from(signature, 'base64url');
      const expected = mac(payload);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
      try {
        const claim = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
          u?: unknown;
          c?: unknown;
        };
        if (typeof claim.u !== 'string' || !UUID.test(claim.u)) return undefined;
        if (typeof claim.c !== 'string' || !(CATEGORIES as readonly string[]).includes(claim.c))
          return undefined;
        return { userId: claim.u, category: claim.c as Category };
      } catch {
        return undefined;
      }
    },
  };
}
