import type { Admin } from 'kafkajs';
import { ensureTopics, topicSettingsOf } from './admin';

function fakeAdmin(existing: string[]) {
  const created: Parameters<Admin['createTopics']>[0][] = [];
  const admin = {
    listTopics: async () => [...existing],
    createTopics: async (options: Parameters<Admin['createTopics']>[0]) => {
      created.push(options);
      return true;
    },
  };
  return { admin, created };
}

describe('ensureTopics', () => {
  it('creates the missing topics once each, with the partitions and replication given', async () => {
    const { admin, created } = fakeAdmin(['a', 'other']);
    const made = await ensureTopics(admin, ['a', 'b', 'c', 'b'], {
      partitions: 6,
      replication: -1,
    });
    expect(made).toEqual(['b', 'c']);
    expect(created).toEqual([
      {
        waitForLeaders: true,
        topics: [
          { topic: 'b', numPartitions: 6, replicationFactor: -1 },
          { topic: 'c', numPartitions: 6, replicationFactor: -1 },
        ],
      },
    ]);
  });

  it('creates nothing when every topic exists', async () => {
    const { admin, created } = fakeAdmin(['a', 'b']);
    expect(await ensureTopics(admin, ['b', 'a'], { partitions: 1, replication: 1 })).toEqual([]);
    expect(created).toEqual([]);
  });

  it('takes its settings from KAFKA_TOPIC_PARTITIONS and KAFKA_TOPIC_REPLICATION', () => {
    expect(topicSettingsOf({ KAFKA_TOPIC_PARTITIONS: 4, KAFKA_TOPIC_REPLICATION: 2 })).toEqual({
      partitions: 4,
      replication: 2,
    });
  });
});
