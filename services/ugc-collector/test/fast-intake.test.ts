/** The fast path's validators: a strict subset of the tsoa rules (anything else goes to tsoa). */
import { isValidBatch, isValidEvent } from '../src/api/fast-intake';
import { toRecord, topicNames } from '../src/domain/events';

const base = {
  event_id: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
  film_id: '3FA85F64-5717-4562-B3FC-2C963F66AFA6',
  client_time: '2025-01-02T03:04:05.678Z',
};

describe('fast intake validation', () => {
  it('accepts plainly valid events of each kind', () => {
    expect(isValidEvent('pause', { ...base, position_sec: 12.5 })).toBe(true);
    expect(isValidEvent('full_view', { ...base, duration_sec: 5400 })).toBe(true);
    expect(
      isValidEvent('quality_change', {
        ...base,
        position_sec: 0,
        from_quality: '360p',
        to_quality: '1080p',
      }),
    ).toBe(true);
    expect(
      isValidEvent('pause', { ...base, client_time: '2024-02-29T23:59:59+02:00', position_sec: 1 }),
    ).toBe(true);
  });

  it.each([
    ['missing field', { event_id: base.event_id, film_id: base.film_id, position_sec: 1 }],
    ['extra field', { ...base, position_sec: 1, admin: true }],
    ['bad uuid', { ...base, event_id: 'not-a-uuid', position_sec: 1 }],
    ['negative position', { ...base, position_sec: -1 }],
    ['position too large', { ...base, position_sec: 172_801 }],
    ['position as string', { ...base, position_sec: '1' }],
    ['null position', { ...base, position_sec: null }],
    ['no such day', { ...base, client_time: '2025-02-29T00:00:00Z', position_sec: 1 }],
    ['date only', { ...base, client_time: '2025-01-02', position_sec: 1 }],
    ['time as number', { ...base, client_time: 1700000000000, position_sec: 1 }],
    ['array', [{ ...base, position_sec: 1 }]],
  ])('leaves %s to tsoa', (_name, body) => {
    expect(isValidEvent('pause', body)).toBe(false);
  });

  it('checks quality names and batches item by item', () => {
    const qc = { ...base, position_sec: 1, from_quality: '360p', to_quality: 'HD' };
    expect(isValidEvent('quality_change', qc)).toBe(false);
    const ok = {
      events: [{ type: 'pause', ...base, position_sec: 1 }],
      anonymous_id: 'viewer-123',
    };
    expect(isValidBatch(ok, 500)).toBe(true);
    expect(isValidBatch({ events: [] }, 500)).toBe(false);
    expect(isValidBatch({ ...ok, anonymous_id: 'x' }, 500)).toBe(false);
    expect(isValidBatch({ ...ok, extra: 1 }, 500)).toBe(false);
    expect(isValidBatch({ events: [{ type: 'rewind', ...base, position_sec: 1 }] }, 500)).toBe(
      false,
    );
    expect(isValidBatch({ events: [{ type: 'pause', ...base, duration_sec: 1 }] }, 500)).toBe(
      false,
    );
    expect(isValidBatch({ events: Array(3).fill(ok.events[0]) }, 2)).toBe(false);
  });

  it('writes the same record from a string time as from the Date tsoa makes', () => {
    const topics = topicNames('');
    const received = new Date('2025-01-02T03:04:06.000Z');
    for (const [t, utc] of [
      ['2025-01-02T03:04:05.678Z', '2025-01-02T03:04:05.678Z'],
      ['2025-01-02T05:04:05.6+02:00', '2025-01-02T03:04:05.600Z'],
    ]) {
      const fromString = toRecord(
        'pause',
        { ...base, client_time: t! as never, position_sec: 1 },
        'u',
        received,
        topics,
      );
      const fromDate = toRecord(
        'pause',
        { ...base, client_time: new Date(t!), position_sec: 1 },
        'u',
        received,
        topics,
      );
      expect(fromString).toEqual(fromDate);
      expect(JSON.parse(fromString.value)).toEqual({
        event_id: base.event_id,
        user_id: 'u',
        film_id: base.film_id.toLowerCase(),
        position_sec: 1,
        client_time: utc,
        received_time: '2025-01-02T03:04:06.000Z',
      });
    }
  });
});
