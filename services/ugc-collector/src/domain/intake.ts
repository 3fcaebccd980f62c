/**
 * The intake use case: who sent the events (signed-in user or anonymous player), stamping the
 * server's receive time, and handing the records to the sink, which answers once Kafka has them.
 */
import { UnauthorizedError, ValidationError } from '@cinema/errors';
import {
  ANONYMOUS_ID,
  anonymousUserId,
  toRecord,
  type BatchItem,
  type EventRecord,
  type EventType,
  type FullViewEvent,
  type PauseEvent,
  type QualityChangeEvent,
  type Topics,
} from './events';

export interface EventSink {
  send(records: EventRecord[]): Promise<void>;
}

/** Verifies an access token and returns the user id (`sub`); throws UnauthorizedError. */
export type VerifyToken = (token: string) => Promise<{ id: string }>;

export interface Caller {
  /** Access token from `Authorization: Bearer` or the batch body. */
  token?: string;
  /** Stable anonymous id from `X-Anonymous-Id` or the batch body. */
  anonymousId?: string;
}

export interface IntakeDeps {
  sink: EventSink;
  topics: Topics;
  /** Absent when no JWKS is configured: tokens are then refused. */
  verify?: VerifyToken;
  now?: () => Date;
}

export class EventIntake {
  constructor(private readonly deps: IntakeDeps) {}

  /** The user id the events are stored under. */
  async userOf(caller: Caller): Promise<string> {
    if (caller.token) {
      if (!this.deps.verify) {
        throw new UnauthorizedError('access tokens are not accepted: no JWKS configured');
      }
      return (await this.deps.verify(caller.token)).id;
    }
    if (caller.anonymousId !== undefined) {
      if (!ANONYMOUS_ID.test(caller.anonymousId)) {
        throw new ValidationError('invalid anonymous id', {
          'X-Anonymous-Id': {
            message: 'must be 8 to 64 letters, digits, _ or -',
            value: caller.anonymousId,
          },
        });
      }
      return anonymousUserId(caller.anonymousId);
    }
    throw new UnauthorizedError('send a Bearer access token or an X-Anonymous-Id header');
  }

  async acceptOne(
    type: EventType,
    event: PauseEvent | FullViewEvent | QualityChangeEvent,
    caller: Caller,
  ): Promise<number> {
    const user = await this.userOf(caller);
    const now = this.deps.now?.() ?? new Date();
    await this.deps.sink.send([toRecord(type, event, user, now, this.deps.topics)]);
    return 1;
  }

  async acceptBatch(items: BatchItem[], caller: Caller): Promise<number> {
    const user = await this.userOf(caller);
    const now = (this.deps.now?.() ?? new Date()).toISOString();
    const records = new Array<EventRecord>(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      records[i] = toRecord(item.type, item, user, now, this.deps.topics);
    }
    await this.deps.sink.send(records);
    return items.length;
  }
}
