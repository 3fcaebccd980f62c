/** Device type of a login, from its User-Agent: the partition key of the login history. */
import { createHash } from 'node:crypto';
import { UAParser } from 'ua-parser-js';

export const DEVICE_TYPES = ['web', 'mobile', 'smart_tv', 'tablet', 'other'] as const;
export type DeviceType = (typeof DEVICE_TYPES)[number];

export interface Device {
  type: DeviceType;
  /** Stable per browser/app family and OS: a login from an unseen one is a new device. */
  fingerprint: string;
  description: string;
}

export function parseDevice(userAgent: string | undefined): Device {
  const ua = new UAParser(userAgent ?? '').getResult();
  let type: DeviceType;
  switch (ua.device.type) {
    case 'mobile':
    case 'wearable':
      type = 'mobile';
      break;
    case 'tablet':
      type = 'tablet';
      break;
    case 'smarttv':
      type = 'smart_tv';
      break;
    case undefined:
      // No device class: a desktop browser when a browser engine is recognised.
      type = ua.browser.name && ua.os.name ? 'web' : 'other';
      break;
    default:
      type = 'other';
  }
  const description =
    [ua.browser.name, ua.os.name, ua.device.vendor, ua.device.model].filter(Boolean).join(' / ') ||
    'unknown client';
  const fingerprint = createHash('sha256')
    .update([type, ua.browser.name, ua.os.name, ua.device.vendor, ua.device.model].join('|'))
    .digest('hex')
    .slice(0, 32);
  return { type, fingerprint, description };
}
