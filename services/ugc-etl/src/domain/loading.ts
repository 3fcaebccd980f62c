/**
 * The loader's rule for one partition's batch of Kafka messages, free of drivers (the Kafka
 * consumer in adapters/events.consumer.ts feeds it, the ClickHouse sink stores its rows):
 *
 * - every message is parsed for its table; an unparseable one becomes a dead letter (the reason
 *   and where it came from) and does not stop the stream; dead letters are handed off first;
 * - the valid rows go to the sink, at once when the batch stopped short of its partition's end
 *   (more is waiting upstream, so holding the rows back for the batch timer would only add
 *   latency and cap a hot partition's rate);
 * - `load` resolves only once the sink stored the rows: the caller commits the batch's offsets
 *   after that and never before. A crash in between redelivers rows the tables' key collapses.
 */
import { parseMessage, type Row, type TableSpec } from './tables';

export interface InboundMessage {
  key: Buffer | null;
  value: Buffer | null;
  offset: string;
}

export interface InboundBatch {
  topic: string;
  partition: number;
  messages: InboundMessage[];
  /** The batch stopped short of its partition's end: more messages are already waiting. */
  behind: boolean;
}

export interface DeadLetter {
  key: Buffer | null;
  /** JSON: reason, topic, partition, offset, key, value, failed_at. */
  value: string;
}

/** Stores rows; resolves once they are stored. `now`: store without waiting for more rows. */
export interface RowSink {
  add(table: string, rows: Row[], now?: boolean): Promise<void>;
}

/** Keeps unparseable messages for inspection; resolves once they are kept. */
export interface DeadLetterSink {
  send(letters: DeadLetter[]): Promise<void>;
}

export interface BatchOutcome {
  rows: number;
  deadLetters: number;
}

export function deadLetter(
  batch: Pick<InboundBatch, 'topic' | 'partition'>,
  message: InboundMessage,
  reason: string,
  at: Date,
): DeadLetter {
  return {
    key: message.key,
    value: JSON.stringify({
      reason,
      topic: batch.topic,
      partition: batch.partition,
      offset: message.offset,
      key: message.key?.toString('utf8') ?? null,
      value: message.value?.toString('utf8') ?? null,
      failed_at: at.toISOString(),
    }),
  };
}

export class BatchLoader {
  constructor(
    private readonly deps: {
      sink: RowSink;
      deadLetters: DeadLetterSink;
      clock?: () => Date;
    },
  ) {}

  /** Parses `batch` for `spec`'s table, keeps its dead letters, then stores its rows. */
  async load(spec: TableSpec, batch: InboundBatch): Promise<BatchOutcome> {
    const rows: Row[] = [];
    const dead: DeadLetter[] = [];
    for (const message of batch.messages) {
      try {
        rows.push(parseMessage(spec, message.value));
      } catch (err) {
        const at = this.deps.clock?.() ?? new Date();
        dead.push(deadLetter(batch, message, (err as Error).message, at));
      }
    }
    if (dead.length) await this.deps.deadLetters.send(dead);
    await this.deps.sink.add(spec.table, rows, batch.behind);
    return { rows: rows.length, deadLetters: dead.length };
  }
}
