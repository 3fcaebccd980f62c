/**
 * SMS through an HTTP gateway by URL: POST JSON `{to, text, category, id}`; 2xx = accepted, 4xx
 * = refused for good, anything else is retried. Locally the tests run a sink that records the
 * posts.
 */
import { PermanentSendError, type Category, type SmsProvider } from '../domain/model';

export function createHttpSmsGateway(url: string, timeoutMs = 10_000): SmsProvider {
  return {
    async send(sms: {
      to: string;
      text: string;
      category: Category;
      deliveryId: string;
    }): Promise<void> {
      const res = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': `delivery-${sms.deliveryId}`,
        },
        body: JSON.stringify({
          to: sms.to,
          text: sms.text,
          category: sms.category,
          id: sms.deliveryId,
        }),
        signal: AbortSignal.timeout(timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return;
      if (res.status >= 400 && res.status < 500 && res.status !== 429 && res.status !== 408) {
        throw new PermanentSendError(`SMS gateway answered ${res.status}`);
      }
      throw new Error(`SMS gateway answered ${res.status}`);
    },
  };
}
