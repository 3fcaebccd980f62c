/**
 * The loader's per-batch rule (domain/loading.ts) against fakes of its two ports: rows to the
 * sink (at once when the batch is behind), unparseable messages to the dead letters first, and
 * no resolve (hence no offset commit) before the rows are stored. And what a consumer crash does.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '@cinema/logging';
import { onConsumerCrash } from '../src/adapters/events.consumer';
import {
  BatchLoader,
  type DeadLetter,
  type InboundMessage,
  type RowSink,
} from '../src/domain/loading';
import { TABLES } from '../src/domain/tables';

const pauses = TABLES.find((t) => t.table === 'clicks_on_video_pauses')!;
const at = new Date('2025-01-02T03:04:05.000Z');
const message = (value: unknown, offset: number): InboundMessage => ({
  key: Buffer.from('user-1'),
  value: Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)),
  offset: String(offset),
});
const pause = (position: number) => ({
  event_id: randomUUID(),
  user_id: 'user-1',
  film_id: randomUUID(),
  position_sec: position,
  client_time: at.toISOString(),
  received_time: at.toISOString(),
});

function fakes(sinkResult: () => Promise<void> = async () => undefined) {
  const log: string[] = [];
  const stored: Array<{ table: string; rows: number; now?: boolean }> = [];
  const letters: DeadLetter[] = [];
  const sink: RowSink = {
    add: async (table, rows, now) => {
      log.push('rows');
      stored.push({ table, rows: rows.length, now });
      await sinkResult();
    },
  };
  const loader = new BatchLoader({
    sink,
    deadLetters: {
      send: async (batch) => {
        log.push('dead letters');
        letters.push(...batch);
      },
    },
    clock: () => at,
  });
  return { loader, log, stored, letters };
}

describe('BatchLoader', () => {
  it('stores the valid rows and dead-letters the rest first, with the reason and the place', async () => {
    const { loader, log, stored, letters } = fakes();
    const outcome = await loader.load(pauses, {
      topic: 'p.tracking.clicks_on_video.pauses',
      partition: 2,
      messages: [message(pause(1), 10), message('{not json', 11), message(pause(2), 12)],
      behind: false,
    });
    expect(outcome).toEqual({ rows: 2, deadLetters: 1 });
    expect(log).toEqual(['dead letters', 'rows']);
    expect(stored).toEqual([{ table: 'clicks_on_video_pauses', rows: 2, now: false }]);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.key?.toString()).toBe('user-1');
    expect(JSON.parse(letters[0]!.value)).toEqual({
      reason: 'value is not JSON',
      topic: 'p.tracking.clicks_on_video.pauses',
      partition: 2,
      offset: '11',
      key: 'user-1',
      value: '{not json',
      failed_at: at.toISOString(),
    });
  });

  it('asks the sink to store at once when the batch stopped short of its partition end', async () => {
    const { loader, stored, letters } = fakes();
    await loader.load(pauses, {
      topic: 't',
      partition: 0,
      messages: [message(pause(1), 0)],
      behind: true,
    });
    expect(stored).toEqual([{ table: 'clicks_on_video_pauses', rows: 1, now: true }]);
    expect(letters).toEqual([]);
  });

  it('resolves only once the rows are stored, and fails when the sink does', async () => {
    let store!: () => void;
    const { loader } = fakes(() => new Promise<void>((resolve) => (store = resolve)));
    let done = false;
    const loading = loader
      .load(pauses, { topic: 't', partition: 0, messages: [message(pause(1), 0)], behind: false })
      .then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    store();
    await loading;
    expect(done).toBe(true);

    const failing = fakes(() => Promise.reject(new Error('insert failed')));
    await expect(
      failing.loader.load(pauses, {
        topic: 't',
        partition: 0,
        messages: [message(pause(1), 0)],
        behind: false,
      }),
    ).rejects.toThrow('insert failed');
  });
});

describe('a consumer crash', () => {
  const lines: Array<Record<string, unknown>> = [];
  const logger = {
    warn: (obj: Record<string, unknown>, msg: string) => lines.push({ ...obj, msg }),
  } as unknown as Logger;

  it('that kafkajs restarts itself is only logged', () => {
    const fatal: Error[] = [];
    onConsumerCrash({ error: new Error('broker went away'), restart: true }, false, {
      logger,
      onFatal: (e) => fatal.push(e),
    });
    expect(fatal).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ restart: true, msg: 'consumer crashed' });
  });

  it('that it will not restart stops the service, unless the loader is closing', () => {
    const fatal: Error[] = [];
    const error = Object.assign(new Error('no group coordinator'), {
      name: 'KafkaJSGroupCoordinatorNotFound',
    });
    onConsumerCrash({ error, restart: false }, false, { logger, onFatal: (e) => fatal.push(e) });
    expect(fatal).toEqual([error]);
    onConsumerCrash({ error, restart: false }, true, { logger, onFatal: (e) => fatal.push(e) });
    expect(fatal).toHaveLength(1);
  });
});
