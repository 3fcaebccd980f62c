/** The Kafka record of an event (the contract of docs/contracts.md), built without I/O. */
import { toRecord, topicNames } from '../src/domain/events';

const base = {
  event_id: '3fa85f64-5717-4562-b3fc-2c963f66afa6',
  film_id: '3FA85F64-5717-4562-B3FC-2C963F66AFA6',
  client_time: '2025-01-02T03:04:05.678Z',
};

describe('toRecord', () => {
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
